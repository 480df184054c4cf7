"""Events published by the leads service."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from crmkit.contracts import Event


class LeadConverted(Event):
    """A lead became a client and an opportunity; pipeline creates it with ``opportunity_id``."""

    TYPE = "crm.leads.lead.converted"

    lead_id: uuid.UUID
    opportunity_id: uuid.UUID
    name: str
    amount: Decimal
    currency: str
    expected_close_date: date | None = None
    account_id: uuid.UUID
    contact_id: uuid.UUID | None = None
    owner_id: uuid.UUID
    team: str | None = None

"""Events published by the documents service."""

from __future__ import annotations

import uuid
from datetime import datetime

from crmkit.contracts import Event


class OfferIssued(Event):
    """An offer was issued to the client for an opportunity (meets the ``offer_issued`` gate)."""

    TYPE = "crm.documents.offer.issued"

    offer_id: uuid.UUID
    opportunity_id: uuid.UUID
    document_id: uuid.UUID | None = None
    title: str = ""
    issued_at: datetime | None = None

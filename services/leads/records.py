"""Rows of the leads database as typed, immutable records (what handlers and the GraphQL
layer pass around)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from crmkit.rows import from_columns
from services.leads.domain import LeadStatus


class _FromRow:
    @classmethod
    def from_row(cls, row: Any) -> Self:
        """The record of a SQLAlchemy row or an asyncpg record (its columns are its fields)."""
        return from_columns(cls, row._mapping if hasattr(row, "_mapping") else row)


@dataclass(frozen=True, slots=True)
class LeadRecord(_FromRow):
    id: uuid.UUID
    org_id: uuid.UUID
    company: str | None
    company_key: str | None
    contact_name: str | None
    email: str | None
    phone: str | None
    website: str | None
    domain: str | None
    source: str | None
    notes: str | None
    tags: list[str]
    priority: int
    status: str
    owner_id: uuid.UUID | None
    owner_team: str | None
    assigned_at: datetime | None
    status_changed_at: datetime
    last_activity_at: datetime | None
    disqualify_reason: str | None
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    import_id: uuid.UUID | None
    created_by: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def lead_status(self) -> LeadStatus:
        return LeadStatus(self.status)


@dataclass(frozen=True, slots=True)
class MemberRecord(_FromRow):
    org_id: uuid.UUID
    id: uuid.UUID
    name: str
    team: str | None
    roles: list[str]
    lead_cap: int | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OrgSettingsRecord:
    org_id: uuid.UUID
    default_region: str
    default_lead_cap: int
    """Effective: the org's own value or the service default."""
    default_lead_cap_override: int | None
    idle_return_days: int | None
    version: int


@dataclass(frozen=True, slots=True)
class AccountRecord(_FromRow):
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    domain: str | None
    nip: str | None
    address: str | None
    owner_id: uuid.UUID | None
    owner_team: str | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ContactRecord(_FromRow):
    id: uuid.UUID
    org_id: uuid.UUID
    account_id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    position: str | None
    lead_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime

"""Events published by the leads service.

Every lead event carries the lead's state *after* the change (``owner_id``, ``team`` and
``status``) plus what it was before where ownership or status moved, so a consumer can keep a
per-lead read model (and from it "leads held versus cap" per member) from events alone, without
calling the leads service:

- a member's *active* leads are the leads they own whose status is neither ``CONVERTED`` nor
  ``DISQUALIFIED`` (see ``ACTIVE_STATUSES``);
- a member's cap is the ``lead_cap`` of their latest ``MemberUpdated`` (emitted when the member
  is first registered and whenever their cap, team, name or roles change); ``LeadAssigned``
  repeats the owner's cap at the time of the assignment.

Status changes implied by ownership moves are carried by the ownership events themselves, not
by a separate ``LeadStatusChanged``: a claim or assignment (``LeadAssigned``) usually moves a
``NEW`` lead to ``ASSIGNED``; a release (``LeadReleased``) moves it back to ``NEW``; a conversion
(``LeadConverted``) to ``CONVERTED``. ``LeadStatusChanged`` is emitted for the explicit
transitions (contacted, qualified, disqualified, reopened).

Statuses: NEW, ASSIGNED, CONTACTED, QUALIFIED, DISQUALIFIED, CONVERTED.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from crmkit.contracts import Event, Team
from crmkit.values import Amount, CurrencyCode, Name

LEAD_STATUSES: Final = ("NEW", "ASSIGNED", "CONTACTED", "QUALIFIED", "DISQUALIFIED", "CONVERTED")
LeadStatus = Literal["NEW", "ASSIGNED", "CONTACTED", "QUALIFIED", "DISQUALIFIED", "CONVERTED"]
LeadCap = Annotated[int, Field(ge=0, le=100_000)]
MemberName = Annotated[str, StringConstraints(max_length=300)]
ACTIVE_STATUSES: Final = frozenset({"NEW", "ASSIGNED", "CONTACTED", "QUALIFIED"})

AssignmentVia = Literal["claim", "assignment", "reassignment"]
ReleaseReason = Literal["released", "idle_return"]


class LeadCreated(Event):
    """A lead entered the base: one event per lead, imported leads included."""

    TYPE = "crm.leads.lead.created"

    lead_id: uuid.UUID
    company: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    domain: str | None = None
    source: str | None = None
    priority: int = 0
    tags: list[str] = []
    status: LeadStatus = "NEW"
    owner_id: uuid.UUID | None = None
    team: Team | None = None
    """The owner's team when the lead was created with an owner."""
    created_via: Literal["api", "import"] = "api"
    import_id: uuid.UUID | None = None
    """The import batch that created the lead (``created_via == "import"``)."""
    created_at: datetime | None = None


class LeadUpdated(Event):
    """Descriptive fields of a lead changed (not owner or status); ``changed`` names them."""

    TYPE = "crm.leads.lead.updated"

    lead_id: uuid.UUID
    changed: list[str]
    company: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    domain: str | None = None
    source: str | None = None
    priority: int = 0
    tags: list[str] = []
    owner_id: uuid.UUID | None = None
    team: Team | None = None
    status: LeadStatus = "NEW"


class LeadAssigned(Event):
    """A lead got an owner: claimed by them (``via="claim"``) or assigned by someone."""

    TYPE = "crm.leads.lead.assigned"

    lead_id: uuid.UUID
    owner_id: uuid.UUID
    team: Team | None = None
    """The new owner's team."""
    owner_lead_cap: LeadCap | None = None
    """The new owner's lead cap at the time of the assignment."""
    assigned_by: uuid.UUID
    """Who did it: the owner themself for a claim, the manager/admin for an assignment."""
    via: AssignmentVia = "claim"
    previous_owner_id: uuid.UUID | None = None
    previous_team: Team | None = None
    status: LeadStatus = "ASSIGNED"
    previous_status: LeadStatus = "NEW"
    assigned_at: datetime | None = None


class LeadReleased(Event):
    """A lead went back to the pool (released by a person, or returned after idling)."""

    TYPE = "crm.leads.lead.released"

    lead_id: uuid.UUID
    previous_owner_id: uuid.UUID
    previous_team: Team | None = None
    released_by: uuid.UUID | None = None
    """The person who released it; ``None`` when the idle-return worker did."""
    reason: ReleaseReason = "released"
    status: LeadStatus = "NEW"
    previous_status: LeadStatus = "ASSIGNED"
    owner_id: None = None
    """Always ``None`` after a release (kept for a uniform per-lead read model)."""


class LeadStatusChanged(Event):
    """An explicit status transition (contacted, qualified, disqualified, reopened)."""

    TYPE = "crm.leads.lead.status_changed"

    lead_id: uuid.UUID
    status: LeadStatus
    previous_status: LeadStatus
    owner_id: uuid.UUID | None = None
    team: Team | None = None
    reason: str | None = None
    """Why, e.g. the disqualification reason."""
    changed_by: uuid.UUID | None = None


class LeadConverted(Event):
    """A lead became a client and an opportunity; pipeline creates it with ``opportunity_id``."""

    TYPE = "crm.leads.lead.converted"
    MONEY = (("amount", "currency"),)

    lead_id: uuid.UUID
    opportunity_id: uuid.UUID
    name: Name
    """The opportunity's name."""
    amount: Amount
    currency: CurrencyCode
    expected_close_date: date | None = None
    account_id: uuid.UUID
    contact_id: uuid.UUID | None = None
    owner_id: uuid.UUID
    team: Team | None = None
    # Additive fields (version 1 consumers ignore them).
    status: LeadStatus = "CONVERTED"
    previous_status: LeadStatus | None = None
    previous_owner_id: uuid.UUID | None = None
    """The lead's owner before conversion when that differs from ``owner_id`` (pool lead)."""
    account_created: bool = False
    company: str | None = None
    converted_by: uuid.UUID | None = None


class LeadErased(Event):
    """A lead was erased for good (the person behind it asked to be forgotten, GDPR art. 17):
    a copy of its details is to be dropped, with what was made of them (notifications, queued
    webhook deliveries). The event carries none of them: the lead's id, who held it (a
    member's count of leads held) and who erased it."""

    TYPE = "crm.leads.lead.erased"

    lead_id: uuid.UUID
    previous_owner_id: uuid.UUID | None = None
    previous_status: LeadStatus = "NEW"
    erased_by: uuid.UUID


class AccountCreated(Event):
    """A client company was created (on conversion or directly)."""

    TYPE = "crm.leads.account.created"

    account_id: uuid.UUID
    name: str
    domain: str | None = None
    nip: str | None = None
    address: str | None = None
    owner_id: uuid.UUID | None = None
    team: Team | None = None
    source_lead_id: uuid.UUID | None = None


class AccountUpdated(Event):
    """A client company changed; ``changed`` names the fields, the rest is the new state."""

    TYPE = "crm.leads.account.updated"

    account_id: uuid.UUID
    changed: list[str]
    name: str
    domain: str | None = None
    nip: str | None = None
    address: str | None = None
    owner_id: uuid.UUID | None = None
    team: Team | None = None


ContactName = MemberName
ContactEmail = Annotated[str, StringConstraints(max_length=254)]
ContactPhone = Annotated[str, StringConstraints(max_length=20)]
ContactPosition = Annotated[str, StringConstraints(max_length=200)]


class ContactCreated(Event):
    """A contact person of a client company was added (directly or on a lead's conversion)."""

    TYPE = "crm.leads.contact.created"

    contact_id: uuid.UUID
    account_id: uuid.UUID
    name: ContactName
    email: ContactEmail | None = None
    phone: ContactPhone | None = None
    position: ContactPosition | None = None
    lead_id: uuid.UUID | None = None
    """The lead it was made from, on a conversion."""


class ContactUpdated(Event):
    """A contact person's fields changed; ``changed`` names them, the rest is the new state
    (``created_at`` too, so that a copy made from this event alone sorts as the first did)."""

    TYPE = "crm.leads.contact.updated"

    contact_id: uuid.UUID
    account_id: uuid.UUID
    changed: list[str]
    name: ContactName
    email: ContactEmail | None = None
    phone: ContactPhone | None = None
    position: ContactPosition | None = None
    created_at: datetime | None = None


class ContactRemoved(Event):
    """A contact person was removed (left the company, or asked to be forgotten): a copy of
    their details is to be dropped. The event carries none of them."""

    TYPE = "crm.leads.contact.removed"

    contact_id: uuid.UUID
    account_id: uuid.UUID


class MemberUpdated(Event):
    """A roster member was registered or changed (lead cap, team, name or roles).

    ``lead_cap`` is the member's effective cap (their own value, or the org default when
    ``lead_cap_override`` is ``None``).
    """

    TYPE = "crm.leads.member.updated"

    member_id: uuid.UUID
    team: Team | None = None
    lead_cap: LeadCap
    lead_cap_override: LeadCap | None = None
    previous_lead_cap: LeadCap | None = None
    name: MemberName | None = None
    roles: list[str] = []
    changed: list[str] = []
    """Which of ``lead_cap``, ``team``, ``name``, ``roles`` changed; ``["registered"]`` first."""
    updated_by: uuid.UUID | None = None

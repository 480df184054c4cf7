"""The contract events the leads service emits (it consumes none), and how lead rows
become their payloads."""

from __future__ import annotations

import uuid

from crmkit.contracts import Envelope, Event
from crmkit.contracts.leads import (
    AccountCreated,
    AccountUpdated,
    ContactCreated,
    ContactRemoved,
    ContactUpdated,
    LeadAssigned,
    LeadConverted,
    LeadCreated,
    LeadErased,
    LeadReleased,
    LeadStatusChanged,
    LeadUpdated,
    MemberUpdated,
)
from crmkit.rows import build
from services.leads.records import AccountRecord, ContactRecord, LeadRecord

EMITS: tuple[type[Event], ...] = (
    LeadCreated,
    LeadUpdated,
    LeadAssigned,
    LeadReleased,
    LeadStatusChanged,
    LeadConverted,
    LeadErased,
    AccountCreated,
    AccountUpdated,
    ContactCreated,
    ContactUpdated,
    ContactRemoved,
    MemberUpdated,
)
CONSUMES: tuple[type[Event], ...] = ()


def wrap(
    event: Event, *, org_id: uuid.UUID, aggregate_id: uuid.UUID, version: int,
    actor_id: uuid.UUID | None,
) -> Envelope:
    return Envelope.wrap(
        event, org_id=org_id, aggregate_id=aggregate_id, aggregate_version=version,
        actor_id=actor_id,
    )


# An event's fields are the record's of the same name; the record's ``owner_team`` is the
# events' ``team``.
def lead_created(lead: LeadRecord) -> LeadCreated:
    return build(
        LeadCreated, lead, lead_id=lead.id, tags=list(lead.tags), team=lead.owner_team,
        created_via="import" if lead.import_id else "api",
    )


def lead_updated(lead: LeadRecord, changed: list[str]) -> LeadUpdated:
    return build(LeadUpdated, lead, lead_id=lead.id, changed=changed, tags=list(lead.tags),
                 team=lead.owner_team)


def account_created(account: AccountRecord, source_lead_id: uuid.UUID | None) -> AccountCreated:
    return build(AccountCreated, account, account_id=account.id, team=account.owner_team,
                 source_lead_id=source_lead_id)


def contact_created(contact: ContactRecord) -> ContactCreated:
    return build(ContactCreated, contact, contact_id=contact.id)


def contact_updated(contact: ContactRecord, changed: list[str]) -> ContactUpdated:
    return build(ContactUpdated, contact, contact_id=contact.id, changed=changed)


def lead_erased(lead: LeadRecord, erased_by: uuid.UUID) -> LeadErased:
    return LeadErased(lead_id=lead.id, previous_owner_id=lead.owner_id,
                      previous_status=lead.status, erased_by=erased_by)


def contact_removed(contact: ContactRecord) -> ContactRemoved:
    return build(ContactRemoved, contact, contact_id=contact.id)


def account_updated(account: AccountRecord, changed: list[str]) -> AccountUpdated:
    return build(AccountUpdated, account, account_id=account.id, changed=changed,
                 team=account.owner_team)


def lead_assigned(
    lead: LeadRecord, previous_status: str, previous_owner: uuid.UUID | None,
    previous_team: str | None, cap: int, actor: uuid.UUID, via: str,
) -> LeadAssigned:
    """``lead`` as it is after the assignment (the claim statement builds the same payload
    in SQL)."""
    assert lead.owner_id is not None
    return LeadAssigned(
        lead_id=lead.id, owner_id=lead.owner_id, team=lead.owner_team, owner_lead_cap=cap,
        assigned_by=actor, via=via,
        previous_owner_id=previous_owner, previous_team=previous_team, status=lead.status,
        previous_status=previous_status, assigned_at=lead.assigned_at,
    )

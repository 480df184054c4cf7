"""The contract events the leads service emits (it consumes none), and how lead rows
become their payloads."""

from __future__ import annotations

import uuid

from crmkit.contracts import Envelope, Event
from crmkit.contracts.leads import (
    AccountCreated,
    AccountUpdated,
    ContactCreated,
    LeadAssigned,
    LeadConverted,
    LeadCreated,
    LeadReleased,
    LeadStatusChanged,
    LeadUpdated,
    MemberUpdated,
)
from services.leads.records import AccountRecord, ContactRecord, LeadRecord

EMITS: tuple[type[Event], ...] = (
    LeadCreated,
    LeadUpdated,
    LeadAssigned,
    LeadReleased,
    LeadStatusChanged,
    LeadConverted,
    AccountCreated,
    AccountUpdated,
    ContactCreated,
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


def lead_created(lead: LeadRecord) -> LeadCreated:
    return LeadCreated(
        lead_id=lead.id,
        company=lead.company,
        contact_name=lead.contact_name,
        email=lead.email,
        phone=lead.phone,
        website=lead.website,
        domain=lead.domain,
        source=lead.source,
        priority=lead.priority,
        tags=list(lead.tags),
        status=lead.status,
        owner_id=lead.owner_id,
        team=lead.owner_team,
        created_via="import" if lead.import_id else "api",
        import_id=lead.import_id,
        created_at=lead.created_at,
    )


def lead_updated(lead: LeadRecord, changed: list[str]) -> LeadUpdated:
    return LeadUpdated(
        lead_id=lead.id,
        changed=changed,
        company=lead.company,
        contact_name=lead.contact_name,
        email=lead.email,
        phone=lead.phone,
        website=lead.website,
        domain=lead.domain,
        source=lead.source,
        priority=lead.priority,
        tags=list(lead.tags),
        owner_id=lead.owner_id,
        team=lead.owner_team,
        status=lead.status,
    )


def account_created(account: AccountRecord, source_lead_id: uuid.UUID | None) -> AccountCreated:
    return AccountCreated(
        account_id=account.id,
        name=account.name,
        domain=account.domain,
        nip=account.nip,
        address=account.address,
        owner_id=account.owner_id,
        team=account.owner_team,
        source_lead_id=source_lead_id,
    )


def contact_created(contact: ContactRecord) -> ContactCreated:
    return ContactCreated(
        contact_id=contact.id,
        account_id=contact.account_id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        position=contact.position,
        lead_id=contact.lead_id,
    )


def account_updated(account: AccountRecord, changed: list[str]) -> AccountUpdated:
    return AccountUpdated(
        account_id=account.id,
        changed=changed,
        name=account.name,
        domain=account.domain,
        nip=account.nip,
        address=account.address,
        owner_id=account.owner_id,
        team=account.owner_team,
    )


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

"""What the leads use cases share: the unit of work they run in, the clock, event envelopes,
visibility and version checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from crmkit.auth import Caller
from crmkit.contracts import Event
from crmkit.contracts.leads import MemberUpdated
from crmkit.errors import NotFoundError, VersionConflictError
from crmkit.uow import UnitOfWork
from services.leads import domain, events
from services.leads.ports import LeadsRepository
from services.leads.records import LeadRecord, MemberRecord

Work = UnitOfWork[LeadsRepository]


def now() -> datetime:
    """The clock of every use case (tests replace it)."""
    return datetime.now(UTC)


def emit(
    uow: Work, actor: Caller | uuid.UUID | None, org_id: uuid.UUID, aggregate_id: uuid.UUID,
    version: int, event: Event,
) -> None:
    actor_id = actor.member_id if isinstance(actor, Caller) else actor
    uow.emit(events.wrap(event, org_id=org_id, aggregate_id=aggregate_id, version=version,
                         actor_id=actor_id))


async def visible_lead(
    repo: LeadsRepository, caller: Caller, lead_id: uuid.UUID, *, lock: bool = True
) -> LeadRecord:
    """The lead, locked; another org's lead or one the caller may not see is 'not found'."""
    lead = await repo.get_lead(caller.org_id, lead_id, lock=lock)
    if lead is None or not domain.can_see_lead(caller, lead.owner_id, lead.owner_team):
        raise NotFoundError("Lead", lead_id)
    return lead


def check_version(entity: str, expected: int | None, current: int) -> None:
    if expected is not None and expected != current:
        raise VersionConflictError(entity, expected, current)


def member_event(
    member: MemberRecord, cap: int, changed: list[str], previous_cap: int | None,
    updated_by: uuid.UUID | None,
) -> MemberUpdated:
    return MemberUpdated(
        member_id=member.id,
        team=member.team,
        lead_cap=cap,
        lead_cap_override=member.lead_cap,
        previous_lead_cap=previous_cap,
        name=member.name,
        roles=list(member.roles),
        changed=changed,
        updated_by=updated_by,
    )

"""The pool: claiming (within the member's cap), releasing, assigning, and the idle return."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crmkit.commands import Command, must_exist, require_manager
from crmkit.contracts.leads import LeadReleased
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError
from services.leads import domain, events
from services.leads.domain import LeadStatus
from services.leads.handlers.common import Work, emit, now, visible_lead
from services.leads.ports import LeadsRepository, PoolFilter
from services.leads.records import LeadRecord, MemberRecord


@dataclass(frozen=True)
class ClaimResult:
    leads: list[LeadRecord]
    requested: int
    lead_cap: int
    active_leads: int
    """Active leads the member holds after the claim."""


class ClaimNextLeads(Command):
    count: int
    pool_filter: PoolFilter = field(default_factory=PoolFilter)


async def claim_next_leads(cmd: ClaimNextLeads, uow: Work) -> ClaimResult:
    """The highest-priority, oldest pool leads, as many as asked and the cap still allows
    (``domain.claimable``); the repository's fast path takes them and writes their
    ``lead.assigned`` events in one statement."""
    if not 1 <= cmd.count <= domain.MAX_CLAIM_BATCH:
        raise InvalidInput.field("count", f"must be between 1 and {domain.MAX_CLAIM_BATCH}")
    caller = cmd.caller
    at = now()
    async with uow:
        claimer = must_exist(
            await uow.repo.lock_claimer(caller.org_id, caller.member_id), "Member", caller.member_id
        )
        batch = await uow.repo.claim_next(caller.org_id, claimer, cmd.count, cmd.pool_filter, at)
        active = batch.active_before
        claimed = list(batch.leads)
        room = domain.claimable(claimer.lead_cap, active, cmd.count)
        # A row that a rolled-back claimer held was skipped and may leave the batch short; try
        # again while the pool still yields rows (the statement re-counts, so the cap holds).
        while batch.leads and len(claimed) < room:
            batch = await uow.repo.claim_next(
                caller.org_id, claimer, cmd.count - len(claimed), cmd.pool_filter, at
            )
            claimed.extend(batch.leads)
        await uow.commit()
    return ClaimResult(claimed, cmd.count, claimer.lead_cap, active + len(claimed))


async def _member_and_room(
    repo: LeadsRepository, org_id: uuid.UUID, member_id: uuid.UUID
) -> tuple[MemberRecord, int, int]:
    """The member, locked (serialises one member's claims and assignments: the cap check and
    the change happen under the lock), their cap and their active leads."""
    member = must_exist(await repo.get_member(org_id, member_id, lock=True), "Member", member_id)
    settings = await repo.org_settings(org_id)
    cap = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
    counts = await repo.active_lead_counts(org_id, [member.id])
    return member, cap, counts.get(member.id, 0)


def _handover(member: MemberRecord, lead: LeadRecord, status: LeadStatus, at: datetime
              ) -> dict[str, Any]:
    values: dict[str, Any] = {"owner_id": member.id, "owner_team": member.team,
                              "status": status.value, "assigned_at": at}
    if status.value != lead.status:
        values["status_changed_at"] = at
    return values


class ClaimLead(Command):
    lead_id: uuid.UUID


async def claim_lead(cmd: ClaimLead, uow: Work) -> LeadRecord:
    caller = cmd.caller
    async with uow:
        member, cap, active = await _member_and_room(uow.repo, caller.org_id, caller.member_id)
        lead = await visible_lead(uow.repo, caller, cmd.lead_id)
        new_status = domain.status_after_claim(lead.lead_status, lead.owner_id)
        domain.check_assignment_fits(member.id, cap, active, 1)
        previous_status = lead.status
        lead = await uow.repo.update_lead(
            caller.org_id, lead.id, _handover(member, lead, new_status, now()))
        emit(uow, caller, caller.org_id, lead.id, lead.version, events.lead_assigned(
            lead, previous_status, None, None, cap, caller.member_id, "claim"))
        await uow.commit()
        return lead


class ReleaseLead(Command):
    lead_id: uuid.UUID


async def release_lead(cmd: ReleaseLead, uow: Work) -> LeadRecord:
    """Back to the pool: by its owner, or by a manager of the owner's team, or an admin."""
    caller = cmd.caller
    async with uow:
        lead = await visible_lead(uow.repo, caller, cmd.lead_id)
        new_status = domain.status_after_release(lead.lead_status, lead.owner_id)
        if lead.owner_id != caller.member_id and not caller.is_manager:
            raise ForbiddenError("only the lead's owner or their manager may release it")
        lead = await _release(uow, lead, new_status, caller.member_id, "released", now())
        await uow.commit()
        return lead


async def _release(
    uow: Work, lead: LeadRecord, new_status: LeadStatus, actor: uuid.UUID | None, reason: str,
    at: datetime,
) -> LeadRecord:
    assert lead.owner_id is not None
    values: dict[str, Any] = {"owner_id": None, "owner_team": None, "assigned_at": None,
                              "status": new_status.value}
    if new_status.value != lead.status:
        values["status_changed_at"] = at
    previous = lead
    lead = await uow.repo.update_lead(lead.org_id, lead.id, values)
    emit(uow, actor, lead.org_id, lead.id, lead.version, LeadReleased(
        lead_id=lead.id, previous_owner_id=previous.owner_id, previous_team=previous.owner_team,
        released_by=actor, reason=reason, status=lead.status,
        previous_status=previous.status,
    ))
    return lead


class AssignLeads(Command):
    lead_ids: list[uuid.UUID]
    member_id: uuid.UUID


async def assign_leads(cmd: AssignLeads, uow: Work) -> list[LeadRecord]:
    """Give leads to a member (managers: their team; admins: anyone). All or nothing: when
    they do not all fit under the member's cap, ``CapExceeded`` says how many would."""
    caller = cmd.caller
    lead_ids = list(dict.fromkeys(cmd.lead_ids))
    if not 1 <= len(lead_ids) <= domain.MAX_ASSIGN_BATCH:
        raise InvalidInput.field("ids", f"give between 1 and {domain.MAX_ASSIGN_BATCH} leads")
    require_manager(caller, "only a manager or an admin may assign leads")
    async with uow:
        repo = uow.repo
        member = must_exist(
            await repo.get_member(caller.org_id, cmd.member_id, lock=True), "Member", cmd.member_id
        )
        domain.require_manager_of(caller, member.team, "assign leads to this member")
        found = {lead.id: lead
                 for lead in await repo.get_leads(caller.org_id, lead_ids, lock=True)}
        for lead_id in lead_ids:
            lead = found.get(lead_id)
            if lead is None or not domain.can_see_lead(caller, lead.owner_id, lead.owner_team):
                raise NotFoundError("Lead", lead_id)
            domain.status_after_assignment(lead.lead_status)
        moving = [found[i] for i in lead_ids if found[i].owner_id != member.id]
        _, cap, active = await _member_and_room(repo, caller.org_id, member.id)
        domain.check_assignment_fits(member.id, cap, active, len(moving))
        result = dict(found)
        at = now()
        for lead in moving:
            new_status = domain.status_after_assignment(lead.lead_status)
            updated = await repo.update_lead(
                caller.org_id, lead.id, _handover(member, lead, new_status, at))
            via = "assignment" if lead.owner_id is None else "reassignment"
            emit(uow, caller, caller.org_id, updated.id, updated.version, events.lead_assigned(
                updated, lead.status, lead.owner_id, lead.owner_team, cap, caller.member_id,
                via))
            result[lead.id] = updated
        await uow.commit()
    return [result[i] for i in lead_ids]


@dataclass(frozen=True)
class ReturnIdleLeads:
    """One round of the idle return (the org setting ``idle_return_days``)."""

    batch: int = 500
    """Leads per org in this round."""


async def return_idle_leads(cmd: ReturnIdleLeads, uow: Work) -> int:
    """Owned leads without a status change or assignment for their org's ``idle_days`` go
    back to the pool, each with a ``lead.released`` event (reason ``idle_return``); how many
    went (the periodic worker runs again soon while there are some)."""
    at = now()
    returned = 0
    async with uow:
        for org_id, days in await uow.repo.orgs_with_idle_return():
            idle = await uow.repo.idle_leads(org_id, at - timedelta(days=days), limit=cmd.batch)
            for lead in idle:
                await _release(uow, lead,
                               domain.status_after_release(lead.lead_status, lead.owner_id),
                               None, "idle_return", at)
            returned += len(idle)
        await uow.commit()
    return returned

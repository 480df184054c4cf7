"""Opportunities: creating, editing, moving through the stages, closing and reopening one, and
reading them (a page of a list, references by id, the history)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from crmkit import paging
from crmkit.commands import ById, Command
from crmkit.contracts import Envelope
from crmkit.contracts import pipeline as c
from crmkit.errors import (
    DomainError,
    InvalidInput,
    ProblemCollector,
    VersionConflictError,
)
from services.pipeline import domain as d
from services.pipeline import events
from services.pipeline.handlers.common import (
    OfOpportunity,
    Work,
    changeable_opportunity,
    default_pipeline,
    now,
    pipeline_of,
    seen_opportunity,
    visible_opportunity,
)
from services.pipeline.ports import OpportunityQuery


class CreateOpportunity(Command):
    data: d.NewOpportunity
    owner_id: uuid.UUID | None = None
    team: str | None = None
    pipeline_id: uuid.UUID | None = None


async def create_opportunity(cmd: CreateOpportunity, uow: Work) -> d.Opportunity:
    """A new opportunity in the first stage of the default (or the given) pipeline. Its owner
    is the caller or a member they may assign (the roster the leads service announces), its
    account one of the org's."""
    d.validate_new_opportunity(cmd.data)
    org_id = cmd.caller.org_id
    async with uow:
        member = None
        if cmd.owner_id is not None and cmd.owner_id != cmd.caller.member_id:
            member = await uow.repo.member(org_id, cmd.owner_id)
        owner_id, team = d.owner_for_new(cmd.caller, cmd.owner_id, cmd.team, member)
        await _check_account(uow, org_id, cmd.data.account_id, "input.accountId")
        if cmd.pipeline_id is None:
            pipeline = await default_pipeline(org_id, uow, cmd.caller.member_id)
        else:
            found = await uow.repo.pipeline(org_id, cmd.pipeline_id)
            if found is None:
                raise InvalidInput.field(
                    "input.pipelineId", "is not a pipeline of this organisation"
                )
            pipeline = found
        opp = d.open_opportunity(
            opportunity_id=uuid.uuid4(), org_id=org_id, data=cmd.data, owner_id=owner_id,
            team=team, pipeline=pipeline, now=now(), created_by=cmd.caller.member_id,
        )
        await uow.repo.add_opportunity(opp)
        uow.emit(events.opportunity_created(opp, pipeline, cmd.caller.member_id))
        await uow.commit()
    return opp


async def _check_account(
    uow: Work, org_id: uuid.UUID, account_id: uuid.UUID | None, path: str
) -> None:
    """An opportunity names an account of its org (as the leads service announced them)."""
    if account_id is not None and not await uow.repo.account_exists(org_id, account_id):
        raise InvalidInput.field(path, "is not an account of this organisation")


class UpdateOpportunity(Command):
    opportunity_id: uuid.UUID
    expected_version: int
    patch: d.OpportunityPatch


async def update_opportunity(cmd: UpdateOpportunity, uow: Work) -> d.Opportunity:
    async with uow:
        opp = await changeable_opportunity(uow.repo, cmd.caller, cmd.opportunity_id)
        opp.check_version(cmd.expected_version)
        if cmd.patch.account_id != opp.account_id:
            await _check_account(uow, opp.org_id, cmd.patch.account_id, "patch.accountId")
        changed = d.apply_patch(opp, cmd.patch, now())
        if not changed:
            return opp
        await uow.repo.save_opportunity(opp)
        pipeline = await pipeline_of(uow.repo, opp)
        uow.emit(events.opportunity_updated(opp, pipeline, changed, cmd.caller.member_id))
        await uow.commit()
    return opp


class ReassignOpportunity(Command):
    opportunity_id: uuid.UUID
    expected_version: int
    owner_id: uuid.UUID


async def reassign_opportunity(cmd: ReassignOpportunity, uow: Work) -> d.Opportunity:
    """Hand an open deal to another member (:func:`domain.new_owner` says who may). Its open
    activities that the previous owner held go with it: the agreed call back is the new
    owner's to make, on their calendar and in their reminders."""
    caller = cmd.caller
    async with uow:
        # The activities are locked before the deal, the order completing or rescheduling
        # one takes (the activity, then its deal's next contact): the other order could
        # deadlock with them. An owner changed in between changed the version too.
        seen = await visible_opportunity(uow.repo, caller, cmd.opportunity_id)
        previous = seen.owner_id
        await uow.repo.open_activities(caller.org_id, seen.id, previous)
        opp = await changeable_opportunity(uow.repo, caller, cmd.opportunity_id)
        opp.check_version(cmd.expected_version)
        if opp.owner_id != previous:
            raise VersionConflictError("Opportunity", cmd.expected_version, opp.version)
        member = await uow.repo.member(caller.org_id, cmd.owner_id)
        owner_id, team = d.new_owner(caller, opp, member)
        at = now()
        changed, handover = d.hand_over(opp, owner_id, team, at, caller.member_id)
        if not changed:
            return opp
        await uow.repo.save_opportunity(opp)
        if handover is not None:
            await uow.repo.record_owner_change(caller.org_id, handover)
        pipeline = await pipeline_of(uow.repo, opp)
        uow.emit(events.opportunity_updated(opp, pipeline, changed, caller.member_id))
        # Read again under the deal's lock: with a call scheduled meanwhile (scheduling holds
        # the deal's lock until it commits), the others still held.
        for activity in await uow.repo.open_activities(caller.org_id, opp.id, previous):
            was = d.hand_over_activity(activity, owner_id, team, at)
            await uow.repo.save_activity(activity)
            uow.emit(events.activity_event(c.ActivityReassigned, activity, caller.member_id,
                                           previous_owner_id=was))
        await uow.commit()
    return opp


class MoveOpportunity(Command):
    opportunity_id: uuid.UUID
    stage_id: uuid.UUID
    expected_version: int


async def move_opportunity(cmd: MoveOpportunity, uow: Work) -> d.Opportunity:
    """Forwards or backwards to another open stage. The common case goes the repository's
    unlocked way (read, decide with these rules, write only if nothing changed in between);
    anything else (a refusal, a stale version, someone else's change meanwhile) is decided
    again with the row locked, and that answer is the one given."""
    caller = cmd.caller

    def decide(
        opp: d.Opportunity, pipeline: d.Pipeline
    ) -> tuple[d.StageChange, Envelope] | None:
        if opp.version != cmd.expected_version or not d.can_see(
            caller, opp.org_id, opp.owner_id, opp.team
        ):
            return None
        seen_version = opp.version
        try:
            change = d.move(opp, pipeline, cmd.stage_id, now(), caller.member_id)
        except DomainError:
            return None
        opp.version = seen_version + 1
        return change, events.stage_changed(opp, pipeline, change, caller.member_id)

    async with uow:
        moved = await uow.repo.move_unlocked(caller.org_id, cmd.opportunity_id, decide)
        if moved is not None:
            await uow.commit()  # the move is written already; nothing else is pending
            return moved
        return await _move_locked(cmd, uow)


async def move_opportunity_locked(cmd: MoveOpportunity, uow: Work) -> d.Opportunity:
    """:func:`move_opportunity` the general way only: decided with the row locked (what the
    unlocked way falls back to, and what it is tested against)."""
    async with uow:
        return await _move_locked(cmd, uow)


async def _move_locked(cmd: MoveOpportunity, uow: Work) -> d.Opportunity:
    opp = await changeable_opportunity(uow.repo, cmd.caller, cmd.opportunity_id)
    opp.check_version(cmd.expected_version)
    pipeline = await pipeline_of(uow.repo, opp)
    change = d.move(opp, pipeline, cmd.stage_id, now(), cmd.caller.member_id)
    await uow.repo.save_opportunity(opp)
    await uow.repo.record_stage_change(opp.org_id, change)
    uow.emit(events.stage_changed(opp, pipeline, change, cmd.caller.member_id))
    await uow.commit()
    return opp


class MarkWon(Command):
    opportunity_id: uuid.UUID
    comment: str | None
    expected_version: int | None = None


async def mark_won(cmd: MarkWon, uow: Work) -> d.Opportunity:
    async with uow:
        opp = await changeable_opportunity(uow.repo, cmd.caller, cmd.opportunity_id)
        opp.check_version(cmd.expected_version)
        pipeline = await pipeline_of(uow.repo, opp)
        change = d.mark_won(opp, pipeline, cmd.comment, now(), cmd.caller.member_id)
        await _save_close(uow, opp, pipeline, change, None, cmd.caller.member_id)
    return opp


class MarkLost(Command):
    opportunity_id: uuid.UUID
    reason_id: uuid.UUID | None
    comment: str | None
    expected_version: int | None = None


async def mark_lost(cmd: MarkLost, uow: Work) -> d.Opportunity:
    async with uow:
        opp = await changeable_opportunity(uow.repo, cmd.caller, cmd.opportunity_id)
        opp.check_version(cmd.expected_version)
        reason = None
        if cmd.reason_id is not None:
            reason = await uow.repo.lost_reason(opp.org_id, cmd.reason_id)
            if reason is None:
                raise InvalidInput.field("reasonId", "is not a lost reason of this organisation")
        pipeline = await pipeline_of(uow.repo, opp)
        change = d.mark_lost(opp, pipeline, reason, cmd.comment, now(), cmd.caller.member_id)
        await _save_close(uow, opp, pipeline, change, reason, cmd.caller.member_id)
    return opp


async def _save_close(
    uow: Work,
    opp: d.Opportunity,
    pipeline: d.Pipeline,
    change: d.StageChange,
    reason: d.LostReason | None,
    actor: uuid.UUID,
) -> None:
    await uow.repo.save_opportunity(opp)
    await uow.repo.record_stage_change(opp.org_id, change)
    uow.emit(
        events.stage_changed(opp, pipeline, change, actor),
        events.closed(opp, pipeline, change, reason, actor),
    )
    await uow.commit()


class ReopenOpportunity(Command):
    opportunity_id: uuid.UUID
    expected_version: int | None = None


async def reopen_opportunity(cmd: ReopenOpportunity, uow: Work) -> d.Opportunity:
    async with uow:
        opp = await changeable_opportunity(uow.repo, cmd.caller, cmd.opportunity_id)
        d.ensure_can_reopen(cmd.caller, opp)
        opp.check_version(cmd.expected_version)
        pipeline = await pipeline_of(uow.repo, opp)
        previous = opp.status
        change = d.reopen(opp, pipeline, now(), cmd.caller.member_id)
        await uow.repo.save_opportunity(opp)
        await uow.repo.record_stage_change(opp.org_id, change)
        uow.emit(
            events.stage_changed(opp, pipeline, change, cmd.caller.member_id),
            events.reopened(opp, pipeline, change, previous, cmd.caller.member_id),
        )
        await uow.commit()
    return opp


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpportunityFilter:
    owner_ids: Sequence[uuid.UUID] = ()
    stage_ids: Sequence[uuid.UUID] = ()
    statuses: Sequence[d.OpportunityStatus] = ()
    pipeline_id: uuid.UUID | None = None
    account_ids: Sequence[uuid.UUID] = ()
    close_from: date | None = None
    close_to: date | None = None
    stale: bool = False
    no_next_contact: bool = False
    text: str | None = None


def check_filter(f: OpportunityFilter) -> None:
    problems = ProblemCollector()
    if f.close_from and f.close_to and f.close_from > f.close_to:
        problems.add("filter.closeTo", "must not be before closeFrom")
    if f.text is not None and len(f.text) > d.TEXT_SEARCH_MAX:
        problems.add("filter.text", f"must be at most {d.TEXT_SEARCH_MAX} characters")
    problems.raise_if_any()


class ListOpportunities(Command):
    filter: OpportunityFilter = field(default_factory=OpportunityFilter)
    first: int | None = None
    after: str | None = None
    order: d.OpportunityOrder = d.OpportunityOrder.NEWEST


@dataclass(frozen=True)
class OpportunityList:
    page: paging.Page[d.Opportunity]
    # The org's pipelines when the list needed them (the stale filter), for its nodes.
    pipelines: dict[uuid.UUID, d.Pipeline] | None = None


async def list_opportunities(query: ListOpportunities, uow: Work) -> OpportunityList:
    """The ones the caller sees, in ``query.order`` (newest first by default)."""
    f = query.filter
    check_filter(f)
    request = paging.page_request(query.first, query.after)
    caller = query.caller
    async with uow:
        known = None
        stale_before = None
        if f.stale:
            known = await uow.repo.current_pipelines(caller.org_id)
            stale_before = d.stale_thresholds(
                [s for p in known.values() for s in p.stages], now()
            )
        rows = await uow.repo.opportunity_page(
            caller,
            OpportunityQuery(
                owner_ids=f.owner_ids, stage_ids=f.stage_ids, statuses=f.statuses,
                pipeline_id=f.pipeline_id, account_ids=f.account_ids,
                close_from=f.close_from, close_to=f.close_to,
                stale_before=stale_before, no_next_contact=f.no_next_contact, text=f.text,
                order=query.order,
            ),
            request,
        )
    return OpportunityList(
        paging.page_of(rows, request, lambda opp: d.order_key(query.order, opp)), known)


async def opportunities_by_id(
    query: ById, uow: Work
) -> dict[uuid.UUID, d.Opportunity]:
    """The opportunities among ``ids`` the caller sees (one query)."""
    caller = query.caller
    async with uow:
        found = await uow.repo.opportunities(caller.org_id, query.ids)
    return {o.id: o for o in found if d.can_see(caller, o.org_id, o.owner_id, o.team)}


class OrgPipelines(Command):
    """A read of the caller's org's pipelines."""


async def org_pipelines(query: OrgPipelines, uow: Work) -> dict[uuid.UUID, d.Pipeline]:
    """The org's pipelines as committed now, by id (shared objects: read only)."""
    async with uow:
        return await uow.repo.current_pipelines(query.caller.org_id)


async def opportunity_history(query: OfOpportunity, uow: Work) -> list[d.StageChange]:
    """Every stage change of an opportunity (as read for the caller), oldest first."""
    opp = seen_opportunity(query)
    async with uow:
        return await uow.repo.history(opp.org_id, opp.id)


async def opportunity_handovers(query: OfOpportunity, uow: Work) -> list[d.OwnerChange]:
    """Every handover of an opportunity (as read for the caller), oldest first."""
    opp = seen_opportunity(query)
    async with uow:
        return await uow.repo.handovers(opp.org_id, opp.id)

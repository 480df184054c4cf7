"""Use cases of the pipeline service: ``async def x(cmd, uow)``.

Each loads what it needs through the unit of work, applies the domain rules, saves, emits the
contract events and commits once: the change and its events land together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.auth import Caller
from crmkit.contracts import Envelope
from crmkit.contracts import pipeline as c
from crmkit.contracts.documents import OfferIssued
from crmkit.contracts.leads import LeadConverted
from crmkit.errors import DomainError, InvalidInput, NotFoundError, ProblemCollector
from crmkit.outbox import SqlUnitOfWork
from crmkit.uow import UnitOfWork
from services.pipeline import direct, events
from services.pipeline import domain as d
from services.pipeline.pipeline_cache import PipelineCache
from services.pipeline.repository import PipelineRepository


def utcnow() -> datetime:
    return datetime.now(UTC)


Work = UnitOfWork[PipelineRepository]
"""What a handler needs: the repository, somewhere to put events, and a commit."""


class PipelineUnitOfWork(SqlUnitOfWork[PipelineRepository]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], outbox: Table) -> None:
        super().__init__(sessions, outbox, PipelineRepository)


# ----------------------------------------------------------------------- set-up


async def default_pipeline(org_id: uuid.UUID, uow: Work, actor: uuid.UUID | None) -> d.Pipeline:
    """The org's default pipeline, created with the default lost reasons on first use."""
    found = [p for p in await uow.repo.pipelines(org_id) if p.is_default]
    if found:
        return found[0]
    locale = await uow.repo.locale(org_id)
    pipeline = d.new_pipeline(org_id, locale, is_default=True)
    now = utcnow()
    if await uow.repo.insert_default_pipeline(pipeline, now):
        await uow.repo.save_lost_reasons(d.default_lost_reasons(org_id, locale))
        uow.emit(events.pipeline_configured(pipeline, actor))
        return pipeline
    # Another transaction created it first; use theirs.
    return next(p for p in await uow.repo.pipelines(org_id) if p.is_default)


async def ensure_defaults(caller: Caller, uow: Work) -> list[d.Pipeline]:
    await default_pipeline(caller.org_id, uow, caller.member_id)
    await uow.commit()
    return await uow.repo.pipelines(caller.org_id)


@dataclass(frozen=True)
class SetLocale:
    caller: Caller
    locale: d.Locale


async def set_locale(cmd: SetLocale, uow: Work) -> d.Locale:
    d.ensure_admin(cmd.caller, "change the organisation's settings")
    await uow.repo.set_locale(cmd.caller.org_id, cmd.locale, utcnow())
    await uow.commit()
    return cmd.locale


# ---------------------------------------------------------------- opportunities


async def _pipeline_of(uow: Work, opp: d.Opportunity) -> d.Pipeline:
    pipeline = await uow.repo.pipeline(opp.org_id, opp.pipeline_id)
    if pipeline is None:
        raise NotFoundError("Pipeline", opp.pipeline_id)
    return pipeline


async def _load_for_change(
    uow: Work, caller: Caller, opportunity_id: uuid.UUID
) -> d.Opportunity:
    opp = await uow.repo.opportunity(caller.org_id, opportunity_id, for_update=True)
    if opp is None or not d.can_see(caller, opp.org_id, opp.owner_id, opp.team):
        # Someone else's opportunity is answered as missing: its existence is not revealed.
        raise NotFoundError("Opportunity", opportunity_id)
    d.ensure_can_change(caller, opp)
    return opp


@dataclass(frozen=True)
class CreateOpportunity:
    caller: Caller
    data: d.NewOpportunity
    owner_id: uuid.UUID | None = None
    team: str | None = None
    pipeline_id: uuid.UUID | None = None


async def create_opportunity(cmd: CreateOpportunity, uow: Work) -> d.Opportunity:
    d.validate_new_opportunity(cmd.data)
    owner_id, team = d.owner_for_new(cmd.caller, cmd.owner_id, cmd.team)
    org_id = cmd.caller.org_id
    if cmd.pipeline_id is None:
        pipeline = await default_pipeline(org_id, uow, cmd.caller.member_id)
    else:
        found = await uow.repo.pipeline(org_id, cmd.pipeline_id)
        if found is None:
            raise InvalidInput.field("input.pipelineId", "is not a pipeline of this organisation")
        pipeline = found
    opp = d.open_opportunity(
        opportunity_id=uuid.uuid4(), org_id=org_id, data=cmd.data, owner_id=owner_id,
        team=team, pipeline=pipeline, now=utcnow(), created_by=cmd.caller.member_id,
    )
    await uow.repo.add_opportunity(opp)
    uow.emit(events.opportunity_created(opp, pipeline, cmd.caller.member_id))
    await uow.commit()
    return opp


@dataclass(frozen=True)
class UpdateOpportunity:
    caller: Caller
    opportunity_id: uuid.UUID
    expected_version: int
    patch: d.OpportunityPatch


async def update_opportunity(cmd: UpdateOpportunity, uow: Work) -> d.Opportunity:
    opp = await _load_for_change(uow, cmd.caller, cmd.opportunity_id)
    opp.check_version(cmd.expected_version)
    changed = d.apply_patch(opp, cmd.patch, utcnow())
    if not changed:
        return opp
    await uow.repo.save_opportunity(opp)
    pipeline = await _pipeline_of(uow, opp)
    uow.emit(events.opportunity_updated(opp, pipeline, changed, cmd.caller.member_id))
    await uow.commit()
    return opp


@dataclass(frozen=True)
class MoveOpportunity:
    caller: Caller
    opportunity_id: uuid.UUID
    stage_id: uuid.UUID
    expected_version: int


async def move_opportunity(cmd: MoveOpportunity, uow: Work) -> d.Opportunity:
    opp = await _load_for_change(uow, cmd.caller, cmd.opportunity_id)
    opp.check_version(cmd.expected_version)
    pipeline = await _pipeline_of(uow, opp)
    change = d.move(opp, pipeline, cmd.stage_id, utcnow(), cmd.caller.member_id)
    await uow.repo.save_opportunity(opp)
    await uow.repo.record_stage_change(opp.org_id, change)
    uow.emit(events.stage_changed(opp, pipeline, change, cmd.caller.member_id))
    await uow.commit()
    return opp


async def quick_move(
    cmd: MoveOpportunity, conn: asyncpg.Connection, pipelines: PipelineCache
) -> d.Opportunity | None:
    """``move_opportunity``'s common case in two statements and no explicit transaction:
    read the row, decide with the same domain rules, then write the move, its history and
    its event in one statement that only applies to the row and pipeline as they were read
    (``direct.write_move``). None when the answer would not be a plain success (a refusal,
    a stale ``expectedVersion``, someone else's row) or something changed in between: then
    ``move_opportunity`` decides with the row locked, and its answer is the one given."""
    caller = cmd.caller
    opp = await direct.load_opportunity(conn, caller.org_id, cmd.opportunity_id)
    if (
        opp is None
        or opp.version != cmd.expected_version
        or not d.can_see(caller, opp.org_id, opp.owner_id, opp.team)
    ):
        return None
    pipeline = await pipelines.trusted(conn, opp.org_id, opp.pipeline_id)
    if pipeline is None:
        return None
    seen_version = opp.version
    try:
        change = d.move(opp, pipeline, cmd.stage_id, utcnow(), caller.member_id)
    except DomainError:
        return None
    opp.version = seen_version + 1
    event = events.stage_changed(opp, pipeline, change, caller.member_id)
    if not await direct.write_move(conn, opp, seen_version, change, pipeline, event):
        # Perhaps a configuration change: the next move reloads the pipelines.
        pipelines.forget(opp.org_id)
        return None
    return opp


@dataclass(frozen=True)
class MarkWon:
    caller: Caller
    opportunity_id: uuid.UUID
    comment: str | None
    expected_version: int | None = None


async def mark_won(cmd: MarkWon, uow: Work) -> d.Opportunity:
    opp = await _load_for_change(uow, cmd.caller, cmd.opportunity_id)
    opp.check_version(cmd.expected_version)
    pipeline = await _pipeline_of(uow, opp)
    change = d.mark_won(opp, pipeline, cmd.comment, utcnow(), cmd.caller.member_id)
    await _save_close(uow, opp, pipeline, change, None, cmd.caller.member_id)
    return opp


@dataclass(frozen=True)
class MarkLost:
    caller: Caller
    opportunity_id: uuid.UUID
    reason_id: uuid.UUID | None
    comment: str | None
    expected_version: int | None = None


async def mark_lost(cmd: MarkLost, uow: Work) -> d.Opportunity:
    opp = await _load_for_change(uow, cmd.caller, cmd.opportunity_id)
    opp.check_version(cmd.expected_version)
    reason = None
    if cmd.reason_id is not None:
        reason = await uow.repo.lost_reason(opp.org_id, cmd.reason_id)
        if reason is None:
            raise InvalidInput.field("reasonId", "is not a lost reason of this organisation")
    pipeline = await _pipeline_of(uow, opp)
    change = d.mark_lost(opp, pipeline, reason, cmd.comment, utcnow(), cmd.caller.member_id)
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


@dataclass(frozen=True)
class ReopenOpportunity:
    caller: Caller
    opportunity_id: uuid.UUID
    expected_version: int | None = None


async def reopen_opportunity(cmd: ReopenOpportunity, uow: Work) -> d.Opportunity:
    opp = await _load_for_change(uow, cmd.caller, cmd.opportunity_id)
    d.ensure_can_reopen(cmd.caller, opp)
    opp.check_version(cmd.expected_version)
    pipeline = await _pipeline_of(uow, opp)
    previous = opp.status
    change = d.reopen(opp, pipeline, utcnow(), cmd.caller.member_id)
    await uow.repo.save_opportunity(opp)
    await uow.repo.record_stage_change(opp.org_id, change)
    uow.emit(
        events.stage_changed(opp, pipeline, change, cmd.caller.member_id),
        events.reopened(opp, pipeline, change, previous, cmd.caller.member_id),
    )
    await uow.commit()
    return opp


# ------------------------------------------------------------------- activities


@dataclass(frozen=True)
class ScheduleActivity:
    caller: Caller
    opportunity_id: uuid.UUID
    kind: d.ActivityKind
    due_at: datetime
    subject: str
    notes: str | None = None
    owner_id: uuid.UUID | None = None


async def schedule_activity(cmd: ScheduleActivity, uow: Work) -> d.Activity:
    opp = await uow.repo.opportunity(cmd.caller.org_id, cmd.opportunity_id, for_update=True)
    if opp is None or not d.can_see(cmd.caller, opp.org_id, opp.owner_id, opp.team):
        raise NotFoundError("Opportunity", cmd.opportunity_id)
    owner_id = cmd.owner_id or cmd.caller.member_id
    if owner_id != cmd.caller.member_id and not cmd.caller.is_manager:
        raise InvalidInput.field("input.ownerId", "a rep schedules activities for themselves")
    activity = d.schedule_activity(
        activity_id=uuid.uuid4(), opp=opp, owner_id=owner_id, kind=cmd.kind,
        subject=cmd.subject, due_at=cmd.due_at, notes=cmd.notes, now=utcnow(),
    )
    await uow.repo.add_activity(activity)
    await uow.repo.refresh_next_contact(opp.org_id, opp.id)
    uow.emit(events.activity_event(c.ActivityScheduled, activity, cmd.caller.member_id))
    await uow.commit()
    return activity


async def _activity_for_change(
    uow: Work, caller: Caller, activity_id: uuid.UUID
) -> d.Activity:
    activity = await uow.repo.activity(caller.org_id, activity_id, for_update=True)
    if activity is None or not d.can_see(
        caller, activity.org_id, activity.owner_id, activity.team
    ):
        raise NotFoundError("Activity", activity_id)
    return activity


@dataclass(frozen=True)
class CompleteActivity:
    caller: Caller
    activity_id: uuid.UUID
    outcome: str | None = None


async def complete_activity(cmd: CompleteActivity, uow: Work) -> d.Activity:
    activity = await _activity_for_change(uow, cmd.caller, cmd.activity_id)
    now = utcnow()
    d.complete_activity(activity, cmd.outcome, now)
    await uow.repo.save_activity(activity)
    if d.counts_as_contact(activity):
        await uow.repo.mark_contact_made(activity.org_id, activity.opportunity_id, now)
    await uow.repo.refresh_next_contact(activity.org_id, activity.opportunity_id)
    uow.emit(events.activity_event(c.ActivityCompleted, activity, cmd.caller.member_id))
    await uow.commit()
    return activity


@dataclass(frozen=True)
class RescheduleActivity:
    caller: Caller
    activity_id: uuid.UUID
    due_at: datetime


async def reschedule_activity(cmd: RescheduleActivity, uow: Work) -> d.Activity:
    activity = await _activity_for_change(uow, cmd.caller, cmd.activity_id)
    previous = d.reschedule_activity(activity, cmd.due_at, utcnow())
    await uow.repo.save_activity(activity)
    await uow.repo.refresh_next_contact(activity.org_id, activity.opportunity_id)
    uow.emit(events.activity_event(
        c.ActivityRescheduled, activity, cmd.caller.member_id, previous_due_at=previous
    ))
    await uow.commit()
    return activity


@dataclass(frozen=True)
class CancelActivity:
    caller: Caller
    activity_id: uuid.UUID


async def cancel_activity(cmd: CancelActivity, uow: Work) -> d.Activity:
    activity = await _activity_for_change(uow, cmd.caller, cmd.activity_id)
    d.cancel_activity(activity, utcnow())
    await uow.repo.save_activity(activity)
    await uow.repo.refresh_next_contact(activity.org_id, activity.opportunity_id)
    uow.emit(events.activity_event(c.ActivityCancelled, activity, cmd.caller.member_id))
    await uow.commit()
    return activity


async def announce_overdue(uow: Work, now: datetime, limit: int = 200) -> int:
    """Publish ``activity.overdue`` for a batch of activities that just passed their due
    time. The flag and the outbox row commit together, so each is announced once even
    across crashes and several workers."""
    claimed = await uow.repo.claim_overdue(now, limit)
    for activity in claimed:
        if d.mark_overdue(activity, now):
            await uow.repo.save_activity(activity)
            uow.emit(events.activity_overdue(activity, now))
    await uow.commit()
    return len(claimed)


# --------------------------------------------------------- pipeline configuration


async def _pipeline_for_config(
    uow: Work, caller: Caller, pipeline_id: uuid.UUID
) -> d.Pipeline:
    d.ensure_admin(caller)
    pipeline = await uow.repo.pipeline(caller.org_id, pipeline_id, for_update=True)
    if pipeline is None:
        raise NotFoundError("Pipeline", pipeline_id)
    return pipeline


async def _save_config(
    uow: Work,
    pipeline: d.Pipeline,
    caller: Caller,
    *,
    removed: list[uuid.UUID] | None = None,
    moved_to: dict[uuid.UUID, uuid.UUID] | None = None,
) -> d.Pipeline:
    await uow.repo.save_pipeline(pipeline, utcnow(), removed or [])
    uow.emit(events.pipeline_configured(
        pipeline, caller.member_id, removed=removed, moved_to=moved_to
    ))
    await uow.commit()
    return pipeline


@dataclass(frozen=True)
class CreatePipeline:
    caller: Caller
    name: str


async def create_pipeline(cmd: CreatePipeline, uow: Work) -> d.Pipeline:
    d.ensure_admin(cmd.caller)
    problems = ProblemCollector()
    d.check_name(cmd.name, "name", problems)
    problems.raise_if_any()
    await default_pipeline(cmd.caller.org_id, uow, cmd.caller.member_id)
    locale = await uow.repo.locale(cmd.caller.org_id)
    pipeline = d.new_pipeline(cmd.caller.org_id, locale, name=cmd.name.strip())
    await uow.repo.add_pipeline(pipeline, utcnow())
    uow.emit(events.pipeline_configured(pipeline, cmd.caller.member_id))
    await uow.commit()
    return pipeline


@dataclass(frozen=True)
class AddStage:
    caller: Caller
    pipeline_id: uuid.UUID
    spec: d.StageSpec
    position: int | None = None


async def add_stage(cmd: AddStage, uow: Work) -> d.Pipeline:
    pipeline = await _pipeline_for_config(uow, cmd.caller, cmd.pipeline_id)
    d.add_stage(pipeline, cmd.spec, cmd.position, uuid.uuid4())
    return await _save_config(uow, pipeline, cmd.caller)


@dataclass(frozen=True)
class UpdateStage:
    caller: Caller
    stage_id: uuid.UUID
    spec: d.StageSpec


async def _pipeline_id_of_stage(uow: Work, caller: Caller, stage_id: uuid.UUID) -> uuid.UUID:
    d.ensure_admin(caller)
    pipeline_id = await uow.repo.pipeline_of_stage(caller.org_id, stage_id)
    if pipeline_id is None:
        raise NotFoundError("Stage", stage_id)
    return pipeline_id


async def update_stage(cmd: UpdateStage, uow: Work) -> d.Pipeline:
    pipeline_id = await _pipeline_id_of_stage(uow, cmd.caller, cmd.stage_id)
    pipeline = await _pipeline_for_config(uow, cmd.caller, pipeline_id)
    d.update_stage(pipeline, cmd.stage_id, cmd.spec)
    return await _save_config(uow, pipeline, cmd.caller)


@dataclass(frozen=True)
class ReorderStages:
    caller: Caller
    pipeline_id: uuid.UUID
    stage_ids: list[uuid.UUID]


async def reorder_stages(cmd: ReorderStages, uow: Work) -> d.Pipeline:
    pipeline = await _pipeline_for_config(uow, cmd.caller, cmd.pipeline_id)
    d.reorder_stages(pipeline, cmd.stage_ids)
    return await _save_config(uow, pipeline, cmd.caller)


@dataclass(frozen=True)
class RemoveStage:
    caller: Caller
    stage_id: uuid.UUID
    move_to: uuid.UUID | None = None


async def remove_stage(cmd: RemoveStage, uow: Work) -> d.Pipeline:
    pipeline_id = await _pipeline_id_of_stage(uow, cmd.caller, cmd.stage_id)
    pipeline = await _pipeline_for_config(uow, cmd.caller, pipeline_id)
    in_use = await uow.repo.stage_in_use(cmd.caller.org_id, cmd.stage_id)
    target = d.remove_stage(pipeline, cmd.stage_id, cmd.move_to, in_use)
    moved: dict[uuid.UUID, uuid.UUID] = {}
    if target is not None:
        await uow.repo.relocate_stage(
            cmd.caller.org_id, cmd.stage_id, target, utcnow(), cmd.caller.member_id
        )
        moved[cmd.stage_id] = target.id
    return await _save_config(
        uow, pipeline, cmd.caller, removed=[cmd.stage_id], moved_to=moved
    )


# ------------------------------------------------------------------ lost reasons


@dataclass(frozen=True)
class AddLostReason:
    caller: Caller
    label: str


async def add_lost_reason(cmd: AddLostReason, uow: Work) -> d.LostReason:
    d.ensure_admin(cmd.caller, "manage lost reasons")
    problems = ProblemCollector()
    d.check_name(cmd.label, "label", problems, d.REASON_LABEL_MAX)
    problems.raise_if_any()
    await default_pipeline(cmd.caller.org_id, uow, cmd.caller.member_id)
    existing = await uow.repo.lost_reasons(cmd.caller.org_id, include_inactive=True)
    if any(r.label.casefold() == cmd.label.strip().casefold() for r in existing):
        raise InvalidInput.field("label", "a lost reason with this label exists")
    reason = d.LostReason(
        id=uuid.uuid4(), org_id=cmd.caller.org_id, label=cmd.label.strip(),
        position=max((r.position for r in existing), default=-1) + 1,
    )
    await uow.repo.save_lost_reasons([reason])
    await uow.commit()
    return reason


@dataclass(frozen=True)
class UpdateLostReason:
    caller: Caller
    reason_id: uuid.UUID
    label: str | None = None
    active: bool | None = None


async def update_lost_reason(cmd: UpdateLostReason, uow: Work) -> d.LostReason:
    d.ensure_admin(cmd.caller, "manage lost reasons")
    reason = await uow.repo.lost_reason(cmd.caller.org_id, cmd.reason_id)
    if reason is None:
        raise NotFoundError("LostReason", cmd.reason_id)
    if cmd.label is not None:
        problems = ProblemCollector()
        d.check_name(cmd.label, "label", problems, d.REASON_LABEL_MAX)
        problems.raise_if_any()
        reason.label = cmd.label.strip()
    if cmd.active is not None:
        reason.active = cmd.active
    await uow.repo.save_lost_reasons([reason])
    await uow.commit()
    return reason


# ------------------------------------------------------------------ subscribers


async def apply_lead_converted(envelope: Envelope, uow: Work) -> d.Opportunity | None:
    """Create the converted lead's opportunity with the id the event carries; nothing when
    it exists already (a redelivery, or the same conversion published twice). The contract
    guarantees the deal meets the opportunity rules (ADR 0008)."""
    event = envelope.parse(LeadConverted)
    async with uow:
        if await uow.repo.opportunity_exists(event.opportunity_id):
            return None
        pipeline = await default_pipeline(envelope.org_id, uow, envelope.actor_id)
        data = d.NewOpportunity(
            name=event.name, amount=event.amount, currency=event.currency,
            expected_close_date=event.expected_close_date, account_id=event.account_id,
        )
        opp = d.open_opportunity(
            opportunity_id=event.opportunity_id, org_id=envelope.org_id, data=data,
            owner_id=event.owner_id, team=event.team, pipeline=pipeline, now=utcnow(),
            created_by=envelope.actor_id, lead_id=event.lead_id,
        )
        opp.offer_issued_at = await uow.repo.first_offer_issued_at(envelope.org_id, opp.id)
        await uow.repo.add_opportunity(opp)
        uow.emit(events.opportunity_created(opp, pipeline, envelope.actor_id))
        await uow.commit()
    return opp


async def apply_offer_issued(envelope: Envelope, uow: Work) -> bool:
    event = envelope.parse(OfferIssued)
    async with uow:
        recorded = await uow.repo.record_offer(
            envelope.org_id, event.offer_id, event.opportunity_id,
            event.issued_at or envelope.occurred_at,
        )
        await uow.commit()
    return recorded


# ---------------------------------------------------------------------- queries


@dataclass(frozen=True)
class OpportunityFilter:
    owner_ids: list[uuid.UUID] = field(default_factory=list)
    stage_ids: list[uuid.UUID] = field(default_factory=list)
    statuses: list[d.OpportunityStatus] = field(default_factory=list)
    pipeline_id: uuid.UUID | None = None
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

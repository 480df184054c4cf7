"""Activities: scheduling, completing, rescheduling and cancelling them, the calendar and the
overdue lists, and the overdue pass that announces each overdue activity once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from crmkit import paging
from crmkit.auth import Caller
from crmkit.commands import ById, Command
from crmkit.contracts import pipeline as c
from crmkit.errors import InvalidInput, NotFoundError, ProblemCollector
from crmkit.values import instant
from services.pipeline import domain as d
from services.pipeline import events
from services.pipeline.handlers.common import Work, now, visible_opportunity
from services.pipeline.ports import ActivityQuery, PipelineRepository


class ScheduleActivity(Command):
    opportunity_id: uuid.UUID
    kind: d.ActivityKind
    due_at: datetime
    subject: str
    notes: str | None = None
    owner_id: uuid.UUID | None = None


async def schedule_activity(cmd: ScheduleActivity, uow: Work) -> d.Activity:
    caller = cmd.caller
    async with uow:
        opp = await visible_opportunity(uow.repo, caller, cmd.opportunity_id, lock=True)
        member = None
        if cmd.owner_id is not None and cmd.owner_id != caller.member_id:
            member = await uow.repo.member(caller.org_id, cmd.owner_id)
        owner_id = d.activity_owner(caller, cmd.owner_id, member)
        activity = d.schedule_activity(
            activity_id=uuid.uuid4(), opp=opp, owner_id=owner_id, kind=cmd.kind,
            subject=cmd.subject, due_at=cmd.due_at, notes=cmd.notes, now=now(),
        )
        await uow.repo.add_activity(activity)
        await uow.repo.refresh_next_contact(opp.org_id, opp.id)
        uow.emit(events.activity_event(c.ActivityScheduled, activity, caller.member_id))
        await uow.commit()
    return activity


async def _changeable_activity(
    repo: PipelineRepository, caller: Caller, activity_id: uuid.UUID
) -> d.Activity:
    activity = await repo.activity(caller.org_id, activity_id, lock=True)
    if activity is None or not d.can_see(
        caller, activity.org_id, activity.owner_id, activity.team
    ):
        raise NotFoundError("Activity", activity_id)
    return activity


class CompleteActivity(Command):
    activity_id: uuid.UUID
    outcome: str | None = None


async def complete_activity(cmd: CompleteActivity, uow: Work) -> d.Activity:
    async with uow:
        activity = await _changeable_activity(uow.repo, cmd.caller, cmd.activity_id)
        at = now()
        d.complete_activity(activity, cmd.outcome, at)
        await uow.repo.save_activity(activity)
        if d.counts_as_contact(activity):
            await uow.repo.mark_contact_made(activity.org_id, activity.opportunity_id, at)
        await uow.repo.refresh_next_contact(activity.org_id, activity.opportunity_id)
        uow.emit(events.activity_event(c.ActivityCompleted, activity, cmd.caller.member_id))
        await uow.commit()
    return activity


class RescheduleActivity(Command):
    activity_id: uuid.UUID
    due_at: datetime


async def reschedule_activity(cmd: RescheduleActivity, uow: Work) -> d.Activity:
    async with uow:
        activity = await _changeable_activity(uow.repo, cmd.caller, cmd.activity_id)
        previous = d.reschedule_activity(activity, cmd.due_at, now())
        await uow.repo.save_activity(activity)
        await uow.repo.refresh_next_contact(activity.org_id, activity.opportunity_id)
        uow.emit(events.activity_event(
            c.ActivityRescheduled, activity, cmd.caller.member_id, previous_due_at=previous
        ))
        await uow.commit()
    return activity


class CancelActivity(Command):
    activity_id: uuid.UUID


async def cancel_activity(cmd: CancelActivity, uow: Work) -> d.Activity:
    async with uow:
        activity = await _changeable_activity(uow.repo, cmd.caller, cmd.activity_id)
        d.cancel_activity(activity, now())
        await uow.repo.save_activity(activity)
        await uow.repo.refresh_next_contact(activity.org_id, activity.opportunity_id)
        uow.emit(events.activity_event(c.ActivityCancelled, activity, cmd.caller.member_id))
        await uow.commit()
    return activity


# --- the overdue pass ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnounceOverdue:
    at: datetime
    limit: int = 200


async def announce_overdue(cmd: AnnounceOverdue, uow: Work) -> int:
    """Publish ``activity.overdue`` for a batch of activities that just became overdue; how
    many were claimed. The flag and the outbox row commit together, so each is announced
    once even across crashes and several workers (rows are claimed with SKIP LOCKED)."""
    async with uow:
        claimed = await uow.repo.claim_overdue(cmd.at, cmd.limit)
        for activity in claimed:
            if d.mark_overdue(activity, cmd.at):
                await uow.repo.save_activity(activity)
                uow.emit(events.activity_overdue(activity, cmd.at))
        await uow.commit()
    return len(claimed)


# --- reads --------------------------------------------------------------------------------------


class ListActivities(Command):
    owner_id: uuid.UUID | None = None
    opportunity_id: uuid.UUID | None = None
    # The calendar's window [due_from, due_to).
    due_from: datetime | None = None
    due_to: datetime | None = None
    overdue: bool = False
    first: int | None = None
    after: str | None = None


def activity_key(activity: d.Activity) -> paging.Keyset:
    return activity.due_at, activity.id


async def list_activities(query: ListActivities, uow: Work) -> paging.Page[d.Activity]:
    """By due time, the ones the caller sees."""
    problems = ProblemCollector()
    for path, value in (("from", query.due_from), ("to", query.due_to)):
        if value is not None:
            problems.value(path, partial(instant, value))
    problems.raise_if_any()  # before comparing: a time without an offset compares with none
    if query.due_from is not None and query.due_to is not None and (
        query.due_to <= query.due_from
    ):
        raise InvalidInput.field("to", "must be after from")
    request = paging.page_request(query.first, query.after)
    async with uow:
        rows = await uow.repo.activity_page(
            query.caller,
            ActivityQuery(
                owner_id=query.owner_id, opportunity_id=query.opportunity_id,
                due_from=query.due_from, due_to=query.due_to,
                overdue_at=now() if query.overdue else None,
            ),
            request,
        )
    return paging.page_of(rows, request, activity_key)


async def activities_by_id(query: ById, uow: Work) -> dict[uuid.UUID, d.Activity]:
    """The activities among ``ids`` the caller sees (one query)."""
    caller = query.caller
    async with uow:
        found = await uow.repo.activities(caller.org_id, query.ids)
    return {a.id: a for a in found if d.can_see(caller, a.org_id, a.owner_id, a.team)}

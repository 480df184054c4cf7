"""The periodic reminder pass: calls and meetings coming due within their owner's lead time,
and deals left without a next contact after a stage move. Several processes may run it at
once: a notification's id is derived from what it is about, so a second pass over the same
rows adds nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from services.notifications import domain as d
from services.notifications.handlers.common import At, Work, preferences_of, store

BATCH = 500


@dataclass(frozen=True)
class RemindersDone:
    due: int
    no_next_contact: int

    def __bool__(self) -> bool:
        return bool(self.due or self.no_next_contact)


async def remind(at: At, uow: Work) -> RemindersDone:
    """One pass at ``at.now``; what it made (truthy: run again soon, more may wait)."""
    async with uow:
        due = await _coming_due(at, uow)
        stale = await _no_next_contact(at, uow)
        await uow.commit()
    return RemindersDone(due, stale)


async def _coming_due(at: At, uow: Work) -> int:
    now = at.now
    candidates = await uow.repo.activities_coming_due(now, BATCH)
    by_org: dict[object, list[tuple[d.Activity, str]]] = defaultdict(list)
    for activity, deal in candidates:
        by_org[activity.org_id].append((activity, deal))
    made = 0
    for rows in by_org.values():
        notices: list[d.Notification] = []
        org_id = rows[0][0].org_id
        prefs = await preferences_of(uow.repo, org_id, [a.owner_id for a, _ in rows])
        for activity, deal in rows:
            member = prefs[activity.owner_id]
            if d.reminder_window(activity, member.lead_time, now):
                notices.append(d.notify(
                    member, d.NotificationKind.ACTIVITY_DUE, activity.id,
                    title=activity.subject, now=now, occurrence=activity.due_at.isoformat(),
                    detail=deal, opportunity_id=activity.opportunity_id,
                    due_at=activity.due_at,
                ))
        made += await store(uow.repo, notices, prefs, at)
    return made


async def _no_next_contact(at: At, uow: Work) -> int:
    now = at.now
    moved = await uow.repo.moved_opportunities(now - d.NEXT_CONTACT_GRACE, BATCH)
    for opportunity, has_open_activity in moved:
        if d.needs_next_contact_notice(opportunity, has_open_activity, now):
            assert opportunity.moved_at is not None
            owner = opportunity.owner_id
            prefs = await preferences_of(uow.repo, opportunity.org_id, [owner])
            await store(uow.repo, [d.notify(
                prefs[owner], d.NotificationKind.NO_NEXT_CONTACT, opportunity.id,
                title=opportunity.name, now=now, occurrence=opportunity.moved_at.isoformat(),
                detail=opportunity.stage_name, opportunity_id=opportunity.id,
            )], prefs, at)
        await uow.repo.moved_checked(opportunity)
    return len(moved)

"""Activities on an opportunity: scheduling, completing, rescheduling, cancelling, and
when one is overdue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial

from crmkit.errors import InvalidInput, ProblemCollector
from crmkit.values import instant
from services.pipeline.domain.opportunities import Opportunity
from services.pipeline.domain.values import SUBJECT_MAX, check_name, check_text


class ActivityKind(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TASK = "task"


class ActivityStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"



# Completing one of these is a contact with the client; a task is not.
CONTACT_KINDS = frozenset({ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING})

@dataclass
class Activity:
    id: uuid.UUID
    org_id: uuid.UUID
    opportunity_id: uuid.UUID
    owner_id: uuid.UUID
    team: str | None
    kind: ActivityKind
    subject: str
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    notes: str | None = None
    status: ActivityStatus = ActivityStatus.OPEN
    completed_at: datetime | None = None
    outcome: str | None = None
    overdue_notified_at: datetime | None = None
    version: int = 1

    def _require_open(self) -> None:
        if self.status is not ActivityStatus.OPEN:
            raise InvalidInput.field("id", f"the activity is already {self.status.value}")


def schedule_activity(
    *,
    activity_id: uuid.UUID,
    opp: Opportunity,
    owner_id: uuid.UUID,
    kind: ActivityKind,
    subject: str,
    due_at: datetime,
    notes: str | None,
    now: datetime,
) -> Activity:
    problems = ProblemCollector()
    check_name(subject, "input.subject", problems, SUBJECT_MAX)
    problems.value("input.dueAt", partial(instant, due_at))
    check_text(notes, "input.notes", problems)
    if not opp.is_open:
        problems.add("input.opportunityId", f"the opportunity is {opp.status.value}")
    problems.raise_if_any()
    return Activity(
        id=activity_id,
        org_id=opp.org_id,
        opportunity_id=opp.id,
        owner_id=owner_id,
        team=opp.team,
        kind=kind,
        subject=subject.strip(),
        due_at=due_at,
        notes=notes,
        created_at=now,
        updated_at=now,
    )


def complete_activity(activity: Activity, outcome: str | None, now: datetime) -> None:
    activity._require_open()
    problems = ProblemCollector()
    check_text(outcome, "outcome", problems)
    problems.raise_if_any()
    activity.status = ActivityStatus.DONE
    activity.completed_at = now
    activity.outcome = outcome.strip() if outcome and outcome.strip() else None
    activity.updated_at = now
    activity.version += 1


def counts_as_contact(activity: Activity) -> bool:
    return activity.status is ActivityStatus.DONE and activity.kind in CONTACT_KINDS


def reschedule_activity(activity: Activity, due_at: datetime, now: datetime) -> datetime:
    """Move the due time; the activity may become overdue again (once per due time)."""
    activity._require_open()
    problems = ProblemCollector()
    problems.value("dueAt", partial(instant, due_at))
    problems.raise_if_any()
    previous = activity.due_at
    activity.due_at = due_at
    activity.overdue_notified_at = None
    activity.updated_at = now
    activity.version += 1
    return previous


def hand_over_activity(
    activity: Activity, owner_id: uuid.UUID, team: str | None, now: datetime
) -> uuid.UUID:
    """An open activity goes with its deal to the deal's new owner; the previous owner."""
    activity._require_open()
    previous = activity.owner_id
    activity.owner_id, activity.team = owner_id, team
    activity.updated_at = now
    activity.version += 1
    return previous


def cancel_activity(activity: Activity, now: datetime) -> None:
    activity._require_open()
    activity.status = ActivityStatus.CANCELLED
    activity.updated_at = now
    activity.version += 1


def is_overdue(activity: Activity, now: datetime) -> bool:
    """The one definition of overdue: open, and its due time has passed (``due_at < now``).
    The repository's overdue filters say the same in SQL (held to this by the repository
    contract suite)."""
    return activity.status is ActivityStatus.OPEN and activity.due_at < now


def mark_overdue(activity: Activity, now: datetime) -> bool:
    """Flag an overdue activity, once; False when there is nothing to flag."""
    if not is_overdue(activity, now) or activity.overdue_notified_at is not None:
        return False
    activity.overdue_notified_at = now
    activity.version += 1
    return True

"""The personal dashboard: the caller's own day (meetings, tasks, follow-ups), their open
opportunities by stage, those with no next contact, and the leads they hold."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from services.reporting.domain.money import MoneyTotals, Rates, add_amount, money_totals

DASHBOARD_LIST_LIMIT = 50


@dataclass(frozen=True, slots=True)
class ActivityWindow:
    """Which of a member's open activities a dashboard list shows: of ``kind`` (or any kind
    but ``other_than``), due in ``[due_from, due_before)``; soonest first."""

    kind: str | None = None
    other_than: str | None = None
    due_from: datetime | None = None
    due_before: datetime | None = None

    def holds(self, kind: str, due_at: datetime) -> bool:
        return (
            (self.kind is None or kind == self.kind)
            and (self.other_than is None or kind != self.other_than)
            and (self.due_from is None or due_at >= self.due_from)
            and (self.due_before is None or due_at < self.due_before)
        )


@dataclass(frozen=True, slots=True)
class DayWindows:
    meetings_next_7_days: ActivityWindow
    tasks_due_today: ActivityWindow
    tasks_overdue: ActivityWindow
    overdue_follow_ups: ActivityWindow



def day_windows(now: datetime, zone: tzinfo) -> DayWindows:
    """The dashboard's lists at ``now``. Overdue is the pipeline's one rule: open and due
    before now (a task due earlier today is overdue, not due today); "today" is the day in
    ``zone``, the member's."""
    end_of_today = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(),
                                    zone)
    return DayWindows(
        meetings_next_7_days=ActivityWindow(
            kind="meeting", due_from=now, due_before=now + timedelta(days=7)
        ),
        tasks_due_today=ActivityWindow(kind="task", due_from=now, due_before=end_of_today),
        tasks_overdue=ActivityWindow(kind="task", due_before=now),
        overdue_follow_ups=ActivityWindow(other_than="task", due_before=now),
    )


@dataclass(frozen=True, slots=True)
class ActivityItem:
    activity_id: uuid.UUID
    opportunity_id: uuid.UUID
    kind: str
    subject: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class OpenInStage:
    """A member's open opportunities of one stage and currency (the stage's name and position
    empty while the pipeline's configuration has not arrived)."""

    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage_name: str | None
    position: int | None
    currency: str
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class StageCount:
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage_name: str
    position: int
    count: int
    amounts: MoneyTotals


def stage_counts(rows: Iterable[OpenInStage], rates: Rates) -> list[StageCount]:
    """Per stage (every currency together), by pipeline then position."""
    grouped: dict[tuple[uuid.UUID, uuid.UUID], tuple[OpenInStage, int, dict[str, Decimal]]] = {}
    for row in rows:
        first, count, amounts = grouped.get((row.pipeline_id, row.stage_id), (row, 0, {}))
        add_amount(amounts, row.currency, row.amount)
        grouped[(row.pipeline_id, row.stage_id)] = (first, count + row.count, amounts)
    return sorted(
        (StageCount(first.pipeline_id, first.stage_id, first.stage_name or "",
                    first.position or 0, count, money_totals(amounts, rates))
         for first, count, amounts in grouped.values()),
        key=lambda c: (str(c.pipeline_id), c.position),
    )


@dataclass(frozen=True, slots=True)
class OpportunityItem:
    opportunity_id: uuid.UUID
    name: str
    stage_id: uuid.UUID
    amount: Decimal
    currency: str
    expected_close_date: date | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    meetings_next_7_days: list[ActivityItem]
    tasks_due_today: list[ActivityItem]
    tasks_overdue: list[ActivityItem]
    open_by_stage: list[StageCount]
    without_next_contact: list[OpportunityItem]
    without_next_contact_count: int
    overdue_follow_ups: list[ActivityItem]
    leads_held: int
    lead_cap: int | None

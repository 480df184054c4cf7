"""The caller's own dashboard: meetings, tasks, follow-ups, opportunities and leads."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from crmkit.results import answer_query
from crmkit.schema_context import gid
from services.reporting.domain import dashboard as d
from services.reporting.handlers import dashboard as h
from services.reporting.schema.context import (
    Info,
    caller,
    default_base,
    default_time_zone,
    read_uow,
)
from services.reporting.schema.money import ReportMoney, ReportMoneyTotals


@strawberry.type
class DashboardActivity:
    activity_id: strawberry.ID
    opportunity_id: strawberry.ID
    kind: str
    subject: str
    due_at: datetime

    @staticmethod
    def of(item: d.ActivityItem) -> DashboardActivity:
        return DashboardActivity(
            activity_id=gid(item.activity_id), opportunity_id=gid(item.opportunity_id),
            kind=item.kind, subject=item.subject, due_at=item.due_at,
        )


@strawberry.type
class StageCount:
    pipeline_id: strawberry.ID
    stage_id: strawberry.ID
    stage_name: str
    position: int
    count: int
    amounts: ReportMoneyTotals

    @staticmethod
    def of(c: d.StageCount) -> StageCount:
        return StageCount(
            pipeline_id=gid(c.pipeline_id), stage_id=gid(c.stage_id), stage_name=c.stage_name,
            position=c.position, count=c.count, amounts=ReportMoneyTotals.of(c.amounts),
        )


@strawberry.type
class DashboardOpportunity:
    opportunity_id: strawberry.ID
    name: str
    stage_id: strawberry.ID
    amount: ReportMoney
    expected_close_date: date | None

    @staticmethod
    def of(o: d.OpportunityItem) -> DashboardOpportunity:
        return DashboardOpportunity(
            opportunity_id=gid(o.opportunity_id), name=o.name, stage_id=gid(o.stage_id),
            amount=ReportMoney(currency=o.currency, amount=o.amount),
            expected_close_date=o.expected_close_date,
        )


@strawberry.type
class LeadsHeld:
    held: int
    cap: int | None


@strawberry.type
class Dashboard:
    meetings_next_7_days: list[DashboardActivity]
    tasks_due_today: list[DashboardActivity]
    tasks_overdue: list[DashboardActivity]
    open_opportunities_by_stage: list[StageCount]
    opportunities_without_next_contact: list[DashboardOpportunity]
    opportunities_without_next_contact_count: int
    overdue_follow_ups: list[DashboardActivity]
    leads: LeadsHeld

    @staticmethod
    def of(board: d.Dashboard) -> Dashboard:
        return Dashboard(
            meetings_next_7_days=[DashboardActivity.of(a) for a in board.meetings_next_7_days],
            tasks_due_today=[DashboardActivity.of(a) for a in board.tasks_due_today],
            tasks_overdue=[DashboardActivity.of(a) for a in board.tasks_overdue],
            open_opportunities_by_stage=[StageCount.of(c) for c in board.open_by_stage],
            opportunities_without_next_contact=[
                DashboardOpportunity.of(o) for o in board.without_next_contact
            ],
            opportunities_without_next_contact_count=board.without_next_contact_count,
            overdue_follow_ups=[DashboardActivity.of(a) for a in board.overdue_follow_ups],
            leads=LeadsHeld(held=board.leads_held, cap=board.lead_cap),
        )


@strawberry.type
class DashboardQuery:
    @strawberry.field(description="The caller's own day: meetings, tasks, follow-ups, "  # type: ignore[untyped-decorator]
                                  "opportunities and leads.")
    async def my_dashboard(self, info: Info) -> Dashboard:
        query = h.GetDashboard(caller(info), default_base(info), default_time_zone(info))
        board = h.my_dashboard(query, read_uow(info))
        return Dashboard.of(await answer_query(board))

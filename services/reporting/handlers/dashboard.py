"""The caller's own dashboard."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from crmkit.commands import Command
from crmkit.values import DEFAULT_TIME_ZONE
from services.reporting.domain.dashboard import (
    DASHBOARD_LIST_LIMIT,
    Dashboard,
    day_windows,
    stage_counts,
)
from services.reporting.handlers.common import Work, now


class GetDashboard(Command):
    default_base: str
    # The org's time zone, unless the member's token names their own.
    default_time_zone: str = DEFAULT_TIME_ZONE


async def my_dashboard(query: GetDashboard, uow: Work) -> Dashboard:
    org, me = query.caller.org_id, query.caller.member_id
    at = now()
    windows = day_windows(at, ZoneInfo(query.caller.time_zone or query.default_time_zone))
    async with uow:
        repo = uow.repo
        meetings, due_today, overdue_tasks, follow_ups = [
            await repo.open_activities(org, me, window, DASHBOARD_LIST_LIMIT)
            for window in (windows.meetings_next_7_days, windows.tasks_due_today,
                           windows.tasks_overdue, windows.overdue_follow_ups)
        ]
        rates = await repo.rates(org, query.default_base)
        open_by_stage = stage_counts(await repo.open_in_stages(org, me), rates)
        without, without_count = await repo.without_next_contact(
            org, me, at, DASHBOARD_LIST_LIMIT
        )
        held, cap = await repo.leads_held(org, me)
    return Dashboard(
        meetings_next_7_days=meetings,
        tasks_due_today=due_today,
        tasks_overdue=overdue_tasks,
        open_by_stage=open_by_stage,
        without_next_contact=without,
        without_next_contact_count=without_count,
        overdue_follow_ups=follow_ups,
        leads_held=held,
        lead_cap=cap,
    )

"""Sales analytics over one filter. :func:`open_analytics` checks the filter and who may see
it before anything is computed; each figure is then its own use case, computed when asked for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from crmkit.commands import Command
from services.reporting.domain import analytics as a
from services.reporting.domain.access import Scope, resolve_scope
from services.reporting.handlers.common import Work


class GetAnalytics(Command):
    default_base: str
    filter: a.Filter


@dataclass(frozen=True)
class Analytics:
    """Analytics the caller may see: their scope, the filter's pipeline and period."""

    scope: Scope
    pipeline_id: uuid.UUID | None
    period: a.Period
    filter: a.Filter
    default_base: str


def open_analytics(query: GetAnalytics) -> Analytics:
    flt = query.filter
    period = flt.period()
    scope = resolve_scope(query.caller, flt.owner_id, flt.team)
    return Analytics(scope, flt.pipeline_id, period, flt, query.default_base)


async def win_rate(query: Analytics, uow: Work) -> a.WinRate:
    async with uow:
        closed = await uow.repo.closed_totals(query.scope, query.pipeline_id, query.period)
        rates = await uow.repo.rates(query.scope.org_id, query.default_base)
    return a.win_rate(closed, rates)


async def time_in_stages(query: Analytics, uow: Work) -> list[a.StageDuration]:
    """Average length of finished stage visits (a visit ends when the stage changes), over
    visits that ended in the period."""
    async with uow:
        return await uow.repo.stage_durations(query.scope, query.pipeline_id, query.period)


async def sales_cycle(query: Analytics, uow: Work) -> a.SalesCycle:
    """Creation to win, for opportunities won in the period."""
    async with uow:
        return await uow.repo.sales_cycle(query.scope, query.pipeline_id, query.period)


async def lost_reasons(query: Analytics, uow: Work) -> list[a.LostReason]:
    async with uow:
        lost = await uow.repo.lost_totals(query.scope, query.pipeline_id, query.period)
        rates = await uow.repo.rates(query.scope.org_id, query.default_base)
    return a.lost_reasons(lost, rates)


async def forecast(query: Analytics, uow: Work) -> list[a.ForecastMonth]:
    """Open opportunities by expected close month, from the maintained aggregate; the period
    selects close months (opportunities without a close date come last, without a filter)."""
    first, last = query.filter.close_months()
    async with uow:
        totals = await uow.repo.open_by_close_month(query.scope, query.pipeline_id, first, last)
        rates = await uow.repo.rates(query.scope.org_id, query.default_base)
    return a.forecast(totals, rates)


async def activity_counts(query: Analytics, uow: Work) -> list[a.MemberActivity]:
    """Activities completed, and offers issued, per member in the period."""
    async with uow:
        repo = uow.repo
        completed = await repo.completed_activities(query.scope, query.period)
        offers = await repo.offers_issued(query.scope, query.pipeline_id, query.period)
        names = await repo.member_names(query.scope.org_id, sorted({*completed, *offers}))
    return a.activity_counts(completed, offers, names)


async def leaderboard(query: Analytics, uow: Work) -> list[a.LeaderboardEntry]:
    """Members by won value in the base currency when every currency has a rate, else by the
    number of wins."""
    async with uow:
        repo = uow.repo
        closed = await repo.closed_totals(query.scope, query.pipeline_id, query.period)
        rates = await repo.rates(query.scope.org_id, query.default_base)
        names = await repo.member_names(query.scope.org_id,
                                        sorted({row.owner_id for row in closed}))
    return a.leaderboard(closed, names, rates)

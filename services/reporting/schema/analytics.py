"""Sales analytics over one filter; each figure is computed when asked for."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from crmkit.graphql import Forbidden, ValidationError
from crmkit.results import ErrorUnion
from crmkit.schema_context import gid, optional_id
from services.reporting.domain import analytics as d
from services.reporting.handlers import analytics as h
from services.reporting.schema.context import Info, Uows, caller, default_base, state
from services.reporting.schema.money import ReportMoneyTotals


@strawberry.input
class AnalyticsFilter:
    from_: date | None = strawberry.field(default=None, name="from")
    to: date | None = None
    owner_id: strawberry.ID | None = None
    team: str | None = None
    pipeline_id: strawberry.ID | None = None


@strawberry.type
class CurrencyRate:
    currency: str
    rate: float | None


@strawberry.type
class WinRate:
    won_count: int
    lost_count: int
    rate_by_count: float | None
    won_amounts: ReportMoneyTotals
    closed_amounts: ReportMoneyTotals
    rate_by_value: list[CurrencyRate]
    converted_rate_by_value: float | None

    @staticmethod
    def of(w: d.WinRate) -> WinRate:
        return WinRate(
            won_count=w.won_count, lost_count=w.lost_count, rate_by_count=w.rate_by_count,
            won_amounts=ReportMoneyTotals.of(w.won_amounts),
            closed_amounts=ReportMoneyTotals.of(w.closed_amounts),
            rate_by_value=[CurrencyRate(currency=r.currency, rate=r.rate)
                           for r in w.rate_by_value],
            converted_rate_by_value=w.converted_rate_by_value,
        )


@strawberry.type
class StageDuration:
    stage_id: strawberry.ID
    stage_name: str
    visits: int
    average_seconds: float


@strawberry.type
class SalesCycle:
    won_count: int
    average_days: float | None
    median_days: float | None


@strawberry.type
class LostReasonBreakdown:
    reason_id: strawberry.ID | None
    label: str
    count: int
    amounts: ReportMoneyTotals


@strawberry.type
class ForecastMonth:
    month: date | None
    count: int
    amounts: ReportMoneyTotals
    weighted_amounts: ReportMoneyTotals


@strawberry.type
class MemberActivity:
    member_id: strawberry.ID
    name: str
    calls: int
    emails: int
    meetings: int
    tasks: int
    offers_issued: int
    total: int


@strawberry.type
class LeaderboardEntry:
    rank: int
    member_id: strawberry.ID
    name: str
    won_count: int
    lost_count: int
    won_amounts: ReportMoneyTotals


@strawberry.type(description="Sales analytics over one filter; each field is computed when "
                             "asked for.")
class SalesAnalytics:
    _query: strawberry.Private[h.Analytics]
    _uow: strawberry.Private[Uows]

    @strawberry.field
    async def win_rate(self) -> WinRate:
        return WinRate.of(await h.win_rate(self._query, self._uow()))

    @strawberry.field
    async def time_in_stages(self) -> list[StageDuration]:
        rows = await h.time_in_stages(self._query, self._uow())
        return [StageDuration(stage_id=gid(r.stage_id), stage_name=r.stage_name,
                              visits=r.visits, average_seconds=r.average_seconds) for r in rows]

    @strawberry.field
    async def sales_cycle(self) -> SalesCycle:
        c = await h.sales_cycle(self._query, self._uow())
        return SalesCycle(won_count=c.won_count, average_days=c.average_days,
                          median_days=c.median_days)

    @strawberry.field
    async def lost_reasons(self) -> list[LostReasonBreakdown]:
        rows = await h.lost_reasons(self._query, self._uow())
        return [LostReasonBreakdown(reason_id=gid(r.reason_id) if r.reason_id else None,
                                    label=r.label, count=r.count,
                                    amounts=ReportMoneyTotals.of(r.amounts)) for r in rows]

    @strawberry.field
    async def forecast(self) -> list[ForecastMonth]:
        rows = await h.forecast(self._query, self._uow())
        return [ForecastMonth(month=r.month, count=r.count,
                              amounts=ReportMoneyTotals.of(r.amounts),
                              weighted_amounts=ReportMoneyTotals.of(r.weighted_amounts))
                for r in rows]

    @strawberry.field
    async def activity_counts(self) -> list[MemberActivity]:
        rows = await h.activity_counts(self._query, self._uow())
        return [MemberActivity(member_id=gid(m.member_id), name=m.name, calls=m.calls,
                               emails=m.emails, meetings=m.meetings, tasks=m.tasks,
                               offers_issued=m.offers_issued, total=m.total) for m in rows]

    @strawberry.field
    async def leaderboard(self) -> list[LeaderboardEntry]:
        rows = await h.leaderboard(self._query, self._uow())
        return [LeaderboardEntry(rank=e.rank, member_id=gid(e.member_id), name=e.name,
                                 won_count=e.won_count, lost_count=e.lost_count,
                                 won_amounts=ReportMoneyTotals.of(e.won_amounts))
                for e in rows]


SalesAnalyticsResult = Annotated[
    SalesAnalytics | ValidationError | Forbidden, strawberry.union("SalesAnalyticsResult")
]
ANALYTICS_ERRORS: ErrorUnion[ValidationError | Forbidden] = ErrorUnion(ValidationError, Forbidden)


@strawberry.type
class AnalyticsQuery:
    @strawberry.field
    async def sales_analytics(
        self, info: Info, filter: AnalyticsFilter | None = None
    ) -> SalesAnalyticsResult:
        async def run() -> SalesAnalytics:
            flt = filter or AnalyticsFilter()
            query = h.open_analytics(h.GetAnalytics(
                caller(info),
                default_base(info),
                d.Filter(
                    date_from=flt.from_, date_to=flt.to,
                    owner_id=optional_id(flt.owner_id, "filter.ownerId"), team=flt.team,
                    pipeline_id=optional_id(flt.pipeline_id, "filter.pipelineId"),
                ),
            ))
            return SalesAnalytics(_query=query, _uow=state(info).read_uow)

        return await ANALYTICS_ERRORS.answer(run())

"""The reporting subgraph: funnel, dashboard, analytics and exchange rates (thin: the work is
in :mod:`services.reporting.queries`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.federation import Schema
from strawberry.types import Info

from crmkit import errors
from crmkit.graphql import (
    FEDERATION_VERSION,
    Forbidden,
    GraphQLContext,
    NotFound,
    ValidationError,
    build_schema,
    parse_uuid,
)
from crmkit.results import ErrorUnion
from services.reporting import domain, queries

# --- state ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportingState:
    """What resolvers reach through ``info.context.state``."""

    sessions: async_sessionmaker[AsyncSession]
    # Queries run on autocommit connections: each is one or a few statements that need no
    # transaction, and skipping BEGIN/ROLLBACK saves two round trips per request.
    read_sessions: async_sessionmaker[AsyncSession]
    base_currency: str


def _state(info: Info[GraphQLContext, None]) -> ReportingState:
    state: ReportingState = info.context.state
    return state


# --- money ------------------------------------------------------------------------------------


@strawberry.type(name="ReportMoney")
class Money:
    currency: str
    amount: Decimal


@strawberry.type(
    name="ReportMoneyTotals",
    description="Totals per currency; `converted` is their sum in the org's base currency, "
    "given only when every currency has an exchange rate.",
)
class MoneyTotals:
    by_currency: list[Money]
    converted: Money | None

    @staticmethod
    def of(totals: domain.MoneyTotals) -> MoneyTotals:
        return MoneyTotals(
            by_currency=[Money(currency=m.currency, amount=m.amount) for m in totals.by_currency],
            converted=(
                Money(currency=totals.converted.currency, amount=totals.converted.amount)
                if totals.converted else None
            ),
        )


# --- funnel -----------------------------------------------------------------------------------


@strawberry.type(description="One stage of the funnel. For an open stage: the open "
                             "opportunities in it; for a won/lost stage: those closed in it.")
class FunnelStage:
    stage_id: strawberry.ID
    name: str
    kind: str
    position: int
    probability: int
    count: int
    amounts: MoneyTotals
    weighted_amounts: MoneyTotals
    reached: int = strawberry.field(
        description="Opportunities that got at least as far as this stage."
    )
    conversion_rate: float | None = strawberry.field(
        description="Share of `reached` that went on to the next stage (null for the last)."
    )


@strawberry.type
class SalesFunnel:
    pipeline_id: strawberry.ID | None
    as_of: datetime | None
    stages: list[FunnelStage]


SalesFunnelResult = Annotated[
    SalesFunnel | ValidationError | NotFound | Forbidden,
    strawberry.union("SalesFunnelResult"),
]


def _funnel(funnel: queries.Funnel) -> SalesFunnel:
    return SalesFunnel(
        pipeline_id=strawberry.ID(str(funnel.pipeline_id)) if funnel.pipeline_id else None,
        as_of=funnel.as_of,
        stages=[
            FunnelStage(
                stage_id=strawberry.ID(str(s.stage.id)),
                name=s.stage.name,
                kind=s.stage.kind,
                position=s.stage.position,
                probability=s.stage.probability,
                count=s.count,
                amounts=MoneyTotals.of(s.amounts),
                weighted_amounts=MoneyTotals.of(s.weighted_amounts),
                reached=s.reached,
                conversion_rate=s.conversion_rate,
            )
            for s in funnel.stages
        ],
    )


# --- dashboard --------------------------------------------------------------------------------


@strawberry.type
class DashboardActivity:
    activity_id: strawberry.ID
    opportunity_id: strawberry.ID
    kind: str
    subject: str
    due_at: datetime

    @staticmethod
    def of(item: queries.ActivityItem) -> DashboardActivity:
        return DashboardActivity(
            activity_id=strawberry.ID(str(item.activity_id)),
            opportunity_id=strawberry.ID(str(item.opportunity_id)),
            kind=item.kind, subject=item.subject, due_at=item.due_at,
        )


@strawberry.type
class StageCount:
    pipeline_id: strawberry.ID
    stage_id: strawberry.ID
    stage_name: str
    position: int
    count: int
    amounts: MoneyTotals


@strawberry.type
class DashboardOpportunity:
    opportunity_id: strawberry.ID
    name: str
    stage_id: strawberry.ID
    amount: Money
    expected_close_date: date | None


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


def _dashboard(d: queries.Dashboard) -> Dashboard:
    return Dashboard(
        meetings_next_7_days=[DashboardActivity.of(a) for a in d.meetings_next_7_days],
        tasks_due_today=[DashboardActivity.of(a) for a in d.tasks_due_today],
        tasks_overdue=[DashboardActivity.of(a) for a in d.tasks_overdue],
        open_opportunities_by_stage=[
            StageCount(
                pipeline_id=strawberry.ID(str(c.pipeline_id)),
                stage_id=strawberry.ID(str(c.stage_id)),
                stage_name=c.stage_name, position=c.position, count=c.count,
                amounts=MoneyTotals.of(c.amounts),
            )
            for c in d.open_by_stage
        ],
        opportunities_without_next_contact=[
            DashboardOpportunity(
                opportunity_id=strawberry.ID(str(o.opportunity_id)), name=o.name,
                stage_id=strawberry.ID(str(o.stage_id)),
                amount=Money(currency=o.currency, amount=o.amount),
                expected_close_date=o.expected_close_date,
            )
            for o in d.without_next_contact
        ],
        opportunities_without_next_contact_count=d.without_next_contact_count,
        overdue_follow_ups=[DashboardActivity.of(a) for a in d.overdue_follow_ups],
        leads=LeadsHeld(held=d.leads_held, cap=d.lead_cap),
    )


# --- analytics --------------------------------------------------------------------------------


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
    won_amounts: MoneyTotals
    closed_amounts: MoneyTotals
    rate_by_value: list[CurrencyRate]
    converted_rate_by_value: float | None


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
    amounts: MoneyTotals


@strawberry.type
class ForecastMonth:
    month: date | None
    count: int
    amounts: MoneyTotals
    weighted_amounts: MoneyTotals


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
    won_amounts: MoneyTotals


def _id(value: uuid.UUID | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type(description="Sales analytics over one filter; each field is computed when "
                             "asked for.")
class SalesAnalytics:
    _caller: strawberry.Private[Any]
    _filter: strawberry.Private[queries.Filter]
    _state: strawberry.Private[ReportingState]

    @strawberry.field
    async def win_rate(self) -> WinRate:
        async with self._state.read_sessions() as session:
            w = await queries.win_rate(session, self._caller, self._filter,
                                       self._state.base_currency)
        return WinRate(
            won_count=w.won_count, lost_count=w.lost_count, rate_by_count=w.rate_by_count,
            won_amounts=MoneyTotals.of(w.won_amounts),
            closed_amounts=MoneyTotals.of(w.closed_amounts),
            rate_by_value=[CurrencyRate(currency=r.currency, rate=r.rate)
                           for r in w.rate_by_value],
            converted_rate_by_value=w.converted_rate_by_value,
        )

    @strawberry.field
    async def time_in_stages(self) -> list[StageDuration]:
        async with self._state.read_sessions() as session:
            rows = await queries.time_in_stages(session, self._caller, self._filter)
        return [StageDuration(stage_id=strawberry.ID(str(r.stage_id)), stage_name=r.stage_name,
                              visits=r.visits, average_seconds=r.average_seconds) for r in rows]

    @strawberry.field
    async def sales_cycle(self) -> SalesCycle:
        async with self._state.read_sessions() as session:
            c = await queries.sales_cycle(session, self._caller, self._filter)
        return SalesCycle(won_count=c.won_count, average_days=c.average_days,
                          median_days=c.median_days)

    @strawberry.field
    async def lost_reasons(self) -> list[LostReasonBreakdown]:
        async with self._state.read_sessions() as session:
            rows = await queries.lost_reasons(session, self._caller, self._filter,
                                              self._state.base_currency)
        return [LostReasonBreakdown(reason_id=_id(r.reason_id), label=r.label, count=r.count,
                           amounts=MoneyTotals.of(r.amounts)) for r in rows]

    @strawberry.field
    async def forecast(self) -> list[ForecastMonth]:
        async with self._state.read_sessions() as session:
            rows = await queries.forecast(session, self._caller, self._filter,
                                          self._state.base_currency)
        return [ForecastMonth(month=r.month, count=r.count, amounts=MoneyTotals.of(r.amounts),
                              weighted_amounts=MoneyTotals.of(r.weighted_amounts))
                for r in rows]

    @strawberry.field
    async def activity_counts(self) -> list[MemberActivity]:
        async with self._state.read_sessions() as session:
            rows = await queries.activity_counts(session, self._caller, self._filter)
        return [MemberActivity(member_id=strawberry.ID(str(m.member_id)), name=m.name,
                               calls=m.calls, emails=m.emails, meetings=m.meetings,
                               tasks=m.tasks, offers_issued=m.offers_issued, total=m.total)
                for m in rows]

    @strawberry.field
    async def leaderboard(self) -> list[LeaderboardEntry]:
        async with self._state.read_sessions() as session:
            rows = await queries.leaderboard(session, self._caller, self._filter,
                                             self._state.base_currency)
        return [LeaderboardEntry(rank=e.rank, member_id=strawberry.ID(str(e.member_id)),
                                 name=e.name, won_count=e.won_count, lost_count=e.lost_count,
                                 won_amounts=MoneyTotals.of(e.won_amounts)) for e in rows]


SalesAnalyticsResult = Annotated[
    SalesAnalytics | ValidationError | Forbidden, strawberry.union("SalesAnalyticsResult")
]


# --- exchange rates ---------------------------------------------------------------------------


@strawberry.type
class ExchangeRate:
    currency: str
    rate: Decimal


@strawberry.type
class ExchangeRates:
    base_currency: str
    rates: list[ExchangeRate]


def _rates(rates: domain.Rates) -> ExchangeRates:
    return ExchangeRates(
        base_currency=rates.base_currency,
        rates=[ExchangeRate(currency=c, rate=r) for c, r in sorted(rates.rates.items())],
    )


ExchangeRatesResult = Annotated[
    ExchangeRates | ValidationError | Forbidden, strawberry.union("ExchangeRatesResult")
]


# --- root types -------------------------------------------------------------------------------


def _optional_uuid(value: strawberry.ID | None, path: str) -> uuid.UUID | None:
    return None if value is None else parse_uuid(value, path)


@strawberry.type
class Query:
    @strawberry.field(description="The funnel of one pipeline (the default one when omitted), "  # type: ignore[untyped-decorator]
                                  "as it is now or, with `asOf`, as it stood then.")
    async def sales_funnel(
        self,
        info: Info[GraphQLContext, None],
        pipeline_id: strawberry.ID | None = None,
        owner_id: strawberry.ID | None = None,
        team: str | None = None,
        close_from: date | None = None,
        close_to: date | None = None,
        as_of: datetime | None = None,
    ) -> SalesFunnelResult:
        state = _state(info)
        try:
            async with state.read_sessions() as session:
                funnel = await queries.sales_funnel(
                    session, info.context.caller,
                    pipeline_id=_optional_uuid(pipeline_id, "pipelineId"),
                    owner_id=_optional_uuid(owner_id, "ownerId"),
                    team=team, close_from=close_from, close_to=close_to, as_of=as_of,
                    base_currency=state.base_currency,
                )
        except errors.DomainError as error:
            return FUNNEL_ERRORS.result(error)
        return _funnel(funnel)

    @strawberry.field(description="The caller's own day: meetings, tasks, follow-ups, "  # type: ignore[untyped-decorator]
                                  "opportunities and leads.")
    async def my_dashboard(self, info: Info[GraphQLContext, None]) -> Dashboard:
        state = _state(info)
        async with state.read_sessions() as session:
            dashboard = await queries.my_dashboard(
                session, info.context.caller, now=datetime.now(UTC),
                base_currency=state.base_currency,
            )
        return _dashboard(dashboard)

    @strawberry.field
    async def sales_analytics(
        self, info: Info[GraphQLContext, None], filter: AnalyticsFilter | None = None
    ) -> SalesAnalyticsResult:
        flt = filter or AnalyticsFilter()
        try:
            parsed = queries.Filter(
                date_from=flt.from_, date_to=flt.to,
                owner_id=_optional_uuid(flt.owner_id, "filter.ownerId"), team=flt.team,
                pipeline_id=_optional_uuid(flt.pipeline_id, "filter.pipelineId"),
            )
            parsed.period()
            domain.resolve_scope(info.context.caller, parsed.owner_id, parsed.team)
        except errors.DomainError as error:
            return ERRORS.result(error)
        return SalesAnalytics(_caller=info.context.caller, _filter=parsed, _state=_state(info))

    @strawberry.field
    async def exchange_rates(self, info: Info[GraphQLContext, None]) -> ExchangeRates:
        state = _state(info)
        async with state.read_sessions() as session:
            rates = await queries.exchange_rates(session, info.context.caller,
                                                 state.base_currency)
        return _rates(rates)


FUNNEL_ERRORS: ErrorUnion[ValidationError | NotFound | Forbidden] = ErrorUnion(
    ValidationError, NotFound, Forbidden
)
ERRORS: ErrorUnion[ValidationError | Forbidden] = ErrorUnion(ValidationError, Forbidden)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Admin: one unit of `currency` is worth `rate` units of "  # type: ignore[untyped-decorator]
                                     "the org's base currency.")
    async def set_exchange_rate(
        self, info: Info[GraphQLContext, None], currency: str, rate: Decimal
    ) -> ExchangeRatesResult:
        return await _change_rates(
            info, lambda s: queries.set_exchange_rate(s, info.context.caller, currency, rate)
        )

    @strawberry.mutation(description="Admin: the currency converted totals are given in; "  # type: ignore[untyped-decorator]
                                     "changing it clears the exchange rates.")
    async def set_base_currency(
        self, info: Info[GraphQLContext, None], currency: str
    ) -> ExchangeRatesResult:
        state = _state(info)
        return await _change_rates(
            info, lambda s: queries.set_base_currency(s, info.context.caller, currency,
                                                      state.base_currency)
        )


async def _change_rates(info: Info[GraphQLContext, None], change: Any) -> ExchangeRatesResult:
    state = _state(info)
    try:
        async with state.sessions() as session, session.begin():
            await change(session)
            rates = await queries.exchange_rates(session, info.context.caller,
                                                 state.base_currency)
    except errors.DomainError as error:
        return ERRORS.result(error)
    return _rates(rates)


def create_schema() -> Schema:
    """The kit's schema (federation 2.9, depth and alias limits) plus caches of parsed and
    validated documents: clients repeat the same few queries, and parsing plus validation
    otherwise cost more than answering the funnel."""
    base = build_schema(query=Query, mutation=Mutation)
    return Schema(
        query=Query,
        mutation=Mutation,
        federation_version=FEDERATION_VERSION,  # type: ignore[arg-type]
        extensions=[
            *base.extensions,
            lambda: ParserCache(maxsize=256),  # the caches live at module level
            lambda: ValidationCache(maxsize=256),
        ],
    )


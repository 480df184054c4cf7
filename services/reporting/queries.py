"""Read use cases: the funnel, the personal dashboard, analytics and exchange rates.

Every query is scoped by :func:`resolve_scope` (rep: own figures, manager: team, admin: org) and
filters on the caller's org first.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Caller
from crmkit.contracts.leads import ACTIVE_STATUSES
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError, ProblemCollector
from services.reporting import repository as repo
from services.reporting import tables as t
from services.reporting.domain import (
    ZERO,
    FunnelRow,
    FunnelStage,
    MoneyTotals,
    OpportunityFacts,
    Rates,
    Scope,
    Stage,
    assemble_funnel,
    contribution,
    furthest_stage,
    money_totals,
    resolve_scope,
    split_close_range,
    valid_currency,
)

MAX_RATE = Decimal("1000000000")


@dataclass(frozen=True, slots=True)
class Filter:
    """The filters every analytics query takes."""

    date_from: date | None = None
    date_to: date | None = None
    owner_id: uuid.UUID | None = None
    team: str | None = None
    pipeline_id: uuid.UUID | None = None

    def period(self) -> tuple[datetime | None, datetime | None]:
        """``[from 00:00, day after to 00:00)`` in UTC."""
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidInput.field("filter.to", "must not be before from")
        start = datetime.combine(self.date_from, time(), UTC) if self.date_from else None
        end = (
            datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            if self.date_to else None
        )
        return start, end


def _between(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


# --- funnel -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Funnel:
    pipeline_id: uuid.UUID | None
    as_of: datetime | None
    stages: list[FunnelStage]


async def sales_funnel(
    session: AsyncSession,
    caller: Caller,
    *,
    pipeline_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    team: str | None,
    close_from: date | None,
    close_to: date | None,
    as_of: datetime | None,
    base_currency: str,
) -> Funnel:
    scope = resolve_scope(caller, owner_id, team)
    close = None
    if close_from is not None or close_to is not None:
        close = split_close_range(close_from or date(1, 1, 1), close_to or date(9999, 12, 31))
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidInput.field("asOf", "must carry a time zone")
    chosen, stages = await repo.pipeline_stages(session, scope.org_id, pipeline_id)
    if chosen is None:
        return Funnel(None, as_of, [])  # the org has no pipeline yet
    if not stages:
        raise NotFoundError("Pipeline", chosen)
    pipeline_id = chosen
    rates = await repo.rates_of(session, scope.org_id, base_currency)
    if as_of is None:
        rows = await repo.funnel_rows(session, scope, pipeline_id, close)
    else:
        rows = await _rows_as_of(session, scope, pipeline_id, stages, as_of, close_from, close_to)
    return Funnel(pipeline_id, as_of, assemble_funnel(stages, rows, rates))


async def _rows_as_of(
    session: AsyncSession, scope: Scope, pipeline_id: uuid.UUID, stages: list[Stage],
    as_of: datetime, close_from: date | None, close_to: date | None,
) -> list[FunnelRow]:
    """The funnel from the version history: each opportunity as it stood at ``as_of``,
    through the same contribution rules as the maintained aggregate."""
    rows = []
    for version, visited in await repo.versions_as_of(session, scope, pipeline_id, as_of):
        close = version.expected_close_date
        if close_from is not None and (close is None or close < close_from):
            continue
        if close_to is not None and (close is None or close > close_to):
            continue
        facts = OpportunityFacts(
            pipeline_id=version.pipeline_id, stage_id=version.stage_id, status=version.status,
            stage_kind=version.stage_kind, owner_id=version.owner_id, team=version.team,
            currency=version.currency, amount=version.amount, probability=version.probability,
            expected_close_date=close, furthest_stage_id=furthest_stage(visited, stages),
        )
        rows += [FunnelRow(k.stage_id, k.currency, c) for k, c in contribution(facts).items()]
    return rows


# --- dashboard --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityItem:
    activity_id: uuid.UUID
    opportunity_id: uuid.UUID
    kind: str
    subject: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class StageCount:
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage_name: str
    position: int
    count: int
    amounts: MoneyTotals


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


DASHBOARD_LIST_LIMIT = 50


async def my_dashboard(
    session: AsyncSession, caller: Caller, *, now: datetime, base_currency: str
) -> Dashboard:
    org, me = caller.org_id, caller.member_id
    a = t.activities.c
    mine_open = [a.org_id == org, a.owner_id == me, a.status == "open"]
    end_of_today = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)
    start_of_today = end_of_today - timedelta(days=1)

    async def activities(*conditions: Any) -> list[ActivityItem]:
        result = await session.execute(
            select(a.activity_id, a.opportunity_id, a.kind, a.subject, a.due_at)
            .where(*mine_open, *conditions).order_by(a.due_at).limit(DASHBOARD_LIST_LIMIT)
        )
        return [ActivityItem(*row) for row in result]

    meetings = await activities(a.kind == "meeting", a.due_at >= now,
                                a.due_at < now + timedelta(days=7))
    due_today = await activities(a.kind == "task", a.due_at >= start_of_today,
                                 a.due_at < end_of_today)
    overdue_tasks = await activities(a.kind == "task", a.due_at < start_of_today)
    follow_ups = await activities(a.kind != "task", a.due_at < now)

    rates = await repo.rates_of(session, org, base_currency)
    o = t.opportunities.c
    s = t.pipeline_stages.c
    by_stage = await session.execute(
        select(o.pipeline_id, o.stage_id, s.name, s.position, o.currency, func.count(),
               func.sum(o.amount))
        .join(t.pipeline_stages, and_(s.org_id == o.org_id, s.stage_id == o.stage_id),
              isouter=True)
        .where(o.org_id == org, o.owner_id == me, o.status == "open")
        .group_by(o.pipeline_id, o.stage_id, s.name, s.position, o.currency)
    )
    grouped: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = {}
    for pipeline_id, stage_id, name, position, currency, count, amount in by_stage:
        entry = grouped.setdefault(
            (pipeline_id, stage_id),
            {"name": name or "", "position": position or 0, "count": 0, "amounts": {}},
        )
        entry["count"] += count
        entry["amounts"][currency] = amount
    open_by_stage = sorted(
        (StageCount(p, st, e["name"], e["position"], e["count"],
                    money_totals(e["amounts"], rates))
         for (p, st), e in grouped.items()),
        key=lambda c: (str(c.pipeline_id), c.position),
    )

    upcoming = select(a.activity_id).where(
        a.org_id == o.org_id, a.opportunity_id == o.opportunity_id, a.status == "open",
        a.due_at >= now,
    ).exists()
    lonely = [o.org_id == org, o.owner_id == me, o.status == "open", ~upcoming]
    without = await session.execute(
        select(o.opportunity_id, o.name, o.stage_id, o.amount, o.currency,
               o.expected_close_date)
        .where(*lonely).order_by(o.expected_close_date.nulls_last(), o.name)
        .limit(DASHBOARD_LIST_LIMIT)
    )
    without_count = await session.scalar(select(func.count()).select_from(t.opportunities)
                                         .where(*lonely))
    held, cap = await _leads_held(session, org, me)
    return Dashboard(
        meetings_next_7_days=meetings,
        tasks_due_today=due_today,
        tasks_overdue=overdue_tasks,
        open_by_stage=open_by_stage,
        without_next_contact=[OpportunityItem(*row) for row in without],
        without_next_contact_count=int(without_count or 0),
        overdue_follow_ups=follow_ups,
        leads_held=held,
        lead_cap=cap,
    )


async def _leads_held(
    session: AsyncSession, org: uuid.UUID, member: uuid.UUID
) -> tuple[int, int | None]:
    ld = t.leads.c
    held = await session.scalar(
        select(func.count()).select_from(t.leads).where(
            ld.org_id == org, ld.owner_id == member, ld.status.in_(sorted(ACTIVE_STATUSES))
        )
    )
    cap = await session.scalar(
        select(t.members.c.lead_cap).where(
            t.members.c.org_id == org, t.members.c.member_id == member
        )
    )
    if cap is None:  # no roster event yet: the cap repeated by the latest assignment
        cap = await session.scalar(
            select(ld.owner_lead_cap).where(
                ld.org_id == org, ld.owner_id == member, ld.owner_lead_cap.is_not(None)
            ).order_by(ld.version.desc()).limit(1)
        )
    return int(held or 0), cap


# --- analytics --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrencyRate:
    currency: str
    rate: float | None


@dataclass(frozen=True, slots=True)
class WinRate:
    won_count: int
    lost_count: int
    rate_by_count: float | None
    won_amounts: MoneyTotals
    closed_amounts: MoneyTotals
    rate_by_value: list[CurrencyRate]
    converted_rate_by_value: float | None


def _opp_scope(scope: Scope, flt: Filter) -> list[Any]:
    conditions = repo.scope_filter(t.opportunities, scope)
    if flt.pipeline_id is not None:
        conditions.append(t.opportunities.c.pipeline_id == flt.pipeline_id)
    return conditions


async def win_rate(
    session: AsyncSession, caller: Caller, flt: Filter, base_currency: str
) -> WinRate:
    scope = resolve_scope(caller, flt.owner_id, flt.team)
    start, end = flt.period()
    o = t.opportunities.c
    result = await session.execute(
        select(o.status, o.currency, func.count(), func.sum(o.amount))
        .where(*_opp_scope(scope, flt), o.status.in_(("won", "lost")),
               *_between(o.closed_at, start, end))
        .group_by(o.status, o.currency)
    )
    counts = {"won": 0, "lost": 0}
    won: dict[str, Decimal] = defaultdict(lambda: ZERO)
    closed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for status, currency, count, amount in result:
        counts[status] += count
        closed[currency] += amount
        if status == "won":
            won[currency] += amount
    rates = await repo.rates_of(session, scope.org_id, base_currency)
    won_totals, closed_totals = money_totals(won, rates), money_totals(closed, rates)
    total = counts["won"] + counts["lost"]
    converted_rate = None
    if won_totals.converted is not None and closed_totals.converted is not None:
        converted_rate = _ratio(won_totals.converted.amount, closed_totals.converted.amount)
    return WinRate(
        won_count=counts["won"],
        lost_count=counts["lost"],
        rate_by_count=counts["won"] / total if total else None,
        won_amounts=won_totals,
        closed_amounts=closed_totals,
        rate_by_value=[CurrencyRate(c, _ratio(won[c], closed[c])) for c in sorted(closed)],
        converted_rate_by_value=converted_rate,
    )


def _ratio(part: Decimal, whole: Decimal) -> float | None:
    return float(part / whole) if whole else None


@dataclass(frozen=True, slots=True)
class StageDuration:
    stage_id: uuid.UUID
    stage_name: str
    visits: int
    average_seconds: float


async def time_in_stages(
    session: AsyncSession, caller: Caller, flt: Filter
) -> list[StageDuration]:
    """Average length of finished stage visits (a visit ends when the stage changes), over
    visits that ended in the period."""
    scope = resolve_scope(caller, flt.owner_id, flt.team)
    start, end = flt.period()
    v = t.opportunity_versions.c
    o = t.opportunities.c
    ordered = (
        select(v.opportunity_id, v.version, v.occurred_at, v.stage_id,
               func.lag(v.stage_id)
               .over(partition_by=v.opportunity_id, order_by=v.version)
               .label("previous_stage"))
        .join(t.opportunities, and_(o.org_id == v.org_id, o.opportunity_id == v.opportunity_id))
        .where(*_opp_scope(scope, flt))
        .subquery()
    )
    entries = (
        select(ordered.c.opportunity_id, ordered.c.stage_id,
               ordered.c.occurred_at.label("entered_at"),
               func.lead(ordered.c.occurred_at).over(
                   partition_by=ordered.c.opportunity_id, order_by=ordered.c.version
               ).label("left_at"))
        .where(ordered.c.previous_stage.is_distinct_from(ordered.c.stage_id))
        .subquery()
    )
    e = entries.c
    s = t.pipeline_stages.c
    seconds = func.extract("epoch", e.left_at - e.entered_at)
    result = await session.execute(
        select(e.stage_id, func.max(s.name), func.count(), func.avg(seconds))
        .join(t.pipeline_stages, and_(s.org_id == scope.org_id, s.stage_id == e.stage_id),
              isouter=True)
        .where(e.left_at.is_not(None), *_between(e.left_at, start, end))
        .group_by(e.stage_id)
        .order_by(func.min(s.position))
    )
    return [StageDuration(r[0], r[1] or "", int(r[2]), float(r[3])) for r in result]


@dataclass(frozen=True, slots=True)
class SalesCycle:
    won_count: int
    average_days: float | None
    median_days: float | None


async def sales_cycle(session: AsyncSession, caller: Caller, flt: Filter) -> SalesCycle:
    """Creation to win, for opportunities won in the period."""
    scope = resolve_scope(caller, flt.owner_id, flt.team)
    start, end = flt.period()
    o = t.opportunities.c
    days = func.extract("epoch", o.closed_at - o.created_at) / 86400
    row = (await session.execute(
        select(func.count(), func.avg(days),
               func.percentile_cont(0.5).within_group(days))
        .where(*_opp_scope(scope, flt), o.status == "won", *_between(o.closed_at, start, end))
    )).one()
    return SalesCycle(int(row[0]), _float(row[1]), _float(row[2]))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class LostReason:
    reason_id: uuid.UUID | None
    label: str
    count: int
    amounts: MoneyTotals


async def lost_reasons(
    session: AsyncSession, caller: Caller, flt: Filter, base_currency: str
) -> list[LostReason]:
    scope = resolve_scope(caller, flt.owner_id, flt.team)
    start, end = flt.period()
    o = t.opportunities.c
    result = await session.execute(
        select(o.close_reason_id, o.close_reason_label, o.currency, func.count(),
               func.sum(o.amount))
        .where(*_opp_scope(scope, flt), o.status == "lost", *_between(o.closed_at, start, end))
        .group_by(o.close_reason_id, o.close_reason_label, o.currency)
    )
    rates = await repo.rates_of(session, scope.org_id, base_currency)
    grouped: dict[tuple[uuid.UUID | None, str], tuple[int, dict[str, Decimal]]] = {}
    for reason_id, label, currency, count, amount in result:
        total, amounts = grouped.get((reason_id, label or ""), (0, {}))
        amounts[currency] = amounts.get(currency, ZERO) + amount
        grouped[(reason_id, label or "")] = (total + count, amounts)
    reasons = [LostReason(rid, label, count, money_totals(amounts, rates))
               for (rid, label), (count, amounts) in grouped.items()]
    return sorted(reasons, key=lambda r: (-r.count, r.label))


@dataclass(frozen=True, slots=True)
class ForecastMonth:
    month: date | None
    count: int
    amounts: MoneyTotals
    weighted_amounts: MoneyTotals


async def forecast(
    session: AsyncSession, caller: Caller, flt: Filter, base_currency: str
) -> list[ForecastMonth]:
    """Open opportunities by expected close month, from the maintained aggregate; the period
    selects close months (opportunities without a close date come last, without a filter)."""
    scope = resolve_scope(caller, flt.owner_id, flt.team)
    if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
        raise InvalidInput.field("filter.to", "must not be before from")

    def where(table: Any) -> list[Any]:
        conditions = [*repo.scope_filter(table, scope), table.c.status == "open"]
        if flt.pipeline_id is not None:
            conditions.append(table.c.pipeline_id == flt.pipeline_id)
        if flt.date_from is not None:
            conditions.append(table.c.close_month >= flt.date_from.replace(day=1))
        if flt.date_to is not None:
            conditions.append(table.c.close_month <= flt.date_to)
        return conditions

    f = repo.aggregate(scope.level, where).c
    result = await session.execute(
        select(f.close_month, f.currency, func.sum(f.count), func.sum(f.amount),
               func.sum(f.weighted))
        .group_by(f.close_month, f.currency)
    )
    months: dict[date | None, tuple[int, dict[str, Decimal], dict[str, Decimal]]] = {}
    for month, currency, count, amount, weighted_amount in result:
        total, amounts, weighted = months.get(month, (0, {}, {}))
        amounts[currency] = amount
        weighted[currency] = weighted_amount
        months[month] = (total + int(count), amounts, weighted)
    rates = await repo.rates_of(session, scope.org_id, base_currency)
    ordered = sorted(months.items(), key=lambda kv: (kv[0] is None, kv[0] or date.min))
    return [
        ForecastMonth(month, count, money_totals(amounts, rates), money_totals(weighted, rates))
        for month, (count, amounts, weighted) in ordered
        if count
    ]


@dataclass(frozen=True, slots=True)
class MemberActivity:
    member_id: uuid.UUID
    name: str
    calls: int
    emails: int
    meetings: int
    tasks: int
    offers_issued: int

    @property
    def total(self) -> int:
        return self.calls + self.emails + self.meetings + self.tasks + self.offers_issued


async def activity_counts(
    session: AsyncSession, caller: Caller, flt: Filter
) -> list[MemberActivity]:
    """Activities completed, and offers issued, per member in the period."""
    scope = resolve_scope(caller, flt.owner_id, flt.team)
    start, end = flt.period()
    a = t.activities.c
    done = await session.execute(
        select(a.owner_id, a.kind, func.count())
        .where(*repo.scope_filter(t.activities, scope), a.status == "done",
               *_between(a.completed_at, start, end))
        .group_by(a.owner_id, a.kind)
    )
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for owner, kind, count in done:
        counts[owner][kind] += count
    of, o = t.offers.c, t.opportunities.c
    offers = await session.execute(
        select(o.owner_id, func.count())
        .select_from(t.offers)
        .join(t.opportunities, and_(o.org_id == of.org_id, o.opportunity_id == of.opportunity_id))
        .where(*_opp_scope(scope, flt), *_between(of.issued_at, start, end))
        .group_by(o.owner_id)
    )
    for owner, count in offers:
        counts[owner]["offers"] += count
    names = await _names(session, scope.org_id, counts)
    members = [
        MemberActivity(member, names.get(member, ""), c["call"], c["email"], c["meeting"],
                       c["task"], c["offers"])
        for member, c in counts.items()
    ]
    return sorted(members, key=lambda m: (-m.total, m.name, str(m.member_id)))


async def _names(
    session: AsyncSession, org: uuid.UUID, members: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    ids = list(members)
    if not ids:
        return {}
    m = t.members.c
    result = await session.execute(
        select(m.member_id, m.name).where(m.org_id == org, m.member_id.in_(ids))
    )
    return {member: name or "" for member, name in result}


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    rank: int
    member_id: uuid.UUID
    name: str
    won_count: int
    lost_count: int
    won_amounts: MoneyTotals


async def leaderboard(
    session: AsyncSession, caller: Caller, flt: Filter, base_currency: str
) -> list[LeaderboardEntry]:
    """Members by won value in the base currency when every currency has a rate, else by the
    number of wins."""
    scope = resolve_scope(caller, flt.owner_id, flt.team)
    start, end = flt.period()
    o = t.opportunities.c
    result = await session.execute(
        select(o.owner_id, o.status, o.currency, func.count(), func.sum(o.amount))
        .where(*_opp_scope(scope, flt), o.status.in_(("won", "lost")),
               *_between(o.closed_at, start, end))
        .group_by(o.owner_id, o.status, o.currency)
    )
    won: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(dict)
    wins: dict[uuid.UUID, int] = defaultdict(int)
    losses: dict[uuid.UUID, int] = defaultdict(int)
    for owner, status, currency, count, amount in result:
        if status == "won":
            wins[owner] += count
            won[owner][currency] = amount
        else:
            losses[owner] += count
    rates = await repo.rates_of(session, scope.org_id, base_currency)
    names = await _names(session, scope.org_id, set(wins) | set(losses))
    totals = {m: money_totals(won.get(m, {}), rates) for m in set(wins) | set(losses)}
    by_value = all(v.converted is not None for v in totals.values())

    def order(member: uuid.UUID) -> tuple[Decimal, int, str]:
        converted = totals[member].converted
        value = converted.amount if by_value and converted is not None else ZERO
        return (-value, -wins[member], names.get(member, "") + str(member))

    ranked = sorted(totals, key=order)
    return [
        LeaderboardEntry(i + 1, m, names.get(m, ""), wins[m], losses[m], totals[m])
        for i, m in enumerate(ranked)
    ]


# --- exchange rates ---------------------------------------------------------------------------


async def set_exchange_rate(
    session: AsyncSession, caller: Caller, currency: str, rate: Decimal
) -> None:
    if not caller.is_admin:
        raise ForbiddenError("only an admin sets exchange rates")
    problems = ProblemCollector()
    if not valid_currency(currency):
        problems.add("currency", "must be an ISO 4217 code such as EUR")
    if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        problems.add("rate", "must be a positive number")
    problems.raise_if_any()
    stmt = insert(t.exchange_rates).values(
        org_id=caller.org_id, currency=currency, rate=rate, updated_by=caller.member_id
    )
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["org_id", "currency"],
        set_={"rate": rate, "updated_by": caller.member_id, "updated_at": func.now()},
    ))


async def set_base_currency(
    session: AsyncSession, caller: Caller, currency: str, default_base: str
) -> None:
    """Rates are relative to the base currency, so changing it clears them."""
    if not caller.is_admin:
        raise ForbiddenError("only an admin sets the base currency")
    if not valid_currency(currency):
        raise InvalidInput.field("currency", "must be an ISO 4217 code such as EUR")
    previous = await session.scalar(
        select(t.org_settings.c.base_currency)
        .where(t.org_settings.c.org_id == caller.org_id).with_for_update()
    )
    if (previous or default_base) == currency:
        return
    stmt = insert(t.org_settings).values(org_id=caller.org_id, base_currency=currency)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["org_id"], set_={"base_currency": currency, "updated_at": func.now()},
    ))
    await session.execute(
        t.exchange_rates.delete().where(t.exchange_rates.c.org_id == caller.org_id)
    )


async def exchange_rates(session: AsyncSession, caller: Caller, base_currency: str) -> Rates:
    return await repo.rates_of(session, caller.org_id, base_currency)

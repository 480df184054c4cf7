"""Sales analytics over one filter (a period, an owner or team, a pipeline): win rate, time
in stages, sales cycle, lost reasons, forecast, activity per member and the leaderboard.
The repository sums rows; the arithmetic on those sums is here."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from crmkit.errors import InvalidInput
from services.reporting.domain.money import (
    ZERO,
    MoneyTotals,
    Rates,
    add_amount,
    money_totals,
)


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)``; an open end where None."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, moment: datetime | None) -> bool:
        """Whether ``moment`` is in the period; an unknown moment is only in an unbounded
        one (as SQL compares)."""
        return (self.start is None or (moment is not None and moment >= self.start)) and (
            self.end is None or (moment is not None and moment < self.end)
        )


@dataclass(frozen=True, slots=True)
class Filter:
    """The filters every analytics query takes."""

    date_from: date | None = None
    date_to: date | None = None
    owner_id: uuid.UUID | None = None
    team: str | None = None
    pipeline_id: uuid.UUID | None = None

    def period(self) -> Period:
        """``[from 00:00, day after to 00:00)`` in UTC."""
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidInput.field("filter.to", "must not be before from")
        start = datetime.combine(self.date_from, time(), UTC) if self.date_from else None
        end = (
            datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            if self.date_to else None
        )
        return Period(start, end)

    def close_months(self) -> tuple[date | None, date | None]:
        """The expected close months the period selects (the forecast's)."""
        self.period()
        return (self.date_from.replace(day=1) if self.date_from else None), self.date_to


def _ratio(part: Decimal, whole: Decimal) -> float | None:
    return float(part / whole) if whole else None


# --- won and lost -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClosedTotal:
    """Opportunities of one owner closed as ``status`` (won/lost) in one currency."""

    owner_id: uuid.UUID
    status: str
    currency: str
    count: int
    amount: Decimal


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


def win_rate(closed: Iterable[ClosedTotal], rates: Rates) -> WinRate:
    counts = {"won": 0, "lost": 0}
    won: dict[str, Decimal] = {}
    all_closed: dict[str, Decimal] = {}
    for row in closed:
        counts[row.status] += row.count
        add_amount(all_closed, row.currency, row.amount)
        if row.status == "won":
            add_amount(won, row.currency, row.amount)
    won_totals, closed_totals = money_totals(won, rates), money_totals(all_closed, rates)
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
        rate_by_value=[CurrencyRate(c, _ratio(won.get(c, ZERO), all_closed[c]))
                       for c in sorted(all_closed)],
        converted_rate_by_value=converted_rate,
    )


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    rank: int
    member_id: uuid.UUID
    name: str
    won_count: int
    lost_count: int
    won_amounts: MoneyTotals


def leaderboard(
    closed: Iterable[ClosedTotal], names: Mapping[uuid.UUID, str], rates: Rates
) -> list[LeaderboardEntry]:
    """Members by won value in the base currency when every currency has a rate, else by the
    number of wins."""
    won: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(dict)
    wins: dict[uuid.UUID, int] = defaultdict(int)
    losses: dict[uuid.UUID, int] = defaultdict(int)
    for row in closed:
        if row.status == "won":
            wins[row.owner_id] += row.count
            add_amount(won[row.owner_id], row.currency, row.amount)
        else:
            losses[row.owner_id] += row.count
    totals = {m: money_totals(won.get(m, {}), rates) for m in set(wins) | set(losses)}
    by_value = all(v.converted is not None for v in totals.values())

    def order(member: uuid.UUID) -> tuple[Decimal, int, str]:
        converted = totals[member].converted
        value = converted.amount if by_value and converted is not None else ZERO
        return (-value, -wins[member], names.get(member, "") + str(member))

    return [
        LeaderboardEntry(i + 1, m, names.get(m, ""), wins[m], losses[m], totals[m])
        for i, m in enumerate(sorted(totals, key=order))
    ]


@dataclass(frozen=True, slots=True)
class LostTotal:
    reason_id: uuid.UUID | None
    label: str | None
    currency: str
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LostReason:
    reason_id: uuid.UUID | None
    label: str
    count: int
    amounts: MoneyTotals


def lost_reasons(lost: Iterable[LostTotal], rates: Rates) -> list[LostReason]:
    """Per reason, most frequent first."""
    grouped: dict[tuple[uuid.UUID | None, str], tuple[int, dict[str, Decimal]]] = {}
    for row in lost:
        key = (row.reason_id, row.label or "")
        count, amounts = grouped.get(key, (0, {}))
        add_amount(amounts, row.currency, row.amount)
        grouped[key] = (count + row.count, amounts)
    reasons = [LostReason(reason_id, label, count, money_totals(amounts, rates))
               for (reason_id, label), (count, amounts) in grouped.items()]
    return sorted(reasons, key=lambda r: (-r.count, r.label))


# --- stages and cycle -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StageDuration:
    stage_id: uuid.UUID
    stage_name: str
    visits: int
    average_seconds: float


@dataclass(frozen=True, slots=True)
class SalesCycle:
    won_count: int
    average_days: float | None
    median_days: float | None


# --- forecast ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForecastTotal:
    """Open opportunities of one expected close month (None: no close date) and currency."""

    month: date | None
    currency: str
    count: int
    amount: Decimal
    weighted: Decimal


@dataclass(frozen=True, slots=True)
class ForecastMonth:
    month: date | None
    count: int
    amounts: MoneyTotals
    weighted_amounts: MoneyTotals


def forecast(totals: Iterable[ForecastTotal], rates: Rates) -> list[ForecastMonth]:
    """By close month; opportunities without a close date last; empty months left out."""
    months: dict[date | None, tuple[int, dict[str, Decimal], dict[str, Decimal]]] = {}
    for row in totals:
        count, amounts, weighted = months.get(row.month, (0, {}, {}))
        add_amount(amounts, row.currency, row.amount)
        add_amount(weighted, row.currency, row.weighted)
        months[row.month] = (count + row.count, amounts, weighted)
    ordered = sorted(months.items(), key=lambda kv: (kv[0] is None, kv[0] or date.min))
    return [
        ForecastMonth(month, count, money_totals(amounts, rates), money_totals(weighted, rates))
        for month, (count, amounts, weighted) in ordered
        if count
    ]


# --- activity ---------------------------------------------------------------------------------


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


def activity_counts(
    completed: Mapping[uuid.UUID, Mapping[str, int]],
    offers: Mapping[uuid.UUID, int],
    names: Mapping[uuid.UUID, str],
) -> list[MemberActivity]:
    """Per member (``completed``: owner -> activity kind -> count), most active first."""
    def done(member: uuid.UUID, kind: str) -> int:
        return completed.get(member, {}).get(kind, 0)

    members = [
        MemberActivity(member, names.get(member, ""), done(member, "call"),
                       done(member, "email"), done(member, "meeting"), done(member, "task"),
                       offers.get(member, 0))
        for member in set(completed) | set(offers)
    ]
    return sorted(members, key=lambda m: (-m.total, m.name, str(m.member_id)))

"""The funnel, a maintained projection.

Each opportunity *contributes* counters to a few rows of an aggregate keyed by
:class:`FunnelKey`; when an event changes an opportunity, the aggregate moves by
``contribution(new) - contribution(old)`` in the same transaction. A query then sums a handful
of aggregate rows, whatever the number of opportunities, and :func:`assemble_funnel` turns
them into stages with money and conversion rates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from crmkit.errors import InvalidInput
from crmkit.rows import build
from services.reporting.domain.money import (
    HUNDRED,
    ZERO,
    MoneyTotals,
    Rates,
    add_amount,
    money_totals,
)


def weighted(amount: Decimal, probability: int) -> Decimal:
    return amount * Decimal(probability) / HUNDRED


@dataclass(frozen=True, slots=True)
class Stage:
    id: uuid.UUID
    name: str
    position: int
    probability: int
    kind: str


@dataclass(frozen=True, slots=True)
class OpportunityFacts:
    """What of an opportunity the funnel aggregate depends on (one read-table row)."""

    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    status: str
    stage_kind: str
    owner_id: uuid.UUID
    team: str | None
    currency: str
    amount: Decimal
    probability: int
    expected_close_date: date | None
    furthest_stage_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class FunnelKey:
    """One row of the maintained funnel aggregate (the org is implied by the caller)."""

    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    status: str
    owner_id: uuid.UUID
    team: str | None
    currency: str
    # The expected close date: deltas and the day totals keep the day, the month totals
    # its month.
    close_date: date | None


@dataclass(frozen=True, slots=True)
class Counters:
    """``count``/``amount``/``weighted``: opportunities sitting in the stage (open ones in an
    open stage, closed ones in a won/lost stage). ``reached``: opportunities whose furthest
    stage is this one (conversion rates are computed from it)."""

    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    reached: int = 0

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            self.count + other.count,
            self.amount + other.amount,
            self.weighted + other.weighted,
            self.reached + other.reached,
        )

    def __neg__(self) -> Counters:
        return Counters(-self.count, -self.amount, -self.weighted, -self.reached)

    @property
    def is_zero(self) -> bool:
        return self.count == 0 and self.amount == 0 and self.weighted == 0 and self.reached == 0


FunnelDelta = dict[FunnelKey, Counters]


def sits_in_stage(status: str, stage_kind: str) -> bool:
    """An open opportunity counts in an open stage; a closed one in its won/lost stage."""
    return status == "open" if stage_kind == "open" else status != "open"


def contribution(facts: OpportunityFacts | None) -> FunnelDelta:
    """The aggregate rows one opportunity adds to."""
    if facts is None:
        return {}

    def key(stage_id: uuid.UUID) -> FunnelKey:
        return build(FunnelKey, facts, stage_id=stage_id, close_date=facts.expected_close_date)

    rows: FunnelDelta = {}
    if sits_in_stage(facts.status, facts.stage_kind):
        rows[key(facts.stage_id)] = Counters(
            count=1,
            amount=facts.amount,
            weighted=weighted(facts.amount, facts.probability),
        )
    if facts.furthest_stage_id is not None:
        furthest = key(facts.furthest_stage_id)
        rows[furthest] = rows.get(furthest, Counters()) + Counters(reached=1)
    return rows


def funnel_delta(old: OpportunityFacts | None, new: OpportunityFacts | None) -> FunnelDelta:
    """How the aggregate moves when one opportunity goes from ``old`` to ``new`` (non-zero
    rows only, in a stable order so concurrent writers lock rows in the same order)."""
    moved: FunnelDelta = {}
    for key, counters in contribution(new).items():
        moved[key] = moved.get(key, Counters()) + counters
    for key, counters in contribution(old).items():
        moved[key] = moved.get(key, Counters()) + -counters
    return dict(sorted(((k, c) for k, c in moved.items() if not c.is_zero), key=_key_order))


def _key_order(item: tuple[FunnelKey, Counters]) -> tuple[str, ...]:
    k = item[0]
    return (
        str(k.pipeline_id), str(k.stage_id), k.status, str(k.owner_id), k.team or "",
        k.currency, k.close_date.isoformat() if k.close_date else "",
    )


def furthest_stage(visited: Iterable[uuid.UUID], stages: Sequence[Stage]) -> uuid.UUID | None:
    """The visited open/won stage with the highest position (lost stages never count as
    progress); ``None`` while the pipeline's stages are unknown."""
    by_id = {s.id: s for s in stages if s.kind != "lost"}
    known = [by_id[v] for v in set(visited) if v in by_id]
    if not known:
        return None
    return max(known, key=lambda s: s.position).id


# --- the funnel's assembly --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunnelRow:
    """Summed aggregate counters of one (stage, currency)."""

    stage_id: uuid.UUID
    currency: str
    counters: Counters


@dataclass(frozen=True, slots=True)
class FunnelStage:
    stage: Stage
    count: int
    amounts: MoneyTotals
    weighted_amounts: MoneyTotals
    reached: int
    conversion_rate: float | None


@dataclass(frozen=True, slots=True)
class Funnel:
    pipeline_id: uuid.UUID | None
    as_of: datetime | None
    stages: list[FunnelStage]


def assemble_funnel(
    stages: Sequence[Stage], rows: Iterable[FunnelRow], rates: Rates | None
) -> list[FunnelStage]:
    """Per stage in order: counts and money, and the share of the opportunities that got at
    least this far which went on to the next (non-lost) stage."""
    ordered = sorted(stages, key=lambda s: s.position)
    count: dict[uuid.UUID, int] = {s.id: 0 for s in ordered}
    reached_at: dict[uuid.UUID, int] = {s.id: 0 for s in ordered}
    amounts: dict[uuid.UUID, dict[str, Decimal]] = {s.id: {} for s in ordered}
    weighted_amounts: dict[uuid.UUID, dict[str, Decimal]] = {s.id: {} for s in ordered}
    for row in rows:
        if row.stage_id not in count:
            continue  # a stage removed from the pipeline; its opportunities were moved
        c = row.counters
        count[row.stage_id] += c.count
        reached_at[row.stage_id] += c.reached
        add_amount(amounts[row.stage_id], row.currency, c.amount)
        add_amount(weighted_amounts[row.stage_id], row.currency, c.weighted)
    progress = [s for s in ordered if s.kind != "lost"]
    # Got at least as far as stage i = furthest stage at position >= i.
    at_least: dict[uuid.UUID, int] = {}
    running = 0
    for stage in reversed(progress):
        running += reached_at[stage.id]
        at_least[stage.id] = running
    result = []
    for stage in ordered:
        rate: float | None = None
        if stage.kind == "open":
            index = progress.index(stage)
            if index + 1 < len(progress) and at_least[stage.id] > 0:
                rate = at_least[progress[index + 1].id] / at_least[stage.id]
        result.append(
            FunnelStage(
                stage=stage,
                count=count[stage.id],
                amounts=money_totals(amounts[stage.id], rates),
                weighted_amounts=money_totals(weighted_amounts[stage.id], rates),
                reached=at_least.get(stage.id, 0),
                conversion_rate=rate,
            )
        )
    return result


def rows_of(contributions: Iterable[FunnelDelta]) -> list[FunnelRow]:
    """Aggregate rows of opportunities' contributions (the funnel from history, ``asOf``)."""
    return [FunnelRow(k.stage_id, k.currency, c) for delta in contributions
            for k, c in delta.items()]


# --- close ranges -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CloseRange:
    """A close-date filter split into whole months (answered from the month totals) and
    partial month segments at either end (answered from the day totals)."""

    first_month: date | None
    last_month: date | None
    partial: tuple[tuple[date, date], ...]

    @property
    def has_whole_months(self) -> bool:
        return (
            self.first_month is not None
            and self.last_month is not None
            and self.first_month <= self.last_month
        )


def _month_end(day: date) -> date:
    if day.month == 12:
        return day.replace(day=31)
    return day.replace(month=day.month + 1, day=1) - timedelta(days=1)


def _day_after(day: date) -> date | None:
    return None if day == date.max else day + timedelta(days=1)


def _day_before(day: date) -> date | None:
    return None if day == date.min else day - timedelta(days=1)


def split_close_range(close_from: date, close_to: date) -> CloseRange:
    """``[close_from, close_to]`` (inclusive) as whole months plus partial segments."""
    if close_from > close_to:
        raise InvalidInput.field("closeTo", "must not be before closeFrom")
    first_whole = close_from if close_from.day == 1 else _day_after(_month_end(close_from))
    last_whole_end = (
        close_to if close_to == _month_end(close_to) else _day_before(close_to.replace(day=1))
    )
    if first_whole is None or last_whole_end is None or first_whole > last_whole_end:
        return CloseRange(None, None, ((close_from, close_to),))
    partial: list[tuple[date, date]] = []
    if close_from < first_whole:
        partial.append((close_from, first_whole - timedelta(1)))
    if last_whole_end < close_to:
        partial.append((last_whole_end + timedelta(1), close_to))
    return CloseRange(first_whole, last_whole_end.replace(day=1), tuple(partial))


def close_range(close_from: date | None, close_to: date | None) -> CloseRange | None:
    """The close-date filter of a funnel query (None: every close date, none included)."""
    if close_from is None and close_to is None:
        return None
    return split_close_range(close_from or date.min, close_to or date.max)


def closes_within(close: date | None, close_from: date | None, close_to: date | None) -> bool:
    """Whether an expected close date passes a close filter (no date passes none)."""
    if close_from is not None and (close is None or close < close_from):
        return False
    return not (close_to is not None and (close is None or close > close_to))

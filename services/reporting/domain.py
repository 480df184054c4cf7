"""The reporting rules, free of IO: funnel contributions and their deltas, the funnel's
assembly, money totals, close-range splitting and who may see which figures.

The funnel is a maintained projection. Each opportunity *contributes* counters to a few rows of
an aggregate table keyed by :class:`FunnelKey`; when an event changes an opportunity, the
aggregate moves by ``contribution(new) - contribution(old)`` in the same transaction. A query
then sums a handful of aggregate rows, whatever the number of opportunities.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum

from crmkit.auth import Caller
from crmkit.errors import ForbiddenError, InvalidInput
from crmkit.values import CURRENCIES

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def weighted(amount: Decimal, probability: int) -> Decimal:
    return amount * Decimal(probability) / HUNDRED


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


def sits_in_stage(status: str, stage_kind: str) -> bool:
    """An open opportunity counts in an open stage; a closed one in its won/lost stage."""
    return status == "open" if stage_kind == "open" else status != "open"


def contribution(facts: OpportunityFacts | None) -> dict[FunnelKey, Counters]:
    """The aggregate rows one opportunity adds to."""
    if facts is None:
        return {}

    def key(stage_id: uuid.UUID) -> FunnelKey:
        return FunnelKey(
            pipeline_id=facts.pipeline_id,
            stage_id=stage_id,
            status=facts.status,
            owner_id=facts.owner_id,
            team=facts.team,
            currency=facts.currency,
            close_date=facts.expected_close_date,
        )

    rows: dict[FunnelKey, Counters] = {}
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


def funnel_delta(
    old: OpportunityFacts | None, new: OpportunityFacts | None
) -> dict[FunnelKey, Counters]:
    """How the aggregate moves when one opportunity goes from ``old`` to ``new`` (non-zero
    rows only, in a stable order so concurrent writers lock rows in the same order)."""
    moved: dict[FunnelKey, Counters] = {}
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


@dataclass(frozen=True, slots=True)
class Stage:
    id: uuid.UUID
    name: str
    position: int
    probability: int
    kind: str


def furthest_stage(visited: Iterable[uuid.UUID], stages: Sequence[Stage]) -> uuid.UUID | None:
    """The visited open/won stage with the highest position (lost stages never count as
    progress); ``None`` while the pipeline's stages are unknown."""
    by_id = {s.id: s for s in stages if s.kind != "lost"}
    known = [by_id[v] for v in set(visited) if v in by_id]
    if not known:
        return None
    return max(known, key=lambda s: s.position).id


# --- money -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Money:
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class MoneyTotals:
    """Totals kept per currency; ``converted`` only when every currency has a rate."""

    by_currency: tuple[Money, ...]
    converted: Money | None


@dataclass(frozen=True, slots=True)
class Rates:
    """Exchange rates of one org: one unit of ``currency`` is worth ``rate`` base units."""

    base_currency: str
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def rate(self, currency: str) -> Decimal | None:
        if currency == self.base_currency:
            return Decimal(1)
        return self.rates.get(currency)


def money_totals(amounts: Mapping[str, Decimal], rates: Rates | None) -> MoneyTotals:
    by_currency = tuple(
        Money(currency, amount) for currency, amount in sorted(amounts.items()) if amount != 0
    )
    converted: Money | None = None
    if rates is not None:
        total = ZERO
        for money in by_currency:
            rate = rates.rate(money.currency)
            if rate is None:
                break
            total += money.amount * rate
        else:
            converted = Money(rates.base_currency, total.quantize(CENT))
    return MoneyTotals(by_currency, converted)


def valid_currency(code: str) -> bool:
    """The kit's currency rule, the one every service applies."""
    return code in CURRENCIES


# --- the funnel -------------------------------------------------------------------------------


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
        per = amounts[row.stage_id]
        per[row.currency] = per.get(row.currency, ZERO) + c.amount
        per_w = weighted_amounts[row.stage_id]
        per_w[row.currency] = per_w.get(row.currency, ZERO) + c.weighted
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


# --- close ranges -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CloseRange:
    """A close-date filter split into whole months (answered from the aggregate) and partial
    month segments at either end (answered from the opportunity table)."""

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


def _month_end(month_start: date) -> date:
    return (month_start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def split_close_range(close_from: date, close_to: date) -> CloseRange:
    """``[close_from, close_to]`` (inclusive) as whole months plus partial segments."""
    if close_from > close_to:
        raise InvalidInput.field("closeTo", "must not be before closeFrom")
    first_whole = close_from if close_from.day == 1 else _month_end(close_from) + timedelta(1)
    last_whole_end = (
        close_to if close_to == _month_end(close_to) else close_to.replace(day=1) - timedelta(1)
    )
    if first_whole > last_whole_end:
        return CloseRange(None, None, ((close_from, close_to),))
    partial: list[tuple[date, date]] = []
    if close_from < first_whole:
        partial.append((close_from, first_whole - timedelta(1)))
    if last_whole_end < close_to:
        partial.append((last_whole_end + timedelta(1), close_to))
    return CloseRange(first_whole, last_whole_end.replace(day=1), tuple(partial))


# --- access -----------------------------------------------------------------------------------


class RollupLevel(IntEnum):
    """How finely the funnel totals are kept: every total exists per owner, rolled up per
    team and for the whole org, so a query reads the coarsest rows its scope allows (a few
    hundred) instead of summing the per-owner rows of a whole org."""

    OWNER = 0
    TEAM = 1
    ORG = 2


# The owner of the rows rolled up above the owner level: no member has this id.
NO_OWNER = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class Scope:
    """The rows a query may read: always one org, then an owner and/or a team."""

    org_id: uuid.UUID
    owner_id: uuid.UUID | None
    team: str | None

    @property
    def level(self) -> RollupLevel:
        """The coarsest rollup of the funnel totals that still answers this scope exactly."""
        if self.owner_id is not None:
            return RollupLevel.OWNER
        return RollupLevel.TEAM if self.team is not None else RollupLevel.ORG


def resolve_scope(caller: Caller, owner_id: uuid.UUID | None, team: str | None) -> Scope:
    """A rep sees their own figures, a manager their team's, an admin the org's."""
    scope = Scope(caller.org_id, owner_id, team)
    if caller.is_admin:
        return scope
    if caller.is_manager and caller.team is not None:
        if team is not None and team != caller.team:
            raise ForbiddenError("a manager sees their own team's figures only")
        return replace(scope, team=caller.team)
    if owner_id is not None and owner_id != caller.member_id:
        raise ForbiddenError("a sales rep sees their own figures only")
    if team is not None and team != caller.team:
        raise ForbiddenError("a sales rep sees their own figures only")
    return replace(scope, owner_id=caller.member_id)


# --- the opportunity read model ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpportunityChange:
    """One opportunity event, reduced to what the read model keeps."""

    version: int
    occurred_at: datetime
    opportunity_id: uuid.UUID
    name: str
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage_kind: str
    status: str
    owner_id: uuid.UUID
    team: str | None
    account_id: uuid.UUID | None
    amount: Decimal
    currency: str
    probability: int
    expected_close_date: date | None
    created_at: datetime | None
    from_stage_id: uuid.UUID | None = None
    # "closed" (won/lost: closed_at and reason given), "reopened", or None (keep as is).
    closing: str | None = None
    closed_at: datetime | None = None
    close_reason_id: uuid.UUID | None = None
    close_reason_label: str | None = None


@dataclass(frozen=True, slots=True)
class OpportunityState:
    """One row of the opportunity read table."""

    opportunity_id: uuid.UUID
    name: str
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage_kind: str
    status: str
    owner_id: uuid.UUID
    team: str | None
    account_id: uuid.UUID | None
    amount: Decimal
    currency: str
    probability: int
    expected_close_date: date | None
    created_at: datetime
    closed_at: datetime | None
    close_reason_id: uuid.UUID | None
    close_reason_label: str | None
    visited_stage_ids: frozenset[uuid.UUID]
    furthest_stage_id: uuid.UUID | None
    version: int
    changed_at: datetime

    @property
    def facts(self) -> OpportunityFacts:
        return OpportunityFacts(
            pipeline_id=self.pipeline_id,
            stage_id=self.stage_id,
            status=self.status,
            stage_kind=self.stage_kind,
            owner_id=self.owner_id,
            team=self.team,
            currency=self.currency,
            amount=self.amount,
            probability=self.probability,
            expected_close_date=self.expected_close_date,
            furthest_stage_id=self.furthest_stage_id,
        )


def next_state(
    old: OpportunityState | None, change: OpportunityChange, stages: Sequence[Stage]
) -> OpportunityState:
    """The read-model row after ``change``, whatever order events arrive in.

    Events carry the whole opportunity, so the newest version wins; an older one arriving late
    changes nothing but the set of visited stages (a set union, so order does not matter).
    """
    visited = {change.stage_id}
    if change.from_stage_id is not None:
        visited.add(change.from_stage_id)
    if old is not None:
        visited |= old.visited_stage_ids
    # Creation time: the earliest any event tells (events without it give their own time).
    created_at = change.created_at or change.occurred_at
    if old is not None:
        created_at = min(created_at, old.created_at)
    if old is not None and old.version >= change.version:
        return replace(
            old,
            created_at=created_at,
            visited_stage_ids=frozenset(visited),
            furthest_stage_id=furthest_stage(visited, stages) or old.furthest_stage_id,
        )
    closed_at, reason_id, reason_label = _closing(old, change)
    return OpportunityState(
        opportunity_id=change.opportunity_id,
        name=change.name,
        pipeline_id=change.pipeline_id,
        stage_id=change.stage_id,
        stage_kind=change.stage_kind,
        status=change.status,
        owner_id=change.owner_id,
        team=change.team,
        account_id=change.account_id,
        amount=change.amount,
        currency=change.currency,
        probability=change.probability,
        expected_close_date=change.expected_close_date,
        created_at=created_at,
        closed_at=closed_at,
        close_reason_id=reason_id,
        close_reason_label=reason_label,
        visited_stage_ids=frozenset(visited),
        furthest_stage_id=furthest_stage(visited, stages),
        version=change.version,
        changed_at=change.occurred_at,
    )


def _closing(
    old: OpportunityState | None, change: OpportunityChange
) -> tuple[datetime | None, uuid.UUID | None, str | None]:
    if change.closing == "closed":
        return change.closed_at or change.occurred_at, change.close_reason_id, (
            change.close_reason_label
        )
    if change.status == "open" or old is None:
        return None, None, None
    return old.closed_at, old.close_reason_id, old.close_reason_label

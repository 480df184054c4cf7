"""SQL of the read tables. Only SQLAlchemy Core constructs (no literal schema names), so the
same code writes the live schema or, through ``schema_translate_map``, a rebuild schema."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    Date,
    Row,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.reporting import tables as t
from services.reporting.domain import (
    NO_OWNER,
    CloseRange,
    Counters,
    FunnelKey,
    FunnelRow,
    OpportunityState,
    Rates,
    RollupLevel,
    Scope,
    Stage,
)


@dataclasses.dataclass(frozen=True)
class Projections:
    """The read tables, over one session: what the service's units of work carry."""

    session: AsyncSession


# --- pipelines --------------------------------------------------------------------------------


async def pipeline_version(session: AsyncSession, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> int:
    version = await session.scalar(
        select(t.pipelines.c.version)
        .where(t.pipelines.c.org_id == org_id, t.pipelines.c.pipeline_id == pipeline_id)
        .with_for_update()
    )
    return -1 if version is None else int(version)


async def save_pipeline(
    session: AsyncSession,
    org_id: uuid.UUID,
    pipeline_id: uuid.UUID,
    *,
    name: str,
    is_default: bool,
    version: int,
    stages: Sequence[Stage],
    removed_stage_ids: Sequence[uuid.UUID],
) -> None:
    row = {"org_id": org_id, "pipeline_id": pipeline_id, "name": name,
           "is_default": is_default, "version": version}
    stmt = insert(t.pipelines).values(row)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["org_id", "pipeline_id"],
            set_={"name": name, "is_default": is_default, "version": version},
        )
    )
    if is_default:
        await session.execute(
            update(t.pipelines)
            .where(t.pipelines.c.org_id == org_id, t.pipelines.c.pipeline_id != pipeline_id)
            .values(is_default=False)
        )
    listed = {s.id for s in stages}
    await session.execute(
        update(t.pipeline_stages)
        .where(
            t.pipeline_stages.c.org_id == org_id,
            t.pipeline_stages.c.pipeline_id == pipeline_id,
            or_(
                t.pipeline_stages.c.stage_id.in_(list(removed_stage_ids)),
                t.pipeline_stages.c.stage_id.not_in(list(listed)),
            ),
        )
        .values(removed=True)
    )
    if stages:
        values = [
            {"org_id": org_id, "stage_id": s.id, "pipeline_id": pipeline_id, "name": s.name,
             "position": s.position, "probability": s.probability, "kind": s.kind,
             "removed": False}
            for s in stages
        ]
        stmt = insert(t.pipeline_stages).values(values)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["org_id", "stage_id"],
                set_={c: stmt.excluded[c] for c in
                      ("pipeline_id", "name", "position", "probability", "kind", "removed")},
            )
        )


def _stages_where(pipeline: Any) -> Any:
    s = t.pipeline_stages.c
    return (
        select(s.pipeline_id, s.stage_id, s.name, s.position, s.probability, s.kind)
        .where(s.org_id == bindparam("org", type_=Uuid), s.pipeline_id == pipeline,
               s.removed.is_(False))
        .order_by(s.position)
    )


_p = t.pipelines.c
# Read per query, so built once (with bind parameters) rather than per request.
_STAGES_OF_PIPELINE = _stages_where(bindparam("pipeline", type_=Uuid))
_STAGES_OF_DEFAULT_PIPELINE = _stages_where(
    select(_p.pipeline_id).where(_p.org_id == bindparam("org", type_=Uuid))
    .order_by(_p.is_default.desc(), _p.name, _p.pipeline_id).limit(1)
    .scalar_subquery()
)


async def pipeline_stages(
    session: AsyncSession, org_id: uuid.UUID, pipeline_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, list[Stage]]:
    """The stages of ``pipeline_id``, or of the org's default pipeline when it is ``None``
    (one round trip either way)."""
    if pipeline_id is None:
        result = await session.execute(_STAGES_OF_DEFAULT_PIPELINE, {"org": org_id})
    else:
        result = await session.execute(_STAGES_OF_PIPELINE,
                                       {"org": org_id, "pipeline": pipeline_id})
    rows = result.all()
    if not rows:
        return pipeline_id, []
    return rows[0].pipeline_id, [Stage(r.stage_id, r.name, r.position, r.probability, r.kind)
                                 for r in rows]


async def move_off_removed_stages(
    session: AsyncSession, org_id: uuid.UUID, moves: Mapping[uuid.UUID, uuid.UUID],
    stages: Sequence[Stage],
) -> None:
    kinds = {s.id: s.kind for s in stages}
    o = t.opportunities.c
    for source, target in moves.items():
        await session.execute(
            update(t.opportunities)
            .where(o.org_id == org_id, o.stage_id == source)
            .values(stage_id=target, stage_kind=kinds.get(target, "open"))
        )


async def recompute_pipeline(
    session: AsyncSession, org_id: uuid.UUID, pipeline_id: uuid.UUID
) -> None:
    """After a stage change of the pipeline itself: furthest stages and the pipeline's
    aggregate rows again from the opportunity rows (the same rules as the deltas)."""
    o = t.opportunities.c
    s = t.pipeline_stages.c
    furthest = (
        select(s.stage_id)
        .where(
            s.org_id == o.org_id,
            s.pipeline_id == o.pipeline_id,
            s.removed.is_(False),
            s.kind != "lost",
            s.stage_id == func.any(o.visited_stage_ids),
        )
        .order_by(s.position.desc())
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(
        update(t.opportunities)
        .where(o.org_id == org_id, o.pipeline_id == pipeline_id)
        .values(furthest_stage_id=furthest)
    )
    # Deltas are folded by the compactor; hold its lock so none is half-way folded here.
    await session.execute(select(func.pg_advisory_xact_lock(COMPACTOR_LOCK)))
    for table in (t.funnel_deltas, t.funnel_totals, t.funnel_day_totals):
        await session.execute(
            delete(table).where(table.c.org_id == org_id, table.c.pipeline_id == pipeline_id)
        )
    sits = or_(
        and_(o.stage_kind == "open", o.status == "open"),
        and_(o.stage_kind != "open", o.status != "open"),
    )
    in_stage = select(
        o.org_id, o.pipeline_id, o.stage_id.label("stage_id"), o.status, o.owner_id, o.team,
        o.currency, o.expected_close_date.label("close_date"), literal(1).label("count"),
        o.amount.label("amount"), (o.amount * o.probability / 100).label("weighted"),
        literal(0).label("reached"),
    ).where(o.org_id == org_id, o.pipeline_id == pipeline_id, sits)
    reached = select(
        o.org_id, o.pipeline_id, o.furthest_stage_id.label("stage_id"), o.status, o.owner_id,
        o.team, o.currency, o.expected_close_date, literal(0), literal(0), literal(0),
        literal(1),
    ).where(o.org_id == org_id, o.pipeline_id == pipeline_id, o.furthest_stage_id.is_not(None))
    union = in_stage.union_all(reached).subquery()
    for totals in (t.funnel_totals, t.funnel_day_totals):
        await session.execute(_insert_rolled_up(union, totals))


def _insert_rolled_up(rows: Any, totals: Table) -> Any:
    """INSERT into ``totals`` (by month or by day) of ``rows`` (owner-level figures keyed like
    the deltas), summed at every rollup level; add ON CONFLICT where keys may exist."""
    r = rows.c
    by_month = totals is t.funnel_totals
    key = _TOTALS_KEY if by_month else _DAY_TOTALS_KEY
    close = (func.date_trunc("month", r.close_date).cast(Date).label("close_month")
             if by_month else r.close_date.label("close_date"))
    levels = [
        select(r.org_id, r.pipeline_id, literal(level.value).label("level"),
               (r.owner_id if level is RollupLevel.OWNER else literal(NO_OWNER)).label("owner_id"),
               r.stage_id, r.status,
               (literal(None, totals.c.team.type) if level is RollupLevel.ORG
                else r.team).label("team"),
               r.currency, close, *(r[c] for c in _FUNNEL_COUNTERS))
        for level in RollupLevel
    ]
    leveled = union_all(*levels).subquery("leveled")
    keys = [leveled.c[c] for c in key]
    return insert(totals).from_select(
        [*key, *_FUNNEL_COUNTERS],
        select(*keys, *(func.sum(leveled.c[c]) for c in _FUNNEL_COUNTERS)).group_by(*keys),
    )


# --- opportunities ----------------------------------------------------------------------------

_STATE_COLUMNS = (
    "opportunity_id", "name", "pipeline_id", "stage_id", "stage_kind", "status", "owner_id",
    "team", "account_id", "amount", "currency", "probability", "expected_close_date",
    "created_at", "closed_at", "close_reason_id", "close_reason_label", "visited_stage_ids",
    "furthest_stage_id", "version", "changed_at",
)


def _state(row: Row[Any]) -> OpportunityState:
    values = dict(row._mapping)
    values.pop("org_id", None)
    values["visited_stage_ids"] = frozenset(values["visited_stage_ids"])
    values["version"] = int(values["version"])
    return OpportunityState(**values)


# The opportunity path runs for every event, so its statements are built once, with bind
# parameters: SQLAlchemy then reuses their compiled form instead of building and compiling
# a statement per event (which cost more than the database work). They take a whole run of
# events at once: rows travel as parallel arrays, unnested in the database, so a run costs
# the same three round trips whatever its length.

_o = t.opportunities.c
_v = t.opportunity_versions.c
_f = t.funnel_totals.c
_s = t.pipeline_stages.c
_VERSION_COLUMNS = tuple(c.name for c in t.opportunity_versions.c)
_FUNNEL_KEY = ("pipeline_id", "stage_id", "status", "owner_id", "team", "currency",
               "close_date")
_FUNNEL_COUNTERS = ("count", "amount", "weighted", "reached")
_TOTALS_KEY = ("org_id", "pipeline_id", "level", "owner_id", "stage_id", "status", "team",
               "currency", "close_month")
_DAY_TOTALS_KEY = ("org_id", "pipeline_id", "level", "owner_id", "close_date", "team",
                   "stage_id", "status", "currency")


def _unnest(name: str, column: Any) -> Any:
    return func.unnest(bindparam(name, type_=ARRAY(column.type))).label(column.name)


def _pairs(first: str, second: str) -> Any:
    return select(func.unnest(bindparam(first, type_=ARRAY(Uuid))),
                  func.unnest(bindparam(second, type_=ARRAY(Uuid))))


_RECORD_AND_LOAD = (
    select(t.opportunities)
    .where(tuple_(_o.org_id, _o.opportunity_id).in_(_pairs("orgs", "opps")))
    .with_for_update()
    .add_cte(
        insert(t.opportunity_versions)
        .from_select(list(_VERSION_COLUMNS),
                     select(*(_unnest(f"v_{c}", _v[c]) for c in _VERSION_COLUMNS)))
        .on_conflict_do_nothing()
        .cte("recorded")
    )
)
_STAGES_OF_PIPELINES = (
    select(_s.org_id, _s.pipeline_id, _s.stage_id, _s.name, _s.position, _s.probability, _s.kind)
    .where(tuple_(_s.org_id, _s.pipeline_id).in_(_pairs("orgs", "pipelines")),
           _s.removed.is_(False))
    .order_by(_s.position)
)
# unnest() flattens an array of arrays, so the visited stages travel as one text per row.
_SAVE_COLUMNS = [c for c in ("org_id", *_STATE_COLUMNS) if c != "visited_stage_ids"]
_saved_rows = select(
    *(_unnest(f"o_{c}", _o[c]) for c in _SAVE_COLUMNS),
    func.string_to_array(func.unnest(bindparam("o_visited", type_=ARRAY(String))), ",")
    .cast(_o.visited_stage_ids.type).label("visited_stage_ids"),
)
_moved = insert(t.funnel_deltas).from_select(
    ["org_id", *_FUNNEL_KEY, *_FUNNEL_COUNTERS],
    select(*(_unnest(f"f_{c}", t.funnel_deltas.c[c])
             for c in ("org_id", *_FUNNEL_KEY, *_FUNNEL_COUNTERS))),
)
_save = insert(t.opportunities).from_select([*_SAVE_COLUMNS, "visited_stage_ids"], _saved_rows)
_SAVE_OPPORTUNITIES = _save.on_conflict_do_update(
    index_elements=["org_id", "opportunity_id"],
    set_={c: _save.excluded[c] for c in _STATE_COLUMNS if c != "opportunity_id"},
).add_cte(_moved.cte("moved"))

OpportunityRef = tuple[uuid.UUID, uuid.UUID]  # (org, opportunity) or (org, pipeline)


async def record_versions_and_load(
    session: AsyncSession, versions: Sequence[tuple[uuid.UUID, Mapping[str, Any]]],
    pipelines: Sequence[OpportunityRef],
) -> tuple[dict[OpportunityRef, OpportunityState], dict[OpportunityRef, list[Stage]]]:
    """Keep the events' version rows (``(org, version row)``), read and lock their
    opportunities, and read the stages of ``pipelines`` (``(org, pipeline)``): two round
    trips. Opportunities by ``(org, opportunity)``, stages by ``(org, pipeline)``."""
    params: dict[str, Any] = {f"v_{c}": [row[c] for _, row in versions]
                              for c in _VERSION_COLUMNS if c != "org_id"}
    params["v_org_id"] = params["orgs"] = [org for org, _ in versions]
    params["opps"] = [row["opportunity_id"] for _, row in versions]
    rows = (await session.execute(_RECORD_AND_LOAD, params)).all()
    states = {(row.org_id, row.opportunity_id): _state(row) for row in rows}
    stages: dict[OpportunityRef, list[Stage]] = {ref: [] for ref in pipelines}
    result = await session.execute(_STAGES_OF_PIPELINES, {
        "orgs": [org for org, _ in pipelines], "pipelines": [p for _, p in pipelines],
    })
    for r in result:
        stages[(r.org_id, r.pipeline_id)].append(
            Stage(r.stage_id, r.name, r.position, r.probability, r.kind))
    return states, stages


async def save_opportunities(
    session: AsyncSession, states: Sequence[tuple[uuid.UUID, OpportunityState]],
    deltas: Sequence[tuple[uuid.UUID, Mapping[FunnelKey, Counters]]],
) -> None:
    """Write the rows (``(org, state)``, each opportunity once) and move the aggregate by the
    deltas (``(org, delta)``): one round trip."""
    params: dict[str, Any] = {"o_org_id": [org for org, _ in states]}
    for c in _SAVE_COLUMNS[1:]:
        params[f"o_{c}"] = [getattr(state, c) for _, state in states]
    params["o_visited"] = [",".join(sorted(str(i) for i in state.visited_stage_ids))
                           for _, state in states]
    moved = [(org, key, counters) for org, delta in deltas for key, counters in delta.items()]
    params["f_org_id"] = [org for org, _, _ in moved]
    for c in _FUNNEL_KEY:
        params[f"f_{c}"] = [getattr(key, c) for _, key, _ in moved]
    for c in _FUNNEL_COUNTERS:
        params[f"f_{c}"] = [getattr(counters, c) for _, _, counters in moved]
    await session.execute(_SAVE_OPPORTUNITIES, params)


# --- guarded upserts of the simpler read tables -----------------------------------------------


async def upsert_if_newer(
    session: AsyncSession, table: Any, key: Sequence[str], values: dict[str, Any]
) -> None:
    """Insert the row, or overwrite it only when the stored version is older."""
    stmt = insert(table).values(values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=list(key),
            set_={c: stmt.excluded[c] for c in values if c not in key},
            where=table.c.version < stmt.excluded.version,
        )
    )


# --- funnel queries ---------------------------------------------------------------------------


def scope_filter(table: Any, scope: Scope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [table.c.org_id == scope.org_id]
    if scope.owner_id is not None:
        conditions.append(table.c.owner_id == scope.owner_id)
    if scope.team is not None:
        conditions.append(table.c.team == scope.team)
    return conditions


def aggregate(level: RollupLevel, where: Callable[[Any], list[ColumnElement[bool]]], *,
              by_day: bool = False) -> Any:
    """The funnel aggregate as it stands: the totals (by month, or ``by_day``) rolled up to
    ``level`` plus the (owner level) deltas not yet folded, both filtered by ``where(table)``
    (``close_month`` or ``close_date`` is the period column); one statement, so one snapshot.
    ``level`` must be one that ``where`` can filter exactly (``Scope.level``)."""
    totals = t.funnel_day_totals if by_day else t.funnel_totals
    period = "close_date" if by_day else "close_month"
    d = t.funnel_deltas.c
    pending = select(
        d.org_id, d.pipeline_id, d.owner_id, d.team, d.stage_id, d.status, d.currency,
        d.close_date if by_day
        else func.date_trunc("month", d.close_date).cast(Date).label("close_month"),
        *(d[c] for c in _FUNNEL_COUNTERS),
    ).subquery("pending")
    columns = ("stage_id", "status", "currency", period, *_FUNNEL_COUNTERS)
    # Above the owner level every total has NO_OWNER: saying so reads one index range.
    rolled_up = [] if level is RollupLevel.OWNER else [totals.c.owner_id == NO_OWNER]
    return union_all(
        select(*(totals.c[c] for c in columns))
        .where(totals.c.level == level.value, *rolled_up, *where(totals)),
        select(*(pending.c[c] for c in columns)).where(*where(pending)),
    ).subquery("funnel")


COMPACTOR_LOCK = 0x5245504F5254 + 2
_COMPACTABLE = select(func.max(t.funnel_deltas.c.id))


def _fold(moved: Any, totals: Table, key: tuple[str, ...]) -> Any:
    fold = _insert_rolled_up(moved, totals)
    return fold.on_conflict_do_update(
        index_elements=list(key),
        set_={c: totals.c[c] + fold.excluded[c] for c in _FUNNEL_COUNTERS},
    )


async def compact(session: AsyncSession, limit: int = 20_000, *, lock: bool = True) -> int:
    """Fold up to ``limit`` pending deltas into the month and day totals (in the caller's
    transaction); the number of day total rows moved, 0 when nothing is pending or another
    compactor is at work. ``lock=False`` for tables nobody else writes (a rebuild's)."""
    if lock and not await session.scalar(select(func.pg_try_advisory_xact_lock(COMPACTOR_LOCK))):
        return 0
    d = t.funnel_deltas.c
    upto = await session.scalar(
        select(d.id).order_by(d.id).offset(limit - 1).limit(1)
    ) or await session.scalar(_COMPACTABLE)
    if upto is None:
        return 0
    moved = delete(t.funnel_deltas).where(d.id <= upto).returning(
        *(d[c] for c in ("org_id", *_FUNNEL_KEY, *_FUNNEL_COUNTERS))
    ).cte("moved")
    months = _fold(moved, t.funnel_totals, _TOTALS_KEY).cte("months")
    days = _fold(moved, t.funnel_day_totals, _DAY_TOTALS_KEY)
    result = await session.execute(days.add_cte(moved, months))
    return int(cast(CursorResult[Any], result).rowcount or 0)


@functools.cache
def _funnel_statement(level: RollupLevel, owner: bool, team: bool, period: str | None) -> Any:
    """The summed aggregate rows of one query shape (its filters, and ``period``: None, whole
    ``months`` or ``days``), built once."""

    def where(table: Any) -> list[ColumnElement[bool]]:
        c = table.c
        conditions = [c.org_id == bindparam("org", type_=Uuid),
                      c.pipeline_id == bindparam("pipeline", type_=Uuid)]
        if owner:
            conditions.append(c.owner_id == bindparam("owner", type_=Uuid))
        if team:
            conditions.append(c.team == bindparam("team", type_=String))
        if period == "months":
            conditions += [c.close_month >= bindparam("first", type_=Date),
                           c.close_month <= bindparam("last", type_=Date)]
        if period == "days":
            conditions += [c.close_date >= bindparam("first", type_=Date),
                           c.close_date <= bindparam("last", type_=Date)]
        return conditions

    f = aggregate(level, where, by_day=period == "days").c
    return (select(f.stage_id, f.currency, func.sum(f.count), func.sum(f.amount),
                   func.sum(f.weighted), func.sum(f.reached))
            .group_by(f.stage_id, f.currency))


async def funnel_rows(
    session: AsyncSession, scope: Scope, pipeline_id: uuid.UUID, close: CloseRange | None
) -> list[FunnelRow]:
    """Summed aggregate rows: whole months from the month totals, the days of a close range
    that starts or ends inside a month from the day totals."""
    periods: list[tuple[str | None, date | None, date | None]] = []
    if close is None:
        periods.append((None, None, None))
    else:
        if close.has_whole_months:
            periods.append(("months", close.first_month, close.last_month))
        periods += [("days", start, end) for start, end in close.partial]
    rows: list[FunnelRow] = []
    for period, first, last in periods:
        statement = _funnel_statement(scope.level, scope.owner_id is not None,
                                      scope.team is not None, period)
        result = await session.execute(statement, {
            "org": scope.org_id, "pipeline": pipeline_id, "owner": scope.owner_id,
            "team": scope.team, "first": first, "last": last,
        })
        rows += [FunnelRow(r[0], r[1], Counters(int(r[2]), r[3], r[4], int(r[5])))
                 for r in result]
    return rows


async def versions_as_of(
    session: AsyncSession, scope: Scope, pipeline_id: uuid.UUID, as_of: datetime
) -> list[tuple[Row[Any], list[uuid.UUID]]]:
    """Each opportunity's latest version at ``as_of`` with the stages it had visited by then."""
    v = t.opportunity_versions.c
    history = (
        select(
            v.opportunity_id,
            func.array_agg(v.stage_id).label("visited"),
            func.max(v.version).label("version"),
        )
        .where(v.org_id == scope.org_id, v.occurred_at <= as_of)
        .group_by(v.opportunity_id)
        .subquery()
    )
    ov = t.opportunity_versions
    conditions = [*scope_filter(ov, scope), v.pipeline_id == pipeline_id]
    result = await session.execute(
        select(ov, history.c.visited)
        .join(history, and_(history.c.opportunity_id == v.opportunity_id,
                            history.c.version == v.version))
        .where(*conditions)
    )
    return [(row, list(row.visited)) for row in result]


# --- money ------------------------------------------------------------------------------------


_r = t.exchange_rates.c
_RATES = (
    select(
        select(t.org_settings.c.base_currency)
        .where(t.org_settings.c.org_id == bindparam("org", type_=Uuid))
        .scalar_subquery(),
        _r.currency, _r.rate,
    )
    .select_from(select(literal(1)).subquery())
    .outerjoin(t.exchange_rates, _r.org_id == bindparam("org", type_=Uuid))
)


async def rates_of(session: AsyncSession, org_id: uuid.UUID, default_base: str) -> Rates:
    """The org's base currency and rates, in one round trip."""
    rows = (await session.execute(_RATES, {"org": org_id})).all()
    chosen = rows[0][0] if rows and rows[0][0] else default_base
    return Rates(chosen, {row[1]: Decimal(row[2]) for row in rows if row[1] is not None})

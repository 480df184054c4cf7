"""The funnel aggregate: its totals (by close month and day, at three rollup levels) plus the
deltas not yet folded, the fold itself, a pipeline's recomputation, and the reads of the
funnel, live or as of an instant."""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    Date,
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
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.reporting import tables as t
from services.reporting.domain.access import NO_OWNER, RollupLevel, Scope
from services.reporting.domain.funnel import CloseRange, Counters, FunnelRow, Stage
from services.reporting.domain.opportunities import OpportunityVersion
from services.reporting.repository.sql import (
    DAY_TOTALS_KEY,
    FUNNEL_COUNTERS,
    FUNNEL_KEY,
    TOTALS_KEY,
    scope_filter,
    stage_of,
)

COMPACTOR_LOCK = 0x5245504F5254 + 2


def insert_rolled_up(rows: Any, totals: Table) -> Any:
    """INSERT into ``totals`` (by month or by day) of ``rows`` (owner-level figures keyed like
    the deltas), summed at every rollup level; add ON CONFLICT where keys may exist."""
    r = rows.c
    by_month = totals is t.funnel_totals
    key = TOTALS_KEY if by_month else DAY_TOTALS_KEY
    close = (func.date_trunc("month", r.close_date).cast(Date).label("close_month")
             if by_month else r.close_date.label("close_date"))
    levels = [
        select(r.org_id, r.pipeline_id, literal(level.value).label("level"),
               (r.owner_id if level is RollupLevel.OWNER else literal(NO_OWNER)).label("owner_id"),
               r.stage_id, r.status,
               (literal(None, totals.c.team.type) if level is RollupLevel.ORG
                else r.team).label("team"),
               r.currency, close, *(r[c] for c in FUNNEL_COUNTERS))
        for level in RollupLevel
    ]
    leveled = union_all(*levels).subquery("leveled")
    keys = [leveled.c[c] for c in key]
    return insert(totals).from_select(
        [*key, *FUNNEL_COUNTERS],
        select(*keys, *(func.sum(leveled.c[c]) for c in FUNNEL_COUNTERS)).group_by(*keys),
    )


def aggregate(level: RollupLevel, where: Any, *, by_day: bool = False) -> Any:
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
        *(d[c] for c in FUNNEL_COUNTERS),
    ).subquery("pending")
    columns = ("stage_id", "status", "currency", period, *FUNNEL_COUNTERS)
    # Above the owner level every total has NO_OWNER: saying so reads one index range.
    rolled_up = [] if level is RollupLevel.OWNER else [totals.c.owner_id == NO_OWNER]
    return union_all(
        select(*(totals.c[c] for c in columns))
        .where(totals.c.level == level.value, *rolled_up, *where(totals)),
        select(*(pending.c[c] for c in columns)).where(*where(pending)),
    ).subquery("funnel")


def _fold(moved: Any, totals: Table, key: tuple[str, ...]) -> Any:
    fold = insert_rolled_up(moved, totals)
    return fold.on_conflict_do_update(
        index_elements=list(key),
        set_={c: totals.c[c] + fold.excluded[c] for c in FUNNEL_COUNTERS},
    )


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
_COMPACTABLE = select(func.max(t.funnel_deltas.c.id))


class SqlFunnel:
    session: AsyncSession

    async def pipeline_stages(
        self, org_id: uuid.UUID, pipeline_id: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, list[Stage]]:
        """One round trip either way."""
        if pipeline_id is None:
            result = await self.session.execute(_STAGES_OF_DEFAULT_PIPELINE, {"org": org_id})
        else:
            result = await self.session.execute(
                _STAGES_OF_PIPELINE, {"org": org_id, "pipeline": pipeline_id}
            )
        rows = result.all()
        if not rows:
            return pipeline_id, []
        return rows[0].pipeline_id, [stage_of(r) for r in rows]

    async def funnel_rows(
        self, scope: Scope, pipeline_id: uuid.UUID, close: CloseRange | None
    ) -> list[FunnelRow]:
        """Whole months from the month totals, the days of a close range that starts or ends
        inside a month from the day totals, each at the coarsest level the scope allows."""
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
            result = await self.session.execute(statement, {
                "org": scope.org_id, "pipeline": pipeline_id, "owner": scope.owner_id,
                "team": scope.team, "first": first, "last": last,
            })
            rows += [FunnelRow(r[0], r[1], Counters(int(r[2]), r[3], r[4], int(r[5])))
                     for r in result]
        return rows

    async def versions_as_of(
        self, scope: Scope, pipeline_id: uuid.UUID, as_of: datetime
    ) -> list[OpportunityVersion]:
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
        result = await self.session.execute(
            select(ov, history.c.visited)
            .join(history, and_(history.c.opportunity_id == v.opportunity_id,
                                history.c.version == v.version))
            .where(*scope_filter(ov, scope), v.pipeline_id == pipeline_id)
        )
        return [
            OpportunityVersion(
                opportunity_id=r.opportunity_id, version=int(r.version),
                pipeline_id=r.pipeline_id, stage_id=r.stage_id, stage_kind=r.stage_kind,
                status=r.status, owner_id=r.owner_id, team=r.team, amount=r.amount,
                currency=r.currency, probability=r.probability,
                expected_close_date=r.expected_close_date,
                visited_stage_ids=frozenset(r.visited),
            )
            for r in result
        ]

    async def recompute_pipeline(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> None:
        session = self.session
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
            o.org_id, o.pipeline_id, o.furthest_stage_id.label("stage_id"), o.status,
            o.owner_id, o.team, o.currency, o.expected_close_date, literal(0), literal(0),
            literal(0), literal(1),
        ).where(o.org_id == org_id, o.pipeline_id == pipeline_id,
                o.furthest_stage_id.is_not(None))
        union = in_stage.union_all(reached).subquery()
        for totals in (t.funnel_totals, t.funnel_day_totals):
            await session.execute(insert_rolled_up(union, totals))

    async def compact_funnel(self, limit: int = 20_000, *, lock: bool = True) -> int:
        """In the caller's transaction; the number of day total rows moved."""
        session = self.session
        if lock and not await session.scalar(
            select(func.pg_try_advisory_xact_lock(COMPACTOR_LOCK))
        ):
            return 0
        d = t.funnel_deltas.c
        upto = await session.scalar(
            select(d.id).order_by(d.id).offset(limit - 1).limit(1)
        ) or await session.scalar(_COMPACTABLE)
        if upto is None:
            return 0
        moved = delete(t.funnel_deltas).where(d.id <= upto).returning(
            *(d[c] for c in ("org_id", *FUNNEL_KEY, *FUNNEL_COUNTERS))
        ).cte("moved")
        months = _fold(moved, t.funnel_totals, TOTALS_KEY).cte("months")
        days = _fold(moved, t.funnel_day_totals, DAY_TOTALS_KEY)
        result = await session.execute(days.add_cte(moved, months))
        return int(cast(CursorResult[Any], result).rowcount or 0)

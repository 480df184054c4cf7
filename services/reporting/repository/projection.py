"""Writing the read tables from events: the locks, pipelines, opportunities (the batch path)
and the guarded upserts of the simpler tables."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, String, bindparam, column, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.projections import upsert_newer
from crmkit.rows import build, values_of
from services.reporting import tables as t
from services.reporting.domain.funnel import FunnelDelta, Stage
from services.reporting.domain.opportunities import (
    OpportunityChange,
    OpportunityRef,
    OpportunityState,
)
from services.reporting.domain.records import (
    ActivityRecord,
    LeadRecord,
    MemberRecord,
    OfferRecord,
    PipelineConfiguration,
)
from services.reporting.repository.sql import (
    FUNNEL_COUNTERS,
    FUNNEL_KEY,
    pairs,
    stage_of,
    unnest,
)

# Live projectors take this lock shared for each event; a rebuild takes it exclusively for
# the moment it drains the stream's tail and swaps the schemas, so no event can be applied to
# the old tables after the new ones were read up to the stream's end.
PROJECTION_LOCK = 0x5245504F5254  # "REPORT"

_key = column("_key", String)
_LOCK_PROJECTION = select(func.pg_advisory_xact_lock_shared(PROJECTION_LOCK))
_LOCK_PIPELINE = select(func.pg_advisory_xact_lock(
    func.hashtextextended(bindparam("key", type_=String), 0)
))
# Opportunity events' locks in one round trip: the projection lock shared, then the pipelines'
# shared, then the opportunities' exclusive, each kind's keys sorted.
_LOCK_OPPORTUNITIES = select(
    func.pg_advisory_xact_lock_shared(PROJECTION_LOCK),
    select(func.count(func.pg_advisory_xact_lock_shared(func.hashtextextended(_key, 0))))
    .select_from(func.unnest(bindparam("pipelines", type_=ARRAY(String))).alias("_key"))
    .scalar_subquery(),
    select(func.count(func.pg_advisory_xact_lock(func.hashtextextended(_key, 0))))
    .select_from(func.unnest(bindparam("opportunities", type_=ARRAY(String))).alias("_key"))
    .scalar_subquery(),
)


def _pipeline_key(org: uuid.UUID, pipeline: uuid.UUID) -> str:
    return f"reporting:pipeline:{org}:{pipeline}"


def _opportunity_key(org: uuid.UUID, opportunity: uuid.UUID) -> str:
    return f"reporting:opportunity:{org}:{opportunity}"


# The opportunity path runs for every event, so its statements are built once, with bind
# parameters: SQLAlchemy then reuses their compiled form instead of building and compiling
# a statement per event (which cost more than the database work). They take a whole run of
# events at once: rows travel as parallel arrays, unnested in the database, so a run costs
# the same three round trips whatever its length.

_o = t.opportunities.c
_v = t.opportunity_versions.c
_s = t.pipeline_stages.c
_STATE_COLUMNS = (
    "opportunity_id", "name", "pipeline_id", "stage_id", "stage_kind", "status", "owner_id",
    "team", "account_id", "amount", "currency", "probability", "expected_close_date",
    "created_at", "closed_at", "close_reason_id", "close_reason_label", "visited_stage_ids",
    "furthest_stage_id", "version", "changed_at",
)
_VERSION_COLUMNS = tuple(c.name for c in t.opportunity_versions.c)

_RECORD_AND_LOAD = (
    select(t.opportunities)
    .where(tuple_(_o.org_id, _o.opportunity_id).in_(pairs("orgs", "opps")))
    .with_for_update()
    .add_cte(
        insert(t.opportunity_versions)
        .from_select(list(_VERSION_COLUMNS),
                     select(*(unnest(f"v_{c}", _v[c]) for c in _VERSION_COLUMNS)))
        .on_conflict_do_nothing()
        .cte("recorded")
    )
)
_STAGES_OF_PIPELINES = (
    select(_s.org_id, _s.pipeline_id, _s.stage_id, _s.name, _s.position, _s.probability, _s.kind)
    .where(tuple_(_s.org_id, _s.pipeline_id).in_(pairs("orgs", "pipelines")),
           _s.removed.is_(False))
    .order_by(_s.position)
)
# unnest() flattens an array of arrays, so the visited stages travel as one text per row.
_SAVE_COLUMNS = [c for c in ("org_id", *_STATE_COLUMNS) if c != "visited_stage_ids"]
_saved_rows = select(
    *(unnest(f"o_{c}", _o[c]) for c in _SAVE_COLUMNS),
    func.string_to_array(func.unnest(bindparam("o_visited", type_=ARRAY(String))), ",")
    .cast(_o.visited_stage_ids.type).label("visited_stage_ids"),
)
_moved = insert(t.funnel_deltas).from_select(
    ["org_id", *FUNNEL_KEY, *FUNNEL_COUNTERS],
    select(*(unnest(f"f_{c}", t.funnel_deltas.c[c])
             for c in ("org_id", *FUNNEL_KEY, *FUNNEL_COUNTERS))),
)
_save = insert(t.opportunities).from_select([*_SAVE_COLUMNS, "visited_stage_ids"], _saved_rows)
_SAVE_OPPORTUNITIES = _save.on_conflict_do_update(
    index_elements=["org_id", "opportunity_id"],
    set_={c: _save.excluded[c] for c in _STATE_COLUMNS if c != "opportunity_id"},
).add_cte(_moved.cte("moved"))


def _state(row: Row[Any]) -> OpportunityState:
    return build(OpportunityState, row, visited_stage_ids=frozenset(row.visited_stage_ids),
                 version=int(row.version))


class SqlProjection:
    session: AsyncSession

    # --- locks ----------------------------------------------------------------------------

    async def lock_projection(self) -> None:
        await self.session.execute(_LOCK_PROJECTION)

    async def lock_pipeline(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> None:
        await self.session.execute(_LOCK_PIPELINE, {"key": _pipeline_key(org_id, pipeline_id)})

    async def lock_opportunities(
        self, refs: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]
    ) -> None:
        if refs:
            await self.session.execute(_LOCK_OPPORTUNITIES, {
                "pipelines": sorted({_pipeline_key(org, p) for org, p, _ in refs}),
                "opportunities": sorted({_opportunity_key(org, o) for org, _, o in refs}),
            })

    # --- pipelines ------------------------------------------------------------------------

    async def pipeline_version(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> int:
        version = await self.session.scalar(
            select(t.pipelines.c.version)
            .where(t.pipelines.c.org_id == org_id, t.pipelines.c.pipeline_id == pipeline_id)
            .with_for_update()
        )
        return -1 if version is None else int(version)

    async def save_pipeline(self, org_id: uuid.UUID, pipeline: PipelineConfiguration) -> None:
        session, pipeline_id = self.session, pipeline.pipeline_id
        stmt = insert(t.pipelines).values(
            org_id=org_id, pipeline_id=pipeline_id, name=pipeline.name,
            is_default=pipeline.is_default, version=pipeline.version,
        )
        await session.execute(stmt.on_conflict_do_update(
            index_elements=["org_id", "pipeline_id"],
            set_={"name": pipeline.name, "is_default": pipeline.is_default,
                  "version": pipeline.version},
        ))
        if pipeline.is_default:
            await session.execute(
                update(t.pipelines)
                .where(t.pipelines.c.org_id == org_id, t.pipelines.c.pipeline_id != pipeline_id)
                .values(is_default=False)
            )
        await session.execute(
            update(t.pipeline_stages)
            .where(
                _s.org_id == org_id,
                _s.pipeline_id == pipeline_id,
                or_(_s.stage_id.in_(list(pipeline.removed_stage_ids)),
                    _s.stage_id.not_in([s.id for s in pipeline.stages])),
            )
            .values(removed=True)
        )
        if pipeline.stages:
            rows = insert(t.pipeline_stages).values([
                {"org_id": org_id, "stage_id": s.id, "pipeline_id": pipeline_id, "name": s.name,
                 "position": s.position, "probability": s.probability, "kind": s.kind,
                 "removed": False}
                for s in pipeline.stages
            ])
            await session.execute(rows.on_conflict_do_update(
                index_elements=["org_id", "stage_id"],
                set_={c: rows.excluded[c] for c in
                      ("pipeline_id", "name", "position", "probability", "kind", "removed")},
            ))
        kinds = {s.id: s.kind for s in pipeline.stages}
        for source, target in pipeline.moved_opportunities_to.items():
            await session.execute(
                update(t.opportunities)
                .where(_o.org_id == org_id, _o.stage_id == source)
                .values(stage_id=target, stage_kind=kinds.get(target, "open"))
            )

    # --- opportunities --------------------------------------------------------------------

    async def record_versions_and_load(
        self,
        changes: Sequence[tuple[uuid.UUID, OpportunityChange]],
        pipelines: Sequence[OpportunityRef],
    ) -> tuple[dict[OpportunityRef, OpportunityState], dict[OpportunityRef, list[Stage]]]:
        """Two round trips however many changes."""
        params: dict[str, Any] = {
            f"v_{c}": [getattr(change, c) for _, change in changes]
            for c in _VERSION_COLUMNS if c != "org_id"
        }
        params["v_org_id"] = params["orgs"] = [org for org, _ in changes]
        params["opps"] = [change.opportunity_id for _, change in changes]
        rows = (await self.session.execute(_RECORD_AND_LOAD, params)).all()
        states = {(row.org_id, row.opportunity_id): _state(row) for row in rows}
        stages: dict[OpportunityRef, list[Stage]] = {ref: [] for ref in pipelines}
        result = await self.session.execute(_STAGES_OF_PIPELINES, {
            "orgs": [org for org, _ in pipelines], "pipelines": [p for _, p in pipelines],
        })
        for r in result:
            stages[(r.org_id, r.pipeline_id)].append(stage_of(r))
        return states, stages

    async def save_opportunities(
        self,
        states: Sequence[tuple[uuid.UUID, OpportunityState]],
        deltas: Sequence[tuple[uuid.UUID, FunnelDelta]],
    ) -> None:
        """One round trip."""
        params: dict[str, Any] = {"o_org_id": [org for org, _ in states]}
        for c in _SAVE_COLUMNS[1:]:
            params[f"o_{c}"] = [getattr(state, c) for _, state in states]
        params["o_visited"] = [",".join(sorted(str(i) for i in state.visited_stage_ids))
                               for _, state in states]
        moved = [(org, key, counters) for org, delta in deltas
                 for key, counters in delta.items()]
        params["f_org_id"] = [org for org, _, _ in moved]
        for c in FUNNEL_KEY:
            params[f"f_{c}"] = [getattr(key, c) for _, key, _ in moved]
        for c in FUNNEL_COUNTERS:
            params[f"f_{c}"] = [getattr(counters, c) for _, _, counters in moved]
        await self.session.execute(_SAVE_OPPORTUNITIES, params)

    # --- the simpler read tables ----------------------------------------------------------

    async def save_activity(self, org_id: uuid.UUID, activity: ActivityRecord) -> None:
        await self.session.execute(upsert_newer(
            t.activities, values_of(activity, org_id=org_id), ("org_id", "activity_id")))

    async def save_lead(self, org_id: uuid.UUID, lead: LeadRecord) -> None:
        await self.session.execute(upsert_newer(
            t.leads, values_of(lead, org_id=org_id), ("org_id", "lead_id")))

    async def save_member(self, org_id: uuid.UUID, member: MemberRecord) -> None:
        await self.session.execute(upsert_newer(
            t.members, values_of(member, org_id=org_id), ("org_id", "member_id")))

    async def save_offer(self, org_id: uuid.UUID, offer: OfferRecord) -> None:
        await self.session.execute(upsert_newer(
            t.offers, values_of(offer, org_id=org_id), ("org_id", "offer_id")))

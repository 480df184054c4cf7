"""Org settings, pipelines with their stages, and lost reasons in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import DateTime, Integer, Uuid, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from crmkit.contracts.pipeline import DEFAULT_ORGANIZATION_LOCALE
from crmkit.errors import VersionConflictError
from services.pipeline import domain as d
from services.pipeline.repository.base import SqlBase
from services.pipeline.repository.rows import lost_reason_of, stage_of, stage_values
from services.pipeline.tables import (
    lost_reasons,
    opportunities,
    org_settings,
    pipelines,
    stage_history,
    stages,
)


class SqlConfiguration(SqlBase):
    # --- org settings ---------------------------------------------------------------------

    async def locale(self, org_id: uuid.UUID) -> d.Locale:
        value = await self.session.scalar(
            select(org_settings.c.locale).where(org_settings.c.org_id == org_id)
        )
        return d.Locale(value or DEFAULT_ORGANIZATION_LOCALE)

    async def set_locale(self, org_id: uuid.UUID, locale: d.Locale, now: datetime) -> None:
        stmt = pg_insert(org_settings).values(
            org_id=org_id, locale=locale.value, created_at=now, updated_at=now
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[org_settings.c.org_id],
                set_={"locale": stmt.excluded.locale, "updated_at": now},
            )
        )

    # --- pipelines --------------------------------------------------------------------------

    async def insert_default_pipeline(self, pipeline: d.Pipeline, now: datetime) -> bool:
        created = await self.session.execute(
            pg_insert(pipelines)
            .values(
                id=pipeline.id, org_id=pipeline.org_id, name=pipeline.name, is_default=True,
                version=pipeline.version, created_at=now, updated_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=[pipelines.c.org_id], index_where=pipelines.c.is_default
            )
            .returning(pipelines.c.id)
        )
        if created.first() is None:
            return False
        await self.session.execute(
            insert(stages), [stage_values(pipeline.org_id, s) for s in pipeline.stages]
        )
        return True

    async def add_pipeline(self, pipeline: d.Pipeline, now: datetime) -> None:
        await self.session.execute(
            insert(pipelines).values(
                id=pipeline.id, org_id=pipeline.org_id, name=pipeline.name,
                is_default=pipeline.is_default, version=pipeline.version, created_at=now,
                updated_at=now,
            )
        )
        await self.session.execute(
            insert(stages), [stage_values(pipeline.org_id, s) for s in pipeline.stages]
        )

    async def pipelines(self, org_id: uuid.UUID) -> list[d.Pipeline]:
        return await self._pipelines(org_id)

    async def pipeline(
        self, org_id: uuid.UUID, pipeline_id: uuid.UUID, *, lock: bool = False
    ) -> d.Pipeline | None:
        found = await self._pipelines(org_id, pipeline_id=pipeline_id, lock=lock)
        return found[0] if found else None

    async def _pipelines(
        self, org_id: uuid.UUID, *, pipeline_id: uuid.UUID | None = None, lock: bool = False
    ) -> list[d.Pipeline]:
        query = select(pipelines).where(pipelines.c.org_id == org_id)
        if pipeline_id is not None:
            query = query.where(pipelines.c.id == pipeline_id)
        if lock:
            query = query.with_for_update()
        rows = (await self.session.execute(
            query.order_by(pipelines.c.is_default.desc(), pipelines.c.created_at, pipelines.c.id)
        )).all()
        if not rows:
            return []
        stage_query = select(stages).where(stages.c.org_id == org_id)
        if pipeline_id is not None:
            stage_query = stage_query.where(stages.c.pipeline_id == pipeline_id)
        by_pipeline: dict[uuid.UUID, list[d.Stage]] = {r.id: [] for r in rows}
        for row in (await self.session.execute(stage_query.order_by(stages.c.position))).all():
            if row.pipeline_id in by_pipeline:
                by_pipeline[row.pipeline_id].append(stage_of(row._mapping))
        return [
            d.Pipeline(
                id=r.id, org_id=r.org_id, name=r.name, is_default=r.is_default,
                stages=by_pipeline[r.id], version=r.version,
            )
            for r in rows
        ]

    async def current_pipelines(self, org_id: uuid.UUID) -> dict[uuid.UUID, d.Pipeline]:
        async with self._own_connection() as conn:
            return await self.cache.current(conn, org_id)

    async def pipeline_of_stage(self, org_id: uuid.UUID, stage_id: uuid.UUID) -> uuid.UUID | None:
        return await self.session.scalar(
            select(stages.c.pipeline_id).where(stages.c.org_id == org_id, stages.c.id == stage_id)
        )

    async def save_pipeline(
        self, pipeline: d.Pipeline, now: datetime, removed: Sequence[uuid.UUID] = ()
    ) -> None:
        result = await self.session.execute(
            update(pipelines)
            .where(pipelines.c.id == pipeline.id, pipelines.c.org_id == pipeline.org_id,
                   pipelines.c.version == pipeline.version)
            .values(name=pipeline.name, version=pipeline.version + 1, updated_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise VersionConflictError("Pipeline", pipeline.version, pipeline.version + 1)
        pipeline.version += 1
        if removed:
            await self.session.execute(
                delete(stages).where(stages.c.org_id == pipeline.org_id, stages.c.id.in_(removed))
            )
        stmt = pg_insert(stages).values(
            [stage_values(pipeline.org_id, s) for s in pipeline.stages]
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[stages.c.id],
                set_={
                    c: stmt.excluded[c]
                    for c in ("name", "position", "probability", "kind", "rotting_days",
                              "requirements")
                },
            )
        )

    async def stage_in_use(self, org_id: uuid.UUID, stage_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(opportunities.c.id)
            .where(opportunities.c.org_id == org_id, opportunities.c.stage_id == stage_id)
            .limit(1)
        )
        return found is not None

    async def relocate_stage(
        self, org_id: uuid.UUID, from_stage: uuid.UUID, to_stage: d.Stage, now: datetime,
        actor: uuid.UUID | None,
    ) -> int:
        o = opportunities.c
        await self.session.execute(
            insert(stage_history).from_select(
                ["id", "org_id", "opportunity_id", "from_stage_id", "to_stage_id",
                 "changed_at", "changed_by", "seconds_in_previous_stage"],
                select(
                    func.gen_random_uuid(), o.org_id, o.id, o.stage_id,
                    literal(to_stage.id, Uuid),
                    literal(now, DateTime(timezone=True)),
                    literal(actor, Uuid),
                    func.greatest(
                        0, func.extract("epoch", literal(now) - o.stage_entered_at)
                    ).cast(Integer),
                ).where(o.org_id == org_id, o.stage_id == from_stage),
            )
        )
        result = await self.session.execute(
            update(opportunities)
            .where(o.org_id == org_id, o.stage_id == from_stage)
            .values(stage_id=to_stage.id, stage_entered_at=now, updated_at=now,
                    probability=to_stage.probability, version=o.version + 1)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # --- lost reasons -----------------------------------------------------------------------

    async def lost_reasons(
        self, org_id: uuid.UUID, *, include_inactive: bool = False
    ) -> list[d.LostReason]:
        query = select(lost_reasons).where(lost_reasons.c.org_id == org_id)
        if not include_inactive:
            query = query.where(lost_reasons.c.active)
        rows = await self.session.execute(query.order_by(lost_reasons.c.position))
        return [lost_reason_of(r._mapping) for r in rows.all()]

    async def lost_reason(self, org_id: uuid.UUID, reason_id: uuid.UUID) -> d.LostReason | None:
        row = (await self.session.execute(
            select(lost_reasons).where(lost_reasons.c.org_id == org_id,
                                       lost_reasons.c.id == reason_id)
        )).first()
        return lost_reason_of(row._mapping) if row else None

    async def save_lost_reasons(self, reasons: Sequence[d.LostReason]) -> None:
        if not reasons:
            return
        stmt = pg_insert(lost_reasons).values([
            {"id": r.id, "org_id": r.org_id, "code": r.code, "label": r.label,
             "position": r.position, "active": r.active}
            for r in reasons
        ])
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[lost_reasons.c.id],
                set_={"label": stmt.excluded.label, "position": stmt.excluded.position,
                      "active": stmt.excluded.active},
            )
        )

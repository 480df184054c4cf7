"""Opportunities in SQL: loading and saving one, its history and derived gate inputs, and the
hot paths (pages, references, the unlocked move) on asyncpg (:mod:`.fast`)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from crmkit.auth import Caller
from crmkit.errors import VersionConflictError
from crmkit.outbox import outbox_committed
from crmkit.paging import PageRequest
from crmkit.rows import from_columns
from crmkit.tables import org_row
from services.pipeline import domain as d
from services.pipeline.ports import MoveDecision, OpportunityQuery
from services.pipeline.repository import fast
from services.pipeline.repository.base import SqlBase
from services.pipeline.repository.rows import (
    opportunity_of,
    opportunity_values,
    stage_change_of,
)
from services.pipeline.tables import (
    activities,
    issued_offers,
    opportunities,
    owner_history,
    stage_history,
)

# Written once, when the opportunity is created.
_FIXED = ("id", "org_id", "created_at", "created_by", "lead_id")


class SqlOpportunities(SqlBase):
    async def opportunity(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, *, lock: bool = False
    ) -> d.Opportunity | None:
        query = org_row(opportunities, org_id, opportunity_id, lock=lock)
        row = (await self.session.execute(query)).first()
        return opportunity_of(row._mapping) if row else None

    async def opportunities(
        self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[d.Opportunity]:
        async with self._own_connection() as conn:
            return await fast.load_opportunities(conn, org_id, list(ids))

    async def opportunity_exists(self, opportunity_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(opportunities.c.id).where(opportunities.c.id == opportunity_id)
        )
        return found is not None

    async def add_opportunity(self, opp: d.Opportunity) -> None:
        await self.session.execute(insert(opportunities).values(opportunity_values(opp)))

    async def save_opportunity(self, opp: d.Opportunity) -> None:
        values = opportunity_values(opp)
        values["version"] = opp.version + 1
        for key in _FIXED:
            values.pop(key)
        result = await self.session.execute(
            update(opportunities)
            .where(opportunities.c.id == opp.id, opportunities.c.org_id == opp.org_id,
                   opportunities.c.version == opp.version)
            .values(values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            current = await self.session.scalar(
                select(opportunities.c.version).where(opportunities.c.id == opp.id)
            )
            raise VersionConflictError("Opportunity", opp.version, int(current or 0))
        opp.version += 1

    async def record_stage_change(self, org_id: uuid.UUID, change: d.StageChange) -> None:
        await self.session.execute(
            insert(stage_history).values(
                id=change.id, org_id=org_id, opportunity_id=change.opportunity_id,
                from_stage_id=change.from_stage_id, to_stage_id=change.to_stage_id,
                changed_at=change.changed_at, changed_by=change.changed_by,
                seconds_in_previous_stage=change.seconds_in_previous_stage,
            )
        )

    async def history(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> list[d.StageChange]:
        rows = await self.session.execute(
            select(stage_history)
            .where(stage_history.c.org_id == org_id,
                   stage_history.c.opportunity_id == opportunity_id)
            .order_by(stage_history.c.changed_at, stage_history.c.id)
        )
        return [stage_change_of(r._mapping) for r in rows.all()]

    async def record_owner_change(self, org_id: uuid.UUID, change: d.OwnerChange) -> None:
        await self.session.execute(
            insert(owner_history).values(org_id=org_id, **dataclasses.asdict(change)))

    async def handovers(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> list[d.OwnerChange]:
        rows = await self.session.execute(
            select(owner_history)
            .where(owner_history.c.org_id == org_id,
                   owner_history.c.opportunity_id == opportunity_id)
            .order_by(owner_history.c.changed_at, owner_history.c.id)
        )
        return [from_columns(d.OwnerChange, r._mapping) for r in rows.all()]

    async def refresh_next_contact(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> None:
        earliest = (
            select(func.min(activities.c.due_at))
            .where(activities.c.org_id == org_id,
                   activities.c.opportunity_id == opportunity_id,
                   activities.c.status == d.ActivityStatus.OPEN.value)
            .scalar_subquery()
        )
        await self.session.execute(
            update(opportunities)
            .where(opportunities.c.org_id == org_id, opportunities.c.id == opportunity_id)
            .values(next_contact_at=earliest)
        )

    async def mark_contact_made(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, at: datetime
    ) -> None:
        await self.session.execute(
            update(opportunities)
            .where(opportunities.c.org_id == org_id, opportunities.c.id == opportunity_id,
                   opportunities.c.contact_made_at.is_(None))
            .values(contact_made_at=at)
        )

    async def record_offer(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, opportunity_id: uuid.UUID, at: datetime
    ) -> bool:
        added = await self.session.execute(
            pg_insert(issued_offers)
            .values(offer_id=offer_id, org_id=org_id, opportunity_id=opportunity_id,
                    issued_at=at)
            .on_conflict_do_nothing()
            .returning(issued_offers.c.offer_id)
        )
        if added.first() is None:
            return False
        await self.session.execute(
            update(opportunities)
            .where(opportunities.c.org_id == org_id, opportunities.c.id == opportunity_id,
                   or_(opportunities.c.offer_issued_at.is_(None),
                       opportunities.c.offer_issued_at > at))
            .values(offer_issued_at=at)
        )
        return True

    async def first_offer_issued_at(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> datetime | None:
        first: datetime | None = await self.session.scalar(
            select(func.min(issued_offers.c.issued_at)).where(
                issued_offers.c.org_id == org_id,
                issued_offers.c.opportunity_id == opportunity_id,
            )
        )
        return first

    async def opportunity_page(
        self, caller: Caller, query: OpportunityQuery, page: PageRequest
    ) -> list[d.Opportunity]:
        async with self._own_connection() as conn:
            return await fast.opportunity_page(conn, caller, query, page)

    async def move_unlocked(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, decide: MoveDecision
    ) -> d.Opportunity | None:
        async with self._own_connection() as conn:
            opp = await fast.load_opportunity(conn, org_id, opportunity_id)
            if opp is None:
                return None
            # Possibly stale: the write applies only at the version the decision used.
            pipeline = await self.cache.trusted(conn, org_id, opp.pipeline_id)
            if pipeline is None:
                return None
            seen_version = opp.version
            decided = decide(opp, pipeline)
            if decided is None:
                return None
            change, event = decided
            if not await fast.write_move(conn, opp, seen_version, change, pipeline, event):
                # Perhaps a configuration change: the next move reloads the pipelines.
                self.cache.forget(org_id)
                return None
        outbox_committed()
        return opp

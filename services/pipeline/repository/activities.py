"""Activities in SQL; their page and the overdue claim on asyncpg (:mod:`.fast`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, text, update

from crmkit.auth import Caller
from crmkit.errors import VersionConflictError
from crmkit.paging import PageRequest
from crmkit.tables import org_row, org_rows
from services.pipeline import domain as d
from services.pipeline.ports import ActivityQuery
from services.pipeline.repository import fast
from services.pipeline.repository.base import SqlBase
from services.pipeline.repository.rows import activity_of, activity_values
from services.pipeline.tables import activities

# Written once, when the activity is scheduled.
_FIXED = ("id", "org_id", "created_at", "opportunity_id")


class SqlActivities(SqlBase):
    async def activity(
        self, org_id: uuid.UUID, activity_id: uuid.UUID, *, lock: bool = False
    ) -> d.Activity | None:
        query = org_row(activities, org_id, activity_id, lock=lock)
        row = (await self.session.execute(query)).first()
        return activity_of(row._mapping) if row else None

    async def activities(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[d.Activity]:
        query = org_rows(activities, org_id, ids)
        return [activity_of(row._mapping) for row in await self.session.execute(query)]

    async def open_activities(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, owner_id: uuid.UUID
    ) -> list[d.Activity]:
        c = activities.c
        query = (select(activities)
                 .where(c.org_id == org_id, c.opportunity_id == opportunity_id,
                        c.owner_id == owner_id, c.status == d.ActivityStatus.OPEN.value)
                 .order_by(c.due_at, c.id).with_for_update())
        return [activity_of(row._mapping) for row in await self.session.execute(query)]

    async def add_activity(self, activity: d.Activity) -> None:
        await self.session.execute(insert(activities).values(activity_values(activity)))

    async def save_activity(self, activity: d.Activity) -> None:
        values = activity_values(activity)
        for key in _FIXED:
            values.pop(key)
        result = await self.session.execute(
            update(activities)
            .where(activities.c.id == activity.id, activities.c.org_id == activity.org_id,
                   activities.c.version == activity.version - 1)
            .values(values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise VersionConflictError("Activity", activity.version - 1, activity.version)

    async def activity_page(
        self, caller: Caller, query: ActivityQuery, page: PageRequest
    ) -> list[d.Activity]:
        async with self._own_connection() as conn:
            return await fast.activity_page(conn, caller, query, page)

    async def claim_overdue(self, now: datetime, limit: int) -> list[d.Activity]:
        rows = await self.session.execute(
            text(fast.CLAIM_OVERDUE), {"now": now, "limit": limit}
        )
        return [activity_of(r._mapping) for r in rows.all()]

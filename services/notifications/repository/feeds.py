"""The members' calendar feeds: their tokens and entries, in SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert

from services.notifications import domain as d
from services.notifications.repository.base import SqlBase
from services.notifications.repository.rows import activity_of
from services.notifications.tables import accounts, activities, calendar_feeds, opportunities


class SqlFeeds(SqlBase):
    # --- calendar feed ------------------------------------------------------------------------

    async def feed_token(self, org_id: uuid.UUID, member_id: uuid.UUID) -> str | None:
        f = calendar_feeds.c
        return cast(str | None, (await self.session.execute(
            select(f.token).where(f.org_id == org_id, f.member_id == member_id)
        )).scalar_one_or_none())

    async def set_feed_token(
        self, org_id: uuid.UUID, member_id: uuid.UUID, token: str, now: datetime,
        *, replace: bool,
    ) -> str:
        statement = insert(calendar_feeds).values(
            org_id=org_id, member_id=member_id, token=token, created_at=now
        )
        statement = (
            statement.on_conflict_do_update(
                index_elements=["org_id", "member_id"],
                set_={"token": token, "created_at": now},
            )
            if replace
            else statement.on_conflict_do_nothing(index_elements=["org_id", "member_id"])
        )
        await self.session.execute(statement)
        found = await self.feed_token(org_id, member_id)
        assert found is not None
        return found

    async def feed_owner(self, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        f = calendar_feeds.c
        row = (await self.session.execute(
            select(f.org_id, f.member_id).where(f.token == token)
        )).first()
        return (row.org_id, row.member_id) if row is not None else None

    async def feed_entries(
        self, org_id: uuid.UUID, member_id: uuid.UUID, since: datetime
    ) -> list[d.FeedEntry]:
        a, o, c = activities.c, opportunities.c, accounts.c
        query = (
            select(
                activities,
                func.coalesce(o.name, "").label("deal"),
                func.coalesce(c.name, "").label("client"),
            )
            .select_from(
                activities.outerjoin(
                    opportunities, and_(o.id == a.opportunity_id, o.org_id == a.org_id)
                ).outerjoin(accounts, and_(c.id == o.account_id, c.org_id == a.org_id))
            )
            .where(
                a.org_id == org_id, a.owner_id == member_id, a.status != "cancelled",
                a.due_at >= since,
            )
            .order_by(a.due_at, a.id)
            .limit(5000)
        )
        return [
            d.FeedEntry(activity_of(r), r.deal, r.client)
            for r in await self.session.execute(query)
        ]

"""The reminder passes' reads: activities coming due, deals moved without a next step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, update

from services.notifications import domain as d
from services.notifications.repository.base import SqlBase
from services.notifications.repository.rows import activity_of, opportunity_of
from services.notifications.tables import (
    activities,
    member_preferences,
    notifications,
    opportunities,
)

_DUE = d.NotificationKind.ACTIVITY_DUE.value


class SqlReminders(SqlBase):
    # --- reminder passes ----------------------------------------------------------------------

    async def activities_coming_due(
        self, now: datetime, limit: int
    ) -> list[tuple[d.Activity, str]]:
        a, p, n, o = activities.c, member_preferences.c, notifications.c, opportunities.c
        lead_minutes = func.coalesce(p.lead_minutes, d.DEFAULT_LEAD_MINUTES)
        reminded = exists().where(
            n.org_id == a.org_id,
            n.member_id == a.owner_id,
            n.subject_id == a.id,
            n.kind == _DUE,
            n.due_at == a.due_at,
        )
        query = (
            select(activities, func.coalesce(o.name, "").label("deal"))
            .select_from(
                activities.outerjoin(
                    member_preferences, and_(p.org_id == a.org_id, p.member_id == a.owner_id)
                ).outerjoin(opportunities, and_(o.id == a.opportunity_id, o.org_id == a.org_id))
            )
            .where(
                a.status == "open",
                a.kind.in_(sorted(d.REMINDED_KINDS)),
                a.due_at > now,
                a.due_at <= now + func.make_interval(0, 0, 0, 0, 0, lead_minutes),
                ~reminded,
            )
            .order_by(a.due_at)
            .limit(limit)
        )
        return [(activity_of(r), r.deal) for r in await self.session.execute(query)]

    async def moved_opportunities(
        self, moved_before: datetime, limit: int
    ) -> list[tuple[d.Opportunity, bool]]:
        o, a = opportunities.c, activities.c
        has_open = exists().where(
            a.org_id == o.org_id, a.opportunity_id == o.id, a.status == "open"
        )
        query = (
            select(opportunities, has_open.label("has_open"))
            .where(o.moved_at.is_not(None), o.moved_at <= moved_before)
            .order_by(o.moved_at)
            .limit(limit)
            .with_for_update(of=opportunities, skip_locked=True)
        )
        return [(opportunity_of(r), bool(r.has_open)) for r in await self.session.execute(query)]

    async def moved_checked(self, opportunity: d.Opportunity) -> None:
        o = opportunities.c
        await self.session.execute(
            update(opportunities)
            .where(o.id == opportunity.id, o.org_id == opportunity.org_id,
                   or_(o.moved_at == opportunity.moved_at, o.moved_at.is_(None)))
            .values(moved_at=None)
        )

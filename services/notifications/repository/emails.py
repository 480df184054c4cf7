"""The outgoing emails and the daily digests, in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult

from crmkit.rows import build, values_of
from services.notifications import domain as d
from services.notifications.repository.base import SqlBase
from services.notifications.repository.rows import activity_of, opportunity_of, preferences_of
from services.notifications.tables import (
    activities,
    emails,
    leads,
    member_preferences,
    opportunities,
)


def _email(row: Row[Any]) -> d.Email:
    return build(d.Email, row)


class SqlEmails(SqlBase):
    # --- email --------------------------------------------------------------------------------

    async def add_emails(self, items: Sequence[d.Email]) -> int:
        if not items:
            return 0
        # A new email is due at once unless a later first attempt is given.
        statement = insert(emails).values([
            values_of(e, next_attempt_at=e.next_attempt_at or e.created_at) for e in items
        ]).on_conflict_do_nothing(index_elements=["id"])
        result = cast(CursorResult[Any], await self.session.execute(statement))
        return result.rowcount

    async def due_emails(self, now: datetime, limit: int) -> list[d.Email]:
        e = emails.c
        query = (
            select(emails)
            .where(e.status == "pending", e.next_attempt_at <= now)
            .order_by(e.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_email(r) for r in await self.session.execute(query)]

    async def email_done(self, email: d.Email) -> None:
        e = emails.c
        await self.session.execute(
            update(emails)
            .where(e.id == email.id, e.org_id == email.org_id)
            .values(
                status=email.status,
                attempts=email.attempts,
                next_attempt_at=email.next_attempt_at or email.created_at,
                last_error=email.last_error,
                sent_at=email.sent_at,
            )
        )

    async def digest_members(self, now: datetime) -> list[d.MemberPreferences]:
        p, e = member_preferences.c, emails.c
        local_hour = func.extract("hour", func.timezone(p.time_zone, now))
        recent = exists().where(
            e.org_id == p.org_id,
            e.member_id == p.member_id,
            e.kind == d.DIGEST,
            e.created_at > now - timedelta(hours=20),
        )
        query = select(member_preferences).where(
            p.email.is_not(None), p.digest_hour.is_not(None), p.digest_hour == local_hour,
            ~recent,
        )
        return [preferences_of(r) for r in await self.session.execute(query)]

    async def digest(
        self, prefs: d.MemberPreferences, start: datetime, end: datetime, now: datetime
    ) -> d.Digest:
        a, o, c = activities.c, opportunities.c, leads.c
        mine = (a.org_id == prefs.org_id, a.owner_id == prefs.member_id, a.status == "open")
        today = [activity_of(r) for r in await self.session.execute(
            select(activities).where(
                *mine, a.kind.in_(sorted(d.REMINDED_KINDS)), a.due_at >= start, a.due_at < end,
                a.due_at >= now,
            ).order_by(a.due_at, a.id)
        )]
        overdue = [activity_of(r) for r in await self.session.execute(
            select(activities).where(*mine, a.due_at < now).order_by(a.due_at, a.id)
        )]
        has_open = exists().where(
            a.org_id == o.org_id, a.opportunity_id == o.id, a.status == "open"
        )
        bare = [opportunity_of(r) for r in await self.session.execute(
            select(opportunities).where(
                o.org_id == prefs.org_id, o.owner_id == prefs.member_id, o.status == "open",
                ~has_open,
            ).order_by(o.name, o.id)
        )]
        pool = (await self.session.execute(
            select(func.count()).where(
                c.org_id == prefs.org_id, c.owner_id.is_(None), c.status == "NEW"
            )
        )).scalar_one()
        deal_ids = list({x.opportunity_id for x in today + overdue})
        names = {r.id: r.name for r in await self.session.execute(
            select(o.id, o.name).where(o.org_id == prefs.org_id, o.id.in_(deal_ids))
        )} if deal_ids else {}
        return d.Digest(
            day=start.date(), today=today, overdue=overdue, no_next_contact=bare,
            pool_leads=int(pool), deal_names=names,
        )

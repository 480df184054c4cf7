"""The members' notifications and their preferences, in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult

from crmkit.paging import PageRequest
from crmkit.rows import build, values_of
from services.notifications import domain as d
from services.notifications.repository.base import SqlBase
from services.notifications.repository.rows import preferences_of
from services.notifications.tables import emails, member_preferences, notifications


def _notification(row: Row[Any]) -> d.Notification:
    """A notification row, joined with its email's ``email_status`` and ``email_error``."""
    return build(d.Notification, row, kind=d.NotificationKind(row.kind))


class SqlNotifications(SqlBase):
    # --- notifications ------------------------------------------------------------------------

    async def add_notifications(self, items: Sequence[d.Notification]) -> int:
        if not items:
            return 0
        # The email's state is the emails table's (joined in when read).
        statement = insert(notifications).values([
            values_of(n, omit=("email_status", "email_error"), kind=n.kind.value)
            for n in items
        ]).on_conflict_do_nothing(index_elements=["id"])
        result = cast(CursorResult[Any], await self.session.execute(statement))
        return result.rowcount

    async def notifications(
        self,
        org_id: uuid.UUID,
        member_id: uuid.UUID,
        *,
        unread_only: bool,
        page: PageRequest,
    ) -> list[d.Notification]:
        n, e = notifications.c, emails.c
        query = (
            select(
                notifications,
                e.status.label("email_status"),
                e.last_error.label("email_error"),
            )
            .select_from(notifications.outerjoin(emails, e.id == n.id))
            .where(n.org_id == org_id, n.member_id == member_id, n.in_app)
        )
        if unread_only:
            query = query.where(n.read_at.is_(None))
        if page.after is not None:
            query = query.where(tuple_(n.created_at, n.id) < tuple_(*page.after))
        query = query.order_by(n.created_at.desc(), n.id.desc()).limit(page.fetch)
        return [_notification(r) for r in await self.session.execute(query)]

    async def unread_count(self, org_id: uuid.UUID, member_id: uuid.UUID) -> int:
        n = notifications.c
        query = select(func.count()).where(
            n.org_id == org_id, n.member_id == member_id, n.in_app, n.read_at.is_(None)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def mark_read(
        self,
        org_id: uuid.UUID,
        member_id: uuid.UUID,
        ids: Sequence[uuid.UUID] | None,
        now: datetime,
    ) -> int:
        n = notifications.c
        statement = update(notifications).where(
            n.org_id == org_id, n.member_id == member_id, n.read_at.is_(None)
        )
        if ids is not None:
            statement = statement.where(n.id.in_(list(ids)))
        result = cast(
            CursorResult[Any], await self.session.execute(statement.values(read_at=now))
        )
        return result.rowcount

    # --- preferences --------------------------------------------------------------------------

    async def preferences(
        self, org_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, d.MemberPreferences]:
        if not member_ids:
            return {}
        p = member_preferences.c
        query = select(member_preferences).where(
            p.org_id == org_id, p.member_id.in_(list(member_ids))
        )
        return {r.member_id: preferences_of(r) for r in await self.session.execute(query)}

    async def save_preferences(self, prefs: d.MemberPreferences) -> bool:
        values = {
            "email": prefs.email,
            "language": prefs.language,
            "time_zone": prefs.time_zone,
            "digest_hour": prefs.digest_hour,
            "lead_minutes": prefs.lead_minutes,
            "channels": {
                kind.value: {"in_app": c.in_app, "email": c.email}
                for kind, c in prefs.channels.items()
            },
            "version": prefs.version,
            "updated_at": func.now(),
        }
        p = member_preferences.c
        statement = (
            insert(member_preferences)
            .values(org_id=prefs.org_id, member_id=prefs.member_id, **values)
            .on_conflict_do_update(
                index_elements=["org_id", "member_id"],
                set_=values,
                where=p.version == prefs.version - 1,
            )
        )
        result = cast(CursorResult[Any], await self.session.execute(statement))
        return result.rowcount == 1

"""The notifications repository on PostgreSQL (:class:`services.notifications.ports.
NotificationsRepository`). Every method filters on the org id it is given."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Row, Table, and_, exists, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.paging import PageRequest
from crmkit.rows import build, values_of
from crmkit.tables import org_row
from services.notifications import domain as d
from services.notifications.tables import (
    accounts,
    activities,
    calendar_feeds,
    emails,
    leads,
    member_preferences,
    members,
    notifications,
    opportunities,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)

_DUE = d.NotificationKind.ACTIVITY_DUE.value


def _notification(row: Row[Any]) -> d.Notification:
    """A notification row, joined with its email's ``email_status`` and ``email_error``."""
    return build(d.Notification, row, kind=d.NotificationKind(row.kind))


def _preferences(row: Row[Any]) -> d.MemberPreferences:
    channels = {
        d.NotificationKind(kind): d.Channels(in_app=bool(c.get("in_app", True)),
                                             email=bool(c.get("email", True)))
        for kind, c in (row.channels or {}).items()
        if kind in d.NotificationKind.__members__
    }
    return build(d.MemberPreferences, row, channels=channels)


def _email(row: Row[Any]) -> d.Email:
    return build(d.Email, row)


def _endpoint(row: Row[Any]) -> d.WebhookEndpoint:
    return build(d.WebhookEndpoint, row, event_types=tuple(row.event_types))


def _delivery(row: Row[Any], history: tuple[d.WebhookAttempt, ...] = ()) -> d.WebhookDelivery:
    return build(d.WebhookDelivery, row, history=history)


# The read models' rows hold the version of the event they were last written from; an upsert
# keeps the row's id and org and writes that version as ``aggregate_version``.
_KEPT = ("id", "org_id", "version")


class _Copy(Protocol):
    """A read-model record: its aggregate's id and org, and the event version it is of."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def org_id(self) -> uuid.UUID: ...
    @property
    def version(self) -> int: ...


C = TypeVar("C", bound=_Copy)


def _activity(row: Row[Any]) -> d.Activity:
    return build(d.Activity, row, version=row.aggregate_version)


def _opportunity(row: Row[Any]) -> d.Opportunity:
    return build(d.Opportunity, row, version=row.aggregate_version)


def _lead(row: Row[Any]) -> d.Lead:
    return build(d.Lead, row, version=row.aggregate_version)


class SqlNotificationsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        return {r.member_id: _preferences(r) for r in await self.session.execute(query)}

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

    # --- projections --------------------------------------------------------------------------

    async def record_activity(self, activity: d.Activity) -> d.Activity | None:
        return await self._record_copy(activities, activity, _activity, values_of(
            activity, omit=_KEPT, subject=activity.subject[:300],
            aggregate_version=activity.version, updated_at=func.now()))

    async def record_opportunity(self, opportunity: d.Opportunity) -> d.Opportunity | None:
        # Only an event that moved the deal says when; the others keep the time held.
        values = values_of(
            opportunity, omit=(*_KEPT, "moved_at"),
            aggregate_version=opportunity.version, updated_at=func.now())
        if opportunity.moved_at is not None:
            values["moved_at"] = opportunity.moved_at
        return await self._record_copy(opportunities, opportunity, _opportunity, values)

    async def opportunity(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> d.Opportunity | None:
        row = (await self.session.execute(org_row(opportunities, org_id, opportunity_id))).first()
        return _opportunity(row) if row is not None else None

    async def record_account(self, org_id: uuid.UUID, account_id: uuid.UUID, name: str) -> None:
        values = {"name": name[:300], "updated_at": func.now()}
        await self.session.execute(
            insert(accounts)
            .values(id=account_id, org_id=org_id, **values)
            .on_conflict_do_update(
                index_elements=["id"], set_=values, where=accounts.c.org_id == org_id
            )
        )

    async def record_lead(self, lead: d.Lead) -> d.Lead | None:
        values = values_of(
            lead, omit=(*_KEPT, "company"), aggregate_version=lead.version, updated_at=func.now())
        if lead.company:
            values["company"] = lead.company[:300]
        return await self._record_copy(leads, lead, _lead, values)

    async def _record_copy(
        self, table: Table, copy: _Copy, of: Callable[[Row[Any]], C], values: dict[str, Any]
    ) -> C | None:
        """Write ``values`` into the row of ``copy`` unless the row held is of a newer event;
        the row as it was (None: there was none), which the caller's rules read. The row is
        locked first, so two events of one aggregate apply one after the other."""
        held = (await self.session.execute(
            org_row(table, copy.org_id, copy.id, lock=True))).first()
        before = of(held) if held is not None else None
        if before is not None and before.version > copy.version:
            return before
        await self.session.execute(
            insert(table)
            .values(id=copy.id, org_id=copy.org_id, **values)
            .on_conflict_do_update(
                index_elements=["id"], set_=values, where=table.c.org_id == copy.org_id
            )
        )
        return before

    async def record_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, name: str, roles: Sequence[str]
    ) -> None:
        values = {"name": name[:300], "roles": list(roles), "updated_at": func.now()}
        await self.session.execute(
            insert(members)
            .values(org_id=org_id, member_id=member_id, **values)
            .on_conflict_do_update(index_elements=["org_id", "member_id"], set_=values)
        )

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
        return [(_activity(r), r.deal) for r in await self.session.execute(query)]

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
        return [(_opportunity(r), bool(r.has_open)) for r in await self.session.execute(query)]

    async def moved_checked(self, opportunity: d.Opportunity) -> None:
        o = opportunities.c
        await self.session.execute(
            update(opportunities)
            .where(o.id == opportunity.id, o.org_id == opportunity.org_id,
                   or_(o.moved_at == opportunity.moved_at, o.moved_at.is_(None)))
            .values(moved_at=None)
        )


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
            d.FeedEntry(_activity(r), r.deal, r.client)
            for r in await self.session.execute(query)
        ]

    # --- webhooks -----------------------------------------------------------------------------

    async def add_endpoint(self, endpoint: d.WebhookEndpoint) -> None:
        await self.session.execute(insert(webhook_endpoints).values(
            id=endpoint.id, org_id=endpoint.org_id, url=endpoint.url,
            event_types=list(endpoint.event_types), description=endpoint.description,
            secret=endpoint.secret, enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason, created_by=endpoint.created_by,
            created_at=endpoint.created_at,
        ))

    async def endpoints(self, org_id: uuid.UUID) -> list[d.WebhookEndpoint]:
        w = webhook_endpoints.c
        query = select(webhook_endpoints).where(w.org_id == org_id).order_by(
            w.created_at, w.id
        )
        return [_endpoint(r) for r in await self.session.execute(query)]

    async def endpoint(
        self, org_id: uuid.UUID, endpoint_id: uuid.UUID
    ) -> d.WebhookEndpoint | None:
        w = webhook_endpoints.c
        row = (await self.session.execute(
            select(webhook_endpoints).where(w.org_id == org_id, w.id == endpoint_id)
        )).first()
        return _endpoint(row) if row is not None else None

    async def set_endpoint_enabled(
        self, org_id: uuid.UUID, endpoint_id: uuid.UUID, enabled: bool, reason: str | None
    ) -> None:
        w = webhook_endpoints.c
        await self.session.execute(
            update(webhook_endpoints)
            .where(w.org_id == org_id, w.id == endpoint_id)
            .values(enabled=enabled, disabled_reason=reason)
        )

    async def add_deliveries(self, deliveries: Sequence[d.WebhookDelivery]) -> int:
        if not deliveries:
            return 0
        statement = insert(webhook_deliveries).values([
            {
                "id": x.id,
                "org_id": x.org_id,
                "endpoint_id": x.endpoint_id,
                "event_id": x.event_id,
                "event_type": x.event_type,
                "aggregate_id": x.aggregate_id,
                "payload": x.payload,
                "status": x.status,
                "attempts": x.attempts,
                "next_attempt_at": x.next_attempt_at or x.created_at,
                "created_at": x.created_at,
            }
            for x in deliveries
        ]).on_conflict_do_nothing(index_elements=["id"])
        result = cast(CursorResult[Any], await self.session.execute(statement))
        return result.rowcount

    async def due_deliveries(
        self, now: datetime, limit: int
    ) -> list[tuple[d.WebhookDelivery, d.WebhookEndpoint]]:
        x, w = webhook_deliveries.c, webhook_endpoints.c
        earlier = webhook_deliveries.alias("earlier")
        e = earlier.c
        waiting_behind = exists().where(
            e.endpoint_id == x.endpoint_id, e.aggregate_id == x.aggregate_id,
            e.status == "pending", e.seq < x.seq,
        )
        query = (
            select(webhook_deliveries)
            .join(webhook_endpoints, w.id == x.endpoint_id)
            .where(x.status == "pending", x.next_attempt_at <= now, w.enabled, ~waiting_behind)
            .order_by(x.seq)
            .limit(limit)
            .with_for_update(of=webhook_deliveries, skip_locked=True)
        )
        rows = [_delivery(r) for r in await self.session.execute(query)]
        if not rows:
            return []
        ids = list({r.endpoint_id for r in rows})
        found = {
            r.id: _endpoint(r)
            for r in await self.session.execute(
                select(webhook_endpoints).where(w.id.in_(ids))
            )
        }
        return [(r, found[r.endpoint_id]) for r in rows]

    async def delivery_done(
        self, delivery: d.WebhookDelivery, attempt: d.WebhookAttempt
    ) -> None:
        x, t = webhook_deliveries.c, webhook_attempts.c
        # Numbered across replays (a replay starts the retry schedule again, not the history).
        number = (
            select(func.coalesce(func.max(t.number), 0) + 1)
            .where(t.delivery_id == delivery.id)
            .scalar_subquery()
        )
        await self.session.execute(insert(webhook_attempts).values(
            delivery_id=delivery.id, number=number, at=attempt.at,
            status_code=attempt.status_code, error=attempt.error,
            duration_ms=attempt.duration_ms,
        ))
        await self.session.execute(
            update(webhook_deliveries)
            .where(x.id == delivery.id)
            .values(
                status=delivery.status, attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at or attempt.at,
                delivered_at=delivery.delivered_at, last_status_code=attempt.status_code,
                last_error=attempt.error,
            )
        )

    async def _with_history(self, rows: list[Row[Any]]) -> list[d.WebhookDelivery]:
        if not rows:
            return []
        t = webhook_attempts.c
        history: dict[uuid.UUID, list[d.WebhookAttempt]] = {}
        for r in await self.session.execute(
            select(webhook_attempts)
            .where(t.delivery_id.in_([row.id for row in rows]))
            .order_by(t.delivery_id, t.number)
        ):
            history.setdefault(r.delivery_id, []).append(
                d.WebhookAttempt(r.at, r.status_code, r.error, r.duration_ms)
            )
        return [_delivery(row, tuple(history.get(row.id, ()))) for row in rows]

    async def deliveries(
        self, org_id: uuid.UUID, endpoint_id: uuid.UUID, page: PageRequest
    ) -> list[d.WebhookDelivery]:
        x = webhook_deliveries.c
        query = select(webhook_deliveries).where(
            x.org_id == org_id, x.endpoint_id == endpoint_id
        )
        if page.after is not None:
            query = query.where(tuple_(x.created_at, x.id) < tuple_(*page.after))
        query = query.order_by(x.created_at.desc(), x.id.desc()).limit(page.fetch)
        return await self._with_history(list(await self.session.execute(query)))

    async def delivery(
        self, org_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> d.WebhookDelivery | None:
        x = webhook_deliveries.c
        rows = list(await self.session.execute(
            select(webhook_deliveries).where(x.org_id == org_id, x.id == delivery_id)
        ))
        found = await self._with_history(rows)
        return found[0] if found else None

    async def replay_delivery(
        self, org_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime
    ) -> None:
        x = webhook_deliveries.c
        await self.session.execute(
            update(webhook_deliveries)
            .where(x.org_id == org_id, x.id == delivery_id)
            .values(status="pending", attempts=0, next_attempt_at=now, delivered_at=None)
        )

    async def admins(self, org_id: uuid.UUID) -> list[uuid.UUID]:
        m = members.c
        query = select(m.member_id).where(
            m.org_id == org_id, m.roles.contains(["admin"])
        ).order_by(m.member_id)
        return list((await self.session.execute(query)).scalars())

    # --- email --------------------------------------------------------------------------------

    async def add_emails(self, items: Sequence[d.Email]) -> int:
        if not items:
            return 0
        statement = insert(emails).values([
            {
                "id": e.id,
                "org_id": e.org_id,
                "member_id": e.member_id,
                "notification_id": e.notification_id,
                "kind": e.kind,
                "to_address": e.to_address,
                "subject": e.subject,
                "body": e.body,
                "status": e.status,
                "attempts": e.attempts,
                "next_attempt_at": e.next_attempt_at or e.created_at,
                "last_error": e.last_error,
                "created_at": e.created_at,
                "sent_at": e.sent_at,
            }
            for e in items
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
        return [_preferences(r) for r in await self.session.execute(query)]

    async def digest(
        self, prefs: d.MemberPreferences, start: datetime, end: datetime, now: datetime
    ) -> d.Digest:
        a, o, c = activities.c, opportunities.c, leads.c
        mine = (a.org_id == prefs.org_id, a.owner_id == prefs.member_id, a.status == "open")
        today = [_activity(r) for r in await self.session.execute(
            select(activities).where(
                *mine, a.kind.in_(sorted(d.REMINDED_KINDS)), a.due_at >= start, a.due_at < end,
                a.due_at >= now,
            ).order_by(a.due_at, a.id)
        )]
        overdue = [_activity(r) for r in await self.session.execute(
            select(activities).where(*mine, a.due_at < now).order_by(a.due_at, a.id)
        )]
        has_open = exists().where(
            a.org_id == o.org_id, a.opportunity_id == o.id, a.status == "open"
        )
        bare = [_opportunity(r) for r in await self.session.execute(
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

"""The org's webhook endpoints, their deliveries and attempts, in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, exists, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult

from crmkit.paging import PageRequest
from crmkit.rows import build, values_of
from services.notifications import domain as d
from services.notifications.repository.base import SqlBase
from services.notifications.tables import (
    members,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)


def _endpoint(row: Row[Any]) -> d.WebhookEndpoint:
    return build(d.WebhookEndpoint, row, event_types=tuple(row.event_types))


def _delivery(row: Row[Any], history: tuple[d.WebhookAttempt, ...] = ()) -> d.WebhookDelivery:
    return build(d.WebhookDelivery, row, history=history)


class SqlWebhooks(SqlBase):
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
        # seq is the database's (the order of arrival); history lives in its own table.
        statement = insert(webhook_deliveries).values([
            values_of(x, omit=("seq", "history"),
                      next_attempt_at=x.next_attempt_at or x.created_at)
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

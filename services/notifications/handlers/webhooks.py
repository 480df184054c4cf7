"""Webhooks: admins register endpoints (URL, event types, a description) and get a signing
secret; every consumed event an endpoint wants is queued for it (one delivery per event and
endpoint, so at least once and never queued twice) and sent in order per aggregate: a
delivery waits while an earlier one of the same aggregate to the same endpoint is pending.
A failed attempt is retried over about a day (:data:`~..domain.WEBHOOK_RETRIES`); after the
last the delivery fails, the endpoint is disabled, an event says so and the org's admins are
told. Events of one org only ever reach that org's endpoints."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from crmkit.auth import Caller
from crmkit.commands import Command, must_exist, require_admin
from crmkit.contracts import Envelope
from crmkit.contracts.notifications import WebhookEndpointDisabled
from crmkit.errors import InvalidInput, NotFoundError, ProblemCollector
from crmkit.paging import Page, page_of, page_request
from services.notifications import domain as d
from services.notifications.handlers.common import At, Work, preferences_of, store
from services.notifications.ports import NotificationsRepository, WebhookSender

log = logging.getLogger("crm.notifications.webhooks")
BATCH = 50


def _admin(caller: Caller) -> None:
    require_admin(caller, "only an admin manages webhooks")


class RegisterEndpoint(Command):
    url: str
    event_types: list[str]
    description: str
    now: datetime


async def register_endpoint(
    cmd: RegisterEndpoint, sender: WebhookSender, uow: Work
) -> d.WebhookEndpoint:
    """A new endpoint with a new secret (shown once, in this answer)."""
    _admin(cmd.caller)
    problems = ProblemCollector()
    url = cmd.url.strip()
    if len(url) > 2000 or not url.startswith(("https://", "http://")):
        problems.add("url", "must be an http(s):// URL")
    else:
        refused = await sender.check_target(url)
        if refused is not None:
            problems.add("url", refused)
    types = d.check_event_types(cmd.event_types, problems)
    description = cmd.description.strip()
    if len(description) > 500:
        problems.add("description", "must be at most 500 characters")
    problems.raise_if_any()
    endpoint = d.WebhookEndpoint(
        id=uuid.uuid4(), org_id=cmd.caller.org_id, url=url, event_types=types,
        secret=d.new_webhook_secret(), description=description,
        created_by=cmd.caller.member_id, created_at=cmd.now,
    )
    async with uow:
        await uow.repo.add_endpoint(endpoint)
        await uow.commit()
    return endpoint


async def list_endpoints(caller: Caller, uow: Work) -> list[d.WebhookEndpoint]:
    _admin(caller)
    async with uow:
        return await uow.repo.endpoints(caller.org_id)


async def enable_endpoint(caller: Caller, endpoint_id: uuid.UUID, uow: Work) -> d.WebhookEndpoint:
    """Deliveries to a disabled endpoint resume (those that failed: by replaying them)."""
    _admin(caller)
    async with uow:
        if await uow.repo.endpoint(caller.org_id, endpoint_id) is None:
            raise NotFoundError("WebhookEndpoint", endpoint_id)
        await uow.repo.set_endpoint_enabled(caller.org_id, endpoint_id, True, None)
        found = await uow.repo.endpoint(caller.org_id, endpoint_id)
        await uow.commit()
    assert found is not None
    return found


class ListDeliveries(Command):
    endpoint_id: uuid.UUID
    first: int | None = None
    after: str | None = None


async def list_deliveries(query: ListDeliveries, uow: Work) -> Page[d.WebhookDelivery]:
    _admin(query.caller)
    request = page_request(query.first, query.after, default=20)
    async with uow:
        if await uow.repo.endpoint(query.caller.org_id, query.endpoint_id) is None:
            raise NotFoundError("WebhookEndpoint", query.endpoint_id)
        rows = await uow.repo.deliveries(query.caller.org_id, query.endpoint_id, request)
    return page_of(rows, request, lambda x: (x.created_at, x.id))


async def replay_delivery(
    caller: Caller, delivery_id: uuid.UUID, now: datetime, uow: Work
) -> d.WebhookDelivery:
    """Send a delivery again (delivered or failed), from the first attempt of the schedule."""
    _admin(caller)
    async with uow:
        found = must_exist(
            await uow.repo.delivery(caller.org_id, delivery_id), "WebhookDelivery", delivery_id
        )
        if found.status == "pending":
            raise InvalidInput.field("id", "is still being delivered")
        await uow.repo.replay_delivery(caller.org_id, delivery_id, now)
        again = await uow.repo.delivery(caller.org_id, delivery_id)
        await uow.commit()
    assert again is not None
    return again


async def queue_deliveries(
    repo: NotificationsRepository, envelope: Envelope, at: At
) -> int:
    """Queue ``envelope`` for every enabled endpoint of its org that wants its type."""
    wanted = [
        e for e in await repo.endpoints(envelope.org_id)
        if e.enabled and d.wants_event(e, envelope.type)
    ]
    if not wanted:
        return 0
    body = envelope.model_dump_json()
    return await repo.add_deliveries([
        d.WebhookDelivery(
            id=d.delivery_id(e.id, envelope.id), org_id=envelope.org_id, endpoint_id=e.id,
            event_id=envelope.id, event_type=envelope.type,
            aggregate_id=envelope.aggregate_id, payload=body, created_at=at.now,
            next_attempt_at=at.now,
        )
        for e in wanted
    ])


@dataclass(frozen=True)
class Delivered:
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    def __bool__(self) -> bool:
        return bool(self.delivered or self.retried or self.failed)


async def send_webhooks(at: At, sender: WebhookSender, uow: Work) -> Delivered:
    """Send the deliveries due at ``at.now`` (a batch; truthy when it did any). A batch holds
    at most one delivery per aggregate and endpoint (the next waits for it), so its requests
    go out concurrently without breaking the order."""
    delivered = retried = failed = 0
    disabled: set[uuid.UUID] = set()
    async with uow:
        due = await uow.repo.due_deliveries(at.now, BATCH)
        results = await asyncio.gather(
            *(sender.deliver(endpoint, delivery, at.now) for delivery, endpoint in due)
        )
        for (delivery, endpoint), result in zip(due, results, strict=True):
            attempts = delivery.attempts + 1
            attempt = d.WebhookAttempt(at.now, result.status_code, result.error,
                                       result.duration_ms)
            if result.ok:
                delivered += 1
                done = replace(delivery, status="delivered", attempts=attempts,
                               delivered_at=at.now)
            else:
                again = d.webhook_retry_at(attempts, at.now)
                if again is not None:
                    retried += 1
                    done = replace(delivery, attempts=attempts, next_attempt_at=again)
                else:
                    failed += 1
                    done = replace(delivery, status="failed", attempts=attempts)
                    if endpoint.id not in disabled:
                        disabled.add(endpoint.id)
                        await _disable(uow, endpoint, delivery, result.error
                                       or f"answered {result.status_code}", at)
            await uow.repo.delivery_done(done, attempt)
        await uow.commit()
    return Delivered(delivered, retried, failed)


async def _disable(
    uow: Work, endpoint: d.WebhookEndpoint, delivery: d.WebhookDelivery, last: str, at: At
) -> None:
    reason = f"every attempt of a delivery failed for a day (last: {last})"[:500]
    log.error("webhook endpoint %s of org %s disabled: %s", endpoint.id, endpoint.org_id,
              reason)
    await uow.repo.set_endpoint_enabled(endpoint.org_id, endpoint.id, False, reason)
    uow.emit(Envelope.wrap(
        WebhookEndpointDisabled(endpoint_id=endpoint.id, url=endpoint.url, reason=reason,
                                failed_delivery_id=delivery.id),
        org_id=endpoint.org_id, aggregate_id=endpoint.id, occurred_at=at.now,
    ))
    admins = await uow.repo.admins(endpoint.org_id)
    prefs = await preferences_of(uow.repo, endpoint.org_id, admins)
    await store(uow.repo, [
        d.notify(prefs[admin], d.NotificationKind.WEBHOOK_DISABLED, endpoint.id,
                 title=endpoint.url, detail=endpoint.description, now=at.now,
                 occurrence=str(delivery.id))
        for admin in admins
    ], prefs, at)

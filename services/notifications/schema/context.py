"""What every resolver of the notifications subgraph reaches: the caller, a unit of work and
the service's clock (the kit's request context, :mod:`crmkit.schema_context`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crmkit.schema_context import Info, RequestContext, ServiceState
from services.notifications.domain import Clock
from services.notifications.ports import NotificationsRepository, WebhookSender

__all__ = ["FEED_PATH", "Info", "NotificationsState", "caller", "feed_url", "now", "uow",
           "webhook_sender"]

FEED_PATH = "/feeds/calendar/"


@dataclass(frozen=True)
class NotificationsState(ServiceState[NotificationsRepository]):
    clock: Clock
    feeds_url: str = "http://127.0.0.1:4006"
    """Where the public origin serves this service's ``/feeds/`` route."""
    webhooks: WebhookSender | None = None
    """What checks a webhook target (the SSRF guard)."""


context = RequestContext(NotificationsState)
caller, uow = context.caller, context.uow


def feed_url(info: Info, token: str) -> str:
    return f"{context.state(info).feeds_url}{FEED_PATH}{token}.ics"


def webhook_sender(info: Info) -> WebhookSender:
    found = context.state(info).webhooks
    assert found is not None
    return found


def now(info: Info) -> datetime:
    return context.state(info).clock()

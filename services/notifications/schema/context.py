"""What every resolver of the notifications subgraph reaches: the caller, a unit of work and
the service's clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import strawberry
from graphql import GraphQLError

from crmkit.auth import Caller
from crmkit.graphql import GraphQLContext
from crmkit.uow import UnitOfWork
from services.notifications.domain import Clock
from services.notifications.ports import NotificationsRepository, WebhookSender

Info = strawberry.Info[GraphQLContext, None]
FEED_PATH = "/feeds/calendar/"


@dataclass(frozen=True)
class NotificationsState:
    """``info.context.state``: where resolvers get their units of work and the time."""

    uow: Callable[[], UnitOfWork[NotificationsRepository]]
    clock: Clock
    feeds_url: str = "http://127.0.0.1:4006"
    """Where the public origin serves this service's ``/feeds/`` route."""
    webhooks: WebhookSender | None = None
    """What checks a webhook target (the SSRF guard)."""


def caller(info: Info) -> Caller:
    found = info.context.caller
    if found is None:  # only the SDL query and the GraphiQL page run without a token
        raise GraphQLError("a bearer token is required", extensions={"code": "UNAUTHENTICATED"})
    return found


def uow(info: Info) -> UnitOfWork[NotificationsRepository]:
    """A unit of work for one use case (its own transaction)."""
    state: NotificationsState = info.context.state
    return state.uow()


def feed_url(info: Info, token: str) -> str:
    state: NotificationsState = info.context.state
    return f"{state.feeds_url}{FEED_PATH}{token}.ics"


def webhook_sender(info: Info) -> WebhookSender:
    state: NotificationsState = info.context.state
    assert state.webhooks is not None
    return state.webhooks


def now(info: Info) -> datetime:
    state: NotificationsState = info.context.state
    return state.clock()

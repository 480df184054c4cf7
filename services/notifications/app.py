"""The notifications service: the subgraph, the consumers of the events it turns into
notifications, and the periodic reminder pass (the kit's service shape, :mod:`crmkit.serve`).

Email goes out through ``CRM_SMTP_URL`` when it is set. The time is the ``clock`` given to
:func:`create_runtime` (the system clock unless a test gives its own), so reminders are
deterministic under test."""

from __future__ import annotations

from functools import partial

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from crmkit.runtime import ServiceRuntime
from crmkit.serve import Edge, ServiceApp
from services.notifications import ical, schema, subscribers
from services.notifications.domain import Clock, system_clock
from services.notifications.handlers.feed import open_feed
from services.notifications.mail.smtp import SmtpMailer
from services.notifications.ports import NotificationsRepository
from services.notifications.repository import SqlNotificationsRepository
from services.notifications.schema import NotificationsState
from services.notifications.schema.context import FEED_PATH
from services.notifications.settings import NotificationsSettings
from services.notifications.tables import metadata
from services.notifications.webhook_http import HttpWebhookSender

SERVICE = "notifications"
SETTINGS = NotificationsSettings


def create_runtime(
    settings: NotificationsSettings, *, clock: Clock = system_clock
) -> ServiceRuntime[NotificationsRepository]:
    runtime: ServiceRuntime[NotificationsRepository] = ServiceRuntime.create(
        SERVICE, settings, metadata, SqlNotificationsRepository
    )
    mailer = SmtpMailer(settings) if settings.smtp_url else None
    subscribers.register(runtime, settings, clock, mailer, HttpWebhookSender(settings))
    return runtime


def edge(
    settings: NotificationsSettings, runtime: ServiceRuntime[NotificationsRepository],
    served: bool, *, clock: Clock = system_clock,
) -> Edge:
    """The resolvers' state and the calendar feed route, both on the service's clock."""
    state = NotificationsState(
        uow=runtime.uow, clock=clock, feeds_url=settings.feeds_url,
        webhooks=HttpWebhookSender(settings),
    )
    uow = runtime.uow

    async def calendar_feed(request: Request) -> Response:
        """The member's calendar; the token in the address is the only key."""
        now = clock()
        found = await open_feed(str(request.path_params["token"]), now, uow())
        if found is None:
            return PlainTextResponse("no such calendar", status_code=404)
        body = ical.calendar(found.entries, settings.links_url, now)
        return Response(body, media_type="text/calendar; charset=utf-8",
                        headers={"Cache-Control": "private, max-age=300"})

    feed = Route(FEED_PATH + "{token:str}.ics", calendar_feed, methods=["GET"])
    return Edge(state, routes=[feed])


create_schema = schema.create_schema


def create_app(
    settings: NotificationsSettings,
    *,
    runtime: ServiceRuntime[NotificationsRepository] | None = None,
    served: bool = False,
    clock: Clock = system_clock,
) -> Starlette:
    """The kit's app, on ``clock`` (a test gives its own)."""
    on_clock = ServiceApp(
        partial(create_runtime, clock=clock), create_schema, partial(edge, clock=clock)
    )
    return on_clock.create_app(settings, runtime=runtime, served=served)

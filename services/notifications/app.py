"""The notifications service: the subgraph, the consumers of the events it turns into
notifications, and the periodic reminder pass (the kit's service shape, :mod:`crmkit.serve`).

Email goes out through ``CRM_SMTP_URL`` when it is set. The time is the ``clock`` given to
:func:`create_runtime` (the system clock unless a test gives its own), so reminders are
deterministic under test."""

from __future__ import annotations

from starlette.applications import Starlette
from strawberry.federation import Schema

from crmkit.app import create_service_app
from crmkit.runtime import ServiceRuntime
from services.notifications import schema, subscribers
from services.notifications.domain import Clock, system_clock
from services.notifications.mail.smtp import SmtpMailer
from services.notifications.ports import NotificationsRepository
from services.notifications.repository import SqlNotificationsRepository
from services.notifications.schema import NotificationsState
from services.notifications.settings import NotificationsSettings
from services.notifications.tables import metadata

SERVICE = "notifications"
SETTINGS = NotificationsSettings


def create_runtime(
    settings: NotificationsSettings, *, clock: Clock = system_clock
) -> ServiceRuntime[NotificationsRepository]:
    runtime: ServiceRuntime[NotificationsRepository] = ServiceRuntime.create(
        SERVICE, settings, metadata, SqlNotificationsRepository
    )
    mailer = SmtpMailer(settings) if settings.smtp_url else None
    subscribers.register(runtime, settings, clock, mailer)
    return runtime


def create_schema() -> Schema:
    return schema.create_schema()


def create_app(
    settings: NotificationsSettings,
    *,
    runtime: ServiceRuntime[NotificationsRepository] | None = None,
    served: bool = False,
    clock: Clock = system_clock,
) -> Starlette:
    runtime = runtime or create_runtime(settings, clock=clock)
    state = NotificationsState(uow=runtime.uow, clock=clock)
    return create_service_app(runtime, create_schema(), state=state, freeze_gc=served)

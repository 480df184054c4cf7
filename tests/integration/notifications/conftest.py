"""The notifications service in-process against real PostgreSQL and NATS, on a clock the
tests set."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

import services.notifications
from crmkit.contracts import Envelope, Event
from crmkit.contracts import pipeline as pl
from crmkit.embedded import free_port
from crmkit.testing.client import ServiceClient, service_settings
from crmkit.testing.plugin import Servers
from services.notifications import app
from services.notifications.handlers.common import At
from services.notifications.handlers.email import Sent, queue_digests, send_emails
from services.notifications.handlers.reminders import RemindersDone, remind
from services.notifications.mail.smtp import SmtpMailer
from services.notifications.settings import NotificationsSettings

MIGRATIONS = Path(services.notifications.__file__).parent / "migrations"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Sink:
    """A real SMTP server (aiosmtpd) for the tests: keeps what it accepts; answers the next
    messages with the replies queued in ``refuse`` ("451 ...", "550 ...") instead."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture(scope="session")
def sink() -> Iterator[tuple[Sink, str]]:
    from aiosmtpd.controller import Controller

    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@dataclass
class Notifications:
    """The running service, its clock, and shortcuts for feeding it events."""

    client: ServiceClient[Any]
    clock: Clock
    settings: NotificationsSettings
    sink: Sink

    @property
    def at(self) -> At:
        return At(self.clock(), self.settings.links_url)

    async def send(self) -> Sent:
        """One pass of the email sender at the clock's time."""
        return await send_emails(self.at, SmtpMailer(self.settings),
                                 self.client.runtime.uow())

    async def digests(self) -> int:
        return await queue_digests(self.at, self.client.runtime.uow())

    async def deliver(self, event: Event, org_id: uuid.UUID, aggregate_id: uuid.UUID,
                      version: int = 1, event_id: uuid.UUID | None = None) -> bool:
        return await self.client.deliver(Envelope.wrap(
            event, org_id=org_id, aggregate_id=aggregate_id, aggregate_version=version,
            event_id=event_id,
        ))

    async def remind(self) -> RemindersDone:
        """One reminder pass at the clock's time (what the periodic worker runs)."""
        return await remind(self.at, self.client.runtime.uow())

    async def data(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        return await self.client.data(token, query, **variables)


@pytest.fixture(scope="session")
async def notifications_url(crm_servers: Servers, migrated_database: Any) -> str:
    url: str = await migrated_database("notifications", MIGRATIONS)
    return url


@asynccontextmanager
async def running(settings: NotificationsSettings, clock: Clock,
                  sink: Sink) -> AsyncIterator[Notifications]:
    """The service started on ``settings`` and ``clock`` (a test may start it again: a
    restart)."""
    runtime = app.create_runtime(settings, clock=clock)
    service = app.create_app(settings, runtime=runtime, clock=clock)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as http:
            yield Notifications(ServiceClient(runtime, http), clock, settings, sink)
    finally:
        await runtime.stop()


@pytest.fixture
def settings(
    crm_servers: Servers, notifications_url: str, sink: tuple[Sink, str]
) -> NotificationsSettings:
    # The periodic passes run rarely here: the tests run them at the clock's time.
    made = service_settings(
        app, crm_servers, notifications_url, notifications_tick_seconds=300,
        smtp_url=sink[1], smtp_starttls="off", web_public_url="https://crm.example.com",
    )
    assert isinstance(made, NotificationsSettings)
    return made


@pytest.fixture
async def api(
    settings: NotificationsSettings, sink: tuple[Sink, str]
) -> AsyncIterator[Notifications]:
    async with running(settings, Clock(), sink[0]) as started:
        yield started


def activity(
    kind: str = "meeting",
    *,
    owner_id: uuid.UUID,
    due_at: datetime,
    activity_id: uuid.UUID | None = None,
    opportunity_id: uuid.UUID | None = None,
    subject: str = "Demo for ACME",
    status: str = "open",
    cls: type[pl.ActivitySnapshot] = pl.ActivityScheduled,
    **more: Any,
) -> pl.ActivitySnapshot:
    return cls(
        activity_id=activity_id or uuid.uuid4(),
        opportunity_id=opportunity_id or uuid.uuid4(),
        owner_id=owner_id,
        kind=kind,  # type: ignore[arg-type]
        subject=subject,
        due_at=due_at,
        status=status,  # type: ignore[arg-type]
        **more,
    )


def opportunity(
    cls: type[pl.OpportunitySnapshot] = pl.OpportunityCreated,
    *,
    opportunity_id: uuid.UUID,
    owner_id: uuid.UUID,
    name: str = "ACME renewal",
    status: str = "open",
    stage_name: str = "Qualification",
    **more: Any,
) -> pl.OpportunitySnapshot:
    return cls(
        opportunity_id=opportunity_id,
        name=name,
        owner_id=owner_id,
        pipeline_id=uuid.uuid4(),
        stage_id=uuid.uuid4(),
        stage_name=stage_name,
        status=status,  # type: ignore[arg-type]
        amount="1000.00",  # type: ignore[arg-type]
        currency="EUR",
        probability=20,
        **more,
    )


NOTIFICATIONS = """
query($first: Int, $after: String, $unread: Boolean! = false) {
  notifications(first: $first, after: $after, unreadOnly: $unread) {
    edges { cursor node { id kind title detail subjectId opportunityId dueAt createdAt read } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
  unreadNotificationCount
}"""

MARK_READ = """
mutation($ids: [ID!], $all: Boolean! = false) {
  markNotificationsRead(ids: $ids, all: $all) {
    __typename
    ... on MarkNotificationsReadPayload { marked unreadCount }
    ... on ValidationError { message fields { path message } }
  }
}"""

SETTINGS = """
query { myNotificationSettings {
  email language timeZone digestHour leadMinutes version channels { kind inApp email }
} }"""

UPDATE_SETTINGS = """
mutation($input: NotificationSettingsInput!) {
  updateMyNotificationSettings(input: $input) {
    __typename
    ... on UpdateMyNotificationSettingsPayload {
      settings { email language timeZone digestHour leadMinutes version
                 channels { kind inApp email } }
    }
    ... on ValidationError { message fields { path message } }
  }
}"""


async def listed(api: Notifications, token: str, **variables: Any) -> list[dict[str, Any]]:
    data = await api.data(token, NOTIFICATIONS, **variables)
    return [e["node"] for e in data["notifications"]["edges"]]

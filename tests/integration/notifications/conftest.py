"""The notifications service in-process against real PostgreSQL and NATS, on a clock the
tests set."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import services.notifications
from crmkit.contracts import Envelope, Event
from crmkit.contracts import pipeline as pl
from crmkit.testing.client import ServiceClient, service_settings
from crmkit.testing.plugin import Servers
from services.notifications import app
from services.notifications.handlers.reminders import RemindersDone, remind

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
class Notifications:
    """The running service, its clock, and shortcuts for feeding it events."""

    client: ServiceClient[Any]
    clock: Clock

    async def deliver(self, event: Event, org_id: uuid.UUID, aggregate_id: uuid.UUID,
                      version: int = 1, event_id: uuid.UUID | None = None) -> bool:
        return await self.client.deliver(Envelope.wrap(
            event, org_id=org_id, aggregate_id=aggregate_id, aggregate_version=version,
            event_id=event_id,
        ))

    async def remind(self) -> RemindersDone:
        """One reminder pass at the clock's time (what the periodic worker runs)."""
        return await remind(self.clock(), self.client.runtime.uow())

    async def data(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        return await self.client.data(token, query, **variables)


@pytest.fixture(scope="session")
async def notifications_url(crm_servers: Servers, migrated_database: Any) -> str:
    url: str = await migrated_database("notifications", MIGRATIONS)
    return url


@pytest.fixture
async def api(crm_servers: Servers, notifications_url: str) -> AsyncIterator[Notifications]:
    clock = Clock()
    # The periodic pass runs rarely here: the tests run it themselves at the clock's time.
    settings = service_settings(
        app, crm_servers, notifications_url, notifications_tick_seconds=300
    )
    runtime = app.create_runtime(settings, clock=clock)
    service = app.create_app(settings, runtime=runtime, clock=clock)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as http:
            yield Notifications(ServiceClient(runtime, http), clock)
    finally:
        await runtime.stop()


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

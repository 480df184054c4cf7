"""Reporting against real PostgreSQL and NATS: one migrated database and one running service
(its inbox consumers under names of this session) for the whole session."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crmkit.contracts import Envelope
from crmkit.embedded import EmbeddedNats
from crmkit.testing.bus import publish as put_on_bus
from crmkit.testing.client import ServiceClient, service_client, service_settings
from crmkit.testing.plugin import Servers
from services.reporting import app
from services.reporting.ports import ReportingRepository
from services.reporting.settings import ReportingSettings
from services.reporting.tables import inbox

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "reporting" / "migrations"


Reporting = ServiceClient[ReportingRepository]


async def publish(
    reporting: Reporting, envelopes: Iterable[Envelope], *, duplicate: bool = False
) -> None:
    """Publish as an outbox relay does (``Nats-Msg-Id`` = event id); ``duplicate`` adds a
    second copy under another message id, which the stream cannot drop, so the consumer
    gets the event twice."""
    for envelope in envelopes:
        await put_on_bus(reporting.runtime.broker, envelope)
        if duplicate:
            await put_on_bus(reporting.runtime.broker, envelope,
                             message_id=f"{envelope.id}-again")


async def applied(reporting: Reporting, envelopes: Iterable[Envelope]) -> int:
    """How many of ``envelopes`` the service's consumers applied."""
    ids = [e.id for e in envelopes]
    names = [c.name for c in reporting.runtime.consumers]
    async with reporting.runtime.sessions() as session:
        count = await session.scalar(
            select(func.count(func.distinct(inbox.c.event_id))).where(
                inbox.c.consumer.in_(names), inbox.c.event_id.in_(ids)
            )
        )
    return int(count or 0)


async def wait_applied(
    reporting: Reporting, envelopes: list[Envelope], within: float = 60.0
) -> None:
    deadline = time.monotonic() + within
    while (done := await applied(reporting, envelopes)) < len(envelopes):
        if time.monotonic() > deadline:
            raise AssertionError(f"only {done} of {len(envelopes)} events were applied")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
async def reporting_url(migrated_database: Any) -> str:
    url: str = await migrated_database("reporting", MIGRATIONS)
    return url


@pytest.fixture(scope="session")
def reporting_nats(crm_servers: Servers) -> Iterator[str]:
    """A NATS server of our own: the rebuild replays the whole CRM stream, and a new durable
    consumer starts at its beginning, so the stream must hold only these tests' events (the
    shared one also carries every other service's test traffic)."""
    server = EmbeddedNats(crm_servers.work_dir / f"reporting-nats-{uuid.uuid4().hex[:8]}")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def reporting_settings(
    crm_servers: Servers, reporting_nats: str, reporting_url: str
) -> ReportingSettings:
    settings = service_settings(app, crm_servers, reporting_url, nats_url=reporting_nats)
    assert isinstance(settings, ReportingSettings)
    return settings


@pytest.fixture(scope="session")
async def reporting(reporting_settings: ReportingSettings) -> AsyncIterator[Reporting]:
    async with service_client(app, reporting_settings) as client:
        yield client

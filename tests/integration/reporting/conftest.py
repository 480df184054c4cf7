"""Reporting against real PostgreSQL and NATS: one migrated database and one running service
(its inbox consumers under names of this session) for the whole session."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from crmkit.contracts import Envelope
from crmkit.embedded import EmbeddedNats
from crmkit.runtime import ServiceRuntime
from crmkit.settings import DEV_JWT_SECRET
from crmkit.testing.plugin import Servers
from services.reporting.app import create_app, create_runtime
from services.reporting.events import CONSUMED_SUBJECTS
from services.reporting.settings import ReportingSettings
from services.reporting.tables import inbox

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "reporting" / "migrations"


@dataclass
class Reporting:
    runtime: ServiceRuntime
    client: httpx.AsyncClient
    settings: ReportingSettings
    database_url: str
    consumer_names: tuple[str, ...]

    async def publish(self, envelopes: Iterable[Envelope], *, duplicate: bool = False) -> None:
        """Publish as an outbox relay does (``Nats-Msg-Id`` = event id); ``duplicate`` adds a
        second copy under another message id, which the stream cannot drop, so the consumer
        gets the event twice."""
        for envelope in envelopes:
            copies = [str(envelope.id)] + ([f"{envelope.id}-again"] if duplicate else [])
            for message_id in copies:
                await self.runtime.broker.publish(
                    envelope.to_json(), subject=envelope.type, stream="CRM",
                    headers={"Nats-Msg-Id": message_id},
                )

    async def applied(self, envelopes: Iterable[Envelope]) -> int:
        ids = [e.id for e in envelopes]
        async with self.runtime.sessions() as session:
            count = await session.scalar(
                select(func.count(func.distinct(inbox.c.event_id))).where(
                    inbox.c.consumer.in_(self.consumer_names), inbox.c.event_id.in_(ids)
                )
            )
        return int(count or 0)

    async def wait_applied(self, envelopes: list[Envelope], within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while (done := await self.applied(envelopes)) < len(envelopes):
            if time.monotonic() > deadline:
                raise AssertionError(f"only {done} of {len(envelopes)} events were applied")
            await asyncio.sleep(0.05)

    async def graphql(
        self, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


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
def reporting_settings(crm_servers: Servers, reporting_nats: str) -> ReportingSettings:
    return ReportingSettings(
        environment="test", database_url=crm_servers.database_url,
        nats_url=reporting_nats, jwt_secret=DEV_JWT_SECRET,
    )


@pytest.fixture(scope="session")
async def reporting(
    reporting_url: str, reporting_settings: ReportingSettings
) -> AsyncIterator[Reporting]:
    prefix = f"reporting-test-{uuid.uuid4().hex[:8]}"
    runtime = create_runtime(reporting_settings, database_url=reporting_url,
                             consumer_prefix=prefix)
    app = create_app(runtime=runtime)
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    names = tuple(f"{prefix}-{suffix}" for suffix in CONSUMED_SUBJECTS)
    async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
        yield Reporting(runtime, client, reporting_settings, reporting_url, names)
    await runtime.stop()

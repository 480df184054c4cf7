"""Chaos during a write burst (issue 13): NATS killed, a service killed, PostgreSQL crashed and
kept down far longer than a consumer's retries once lasted (they dead-lettered after about
6 s), each brought back; and the consumers' PostgreSQL down for a whole minute while writes go
on. Every acknowledged write is kept, every event reaches each consumer once, nothing is
dead-lettered, and reporting equals the pipeline's source of truth.

The writers (leads, pipeline) and the consumers (documents, reporting, notifications) keep
their databases on two PostgreSQL servers, as two database clusters would: the consumers'
server can go away while the writers still accept writes and publish their events."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from crm.reaper import Reaper
from crm.stack import Servers, Stack, has_gateway, run_migrations
from crmkit.db import SERVICES, service_database_url
from crmkit.embedded import EmbeddedPostgres, free_port
from crmkit.settings import DEV_JWT_SECRET, Settings

from .scale_out import Team, burst, wait_settled

pytestmark = pytest.mark.e2e

BURST_SECONDS = 34.0
DATABASE_DOWN_SECONDS = 16.0
WRITERS = ("leads", "pipeline")
CONSUMERS = ("documents", "reporting", "notifications")


@dataclass
class ChaosSystem:
    servers: Servers  # NATS, and the writers' PostgreSQL
    consumers_postgres: EmbeddedPostgres
    writers: Stack  # leads, pipeline and the gateway
    consumers: Stack
    notes: dict[str, Any] = field(default_factory=dict)

    def database_url(self, service: str) -> str:
        server = self.consumers_postgres.url if service in CONSUMERS else self.servers.database_url
        assert server is not None
        return service_database_url(server, service)

    def gateway_urls(self) -> list[str]:
        return [f"{self.writers.url('gateway')}/graphql"]


@pytest.fixture(scope="module")
def chaos() -> Iterator[ChaosSystem]:
    assert has_gateway()
    work = Path(tempfile.mkdtemp(prefix="crm-chaos-"))
    reaper = Reaper()  # a killed test run leaves no server or service behind
    servers = Servers(work, reaper=reaper)
    consumers_postgres = EmbeddedPostgres(work / "consumers-postgres")
    reaper.watch_postgres(consumers_postgres.pgdata)
    ports = {name: free_port() for name in ("gateway", *SERVICES)}
    settings = Settings(environment="test", jwt_secret=DEV_JWT_SECRET)
    writers: Stack | None = None
    consumers: Stack | None = None
    try:
        servers.start()
        consumers_postgres.start()
        assert servers.database_url is not None and servers.nats_url is not None
        run_migrations(servers.database_url, list(WRITERS))
        run_migrations(consumers_postgres.url, list(CONSUMERS))
        writers = Stack(settings, servers.database_url, servers.nats_url, ports, work / "logs",
                        reaper=reaper)
        consumers = Stack(settings, consumers_postgres.url, servers.nats_url, ports,
                          work / "logs", reaper=reaper)
        consumers.start(list(CONSUMERS))
        writers.start(list(WRITERS))
        consumers.wait_ready(120)
        writers.wait_ready(120)
        writers.start_all([], gateway=True, timeout=60)
        yield ChaosSystem(servers, consumers_postgres, writers, consumers)
    finally:
        stopped = False
        try:
            for stack in (writers, consumers):
                if stack is not None:
                    stack.stop()
            consumers_postgres.stop()
            servers.stop()
            stopped = True
        finally:
            reaper.close(clean=stopped)  # after a failed stop, it ends what is left
            shutil.rmtree(work, ignore_errors=True)


async def dead_letters(nats_url: str) -> int:
    client = await nats.connect(nats_url)
    try:
        info = await client.jetstream().stream_info("CRM_DLQ")
        return int(info.state.messages)
    finally:
        await client.close()


def assert_nothing_lost(chaos: ChaosSystem, team: Team, result: Any, state: dict[str, Any]
                        ) -> None:
    """Every acknowledged write kept, every event applied once by each consumer, none given
    up on, and reporting equal to the pipeline's source of truth."""
    # Every acknowledged write is in its database.
    assert {uuid.UUID(i) for i in result.leads} <= state["leads"]
    acknowledged = {uuid.UUID(i): amount for i, amount in result.opportunities}
    assert acknowledged.keys() <= state["opportunities"].keys()

    # Every event went out and reached each consumer once; none was given up on.
    assert state["unsent"] == 0
    for event in state["produced"]["pipeline"]:
        assert state["applied"]["reporting-pipeline"][event] == 1
    for event in state["produced"]["leads"]:
        assert state["applied"]["reporting-leads"][event] == 1
    assert state["documents_seen"] == len(state["opportunities"])
    assert chaos.servers.nats_url is not None
    assert asyncio.run(dead_letters(chaos.servers.nats_url)) == 0

    # Reporting equals the pipeline's source of truth.
    assert state["funnel_count"] == len(state["opportunities"])
    (first, *_) = state["funnel"]
    reported = sum(Decimal(m["amount"]) for m in first["amounts"]["byCurrency"])
    assert reported == sum(state["opportunities"].values())


def test_nothing_is_lost_when_nats_a_service_and_postgresql_die_mid_burst(
    chaos: ChaosSystem,
) -> None:
    team = Team(org=uuid.uuid4(), manager=uuid.uuid4())
    servers, stack = chaos.servers, chaos.writers
    assert servers.nats is not None and servers.postgres is not None
    nats_server, postgres = servers.nats, servers.postgres

    def restart_pipeline() -> None:
        stack.start(["pipeline"])
        stack.wait_ready(90, names=["pipeline"])

    events = [
        (3.0, nats_server.kill),
        (6.0, nats_server.start),
        (8.0, lambda: stack.kill("pipeline")),
        (10.0, restart_pipeline),
        (14.0, postgres.crash),
        (14.0 + DATABASE_DOWN_SECONDS, postgres.start),
    ]
    result = asyncio.run(burst(chaos.gateway_urls(), team, seconds=BURST_SECONDS, clients=6,
                               events=events))
    assert result.acknowledged > 30, result.failures
    state = asyncio.run(wait_settled(chaos, team, within=240))  # type: ignore[arg-type]
    assert_nothing_lost(chaos, team, result, state)


CONSUMERS_DOWN_SECONDS = 60.0
PAUSED = re.compile(r'^crm_inbox_paused\{consumer="([^"]+)"\} 1\.0$', re.MULTILINE)


def test_the_consumers_postgresql_down_a_minute_under_a_write_burst_loses_nothing(
    chaos: ChaosSystem,
) -> None:
    """The consumers' PostgreSQL crashes 4 s into the burst and comes back a minute later,
    while leads and pipeline keep accepting writes and publishing their events: the
    consumers pause (each event stays in progress on the bus, no delivery used up), then
    apply everything once; nothing reaches a dead-letter subject."""
    team = Team(org=uuid.uuid4(), manager=uuid.uuid4())
    postgres = chaos.consumers_postgres
    paused: set[str] = set()

    def consumers_paused() -> None:
        for service in CONSUMERS:
            metrics = httpx.get(f"{chaos.consumers.url(service)}/metrics", timeout=10).text
            paused.update(PAUSED.findall(metrics))

    down_at = 4.0
    events = [
        (down_at, postgres.crash),
        (down_at + CONSUMERS_DOWN_SECONDS - 5, consumers_paused),
        (down_at + CONSUMERS_DOWN_SECONDS, postgres.start),
    ]
    result = asyncio.run(burst(chaos.gateway_urls(), team, clients=4, events=events,
                               seconds=down_at + CONSUMERS_DOWN_SECONDS + 4))
    # The writers went on during the outage (a client writes about 10 a second unloaded).
    assert result.acknowledged > 100, result.failures
    # The consumers that had events in hand waited for their database (none gave up).
    assert {"reporting-leads", "reporting-pipeline", "documents-opportunities"} <= paused, \
        paused
    state = asyncio.run(wait_settled(chaos, team, within=240))  # type: ignore[arg-type]
    assert_nothing_lost(chaos, team, result, state)

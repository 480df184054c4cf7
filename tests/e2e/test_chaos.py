"""Chaos during a write burst (issue 13): NATS killed, a service killed, PostgreSQL crashed and
kept down far longer than a consumer's retries once lasted (they dead-lettered after about
6 s), each brought back. Every acknowledged write is kept, every event reaches each consumer
once, nothing is dead-lettered, and reporting equals the pipeline's source of truth."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import nats
import pytest

from crm.stack import Servers, Stack, available_services, run_migrations
from crmkit.db import SERVICES
from crmkit.embedded import free_port
from crmkit.settings import DEV_JWT_SECRET, Settings

from .scale_out import Team, burst, wait_settled

pytestmark = pytest.mark.e2e

BURST_SECONDS = 34.0
DATABASE_DOWN_SECONDS = 16.0


@dataclass
class ChaosSystem:
    servers: Servers
    stack: Stack

    @property
    def direct_url(self) -> str:
        assert self.servers.database_url is not None
        return self.servers.database_url

    def gateway_urls(self) -> list[str]:
        return [f"{self.stack.url('gateway')}/graphql"]


@pytest.fixture(scope="module")
def chaos() -> Iterator[ChaosSystem]:
    work = Path(tempfile.mkdtemp(prefix="crm-chaos-"))
    servers = Servers(work)
    servers.start()
    assert servers.database_url is not None and servers.nats_url is not None
    services = available_services()
    ports = {name: free_port() for name in ("gateway", *SERVICES, *services)}
    stack = Stack(Settings(environment="test", jwt_secret=DEV_JWT_SECRET),
                  servers.database_url, servers.nats_url, ports, work / "logs")
    try:
        run_migrations(servers.database_url, services)
        stack.start_all(services, gateway=True, timeout=120)
        yield ChaosSystem(servers, stack)
    finally:
        stack.stop()
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)


async def dead_letters(nats_url: str) -> int:
    client = await nats.connect(nats_url)
    try:
        info = await client.jetstream().stream_info("CRM_DLQ")
        return int(info.state.messages)
    finally:
        await client.close()


def test_nothing_is_lost_when_nats_a_service_and_postgresql_die_mid_burst(
    chaos: ChaosSystem,
) -> None:
    team = Team(org=uuid.uuid4(), manager=uuid.uuid4())
    servers, stack = chaos.servers, chaos.stack
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
    assert servers.nats_url is not None
    assert asyncio.run(dead_letters(servers.nats_url)) == 0

    # Reporting equals the pipeline's source of truth.
    assert state["funnel_count"] == len(state["opportunities"])
    (first, *_) = state["funnel"]
    reported = sum(Decimal(m["amount"]) for m in first["amounts"]["byCurrency"])
    assert reported == sum(state["opportunities"].values())

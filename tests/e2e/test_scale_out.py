"""Scale-out under failure: two replicas of every service and two gateways on a 3-node NATS
cluster and PostgreSQL behind PgBouncer (transaction mode); mid-burst one NATS server and one
replica of each service are SIGKILLed, later restarted. Nothing acknowledged is lost, no event
is lost or applied twice, reporting equals the pipeline's truth, every replica worked."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import nats
import pytest

from crmkit.db import SERVICES

from .scale_out import (
    ScaleOutSystem,
    Team,
    all_outbox_rows,
    burst,
    scale_out_system,
    stream_messages,
    wait_settled,
    work_done,
)

pytestmark = pytest.mark.e2e

BURST_SECONDS = 24.0
KILL_AT, RESTART_AT = 7.0, 15.0
KILLED_NODE = 1  # the NATS server replica set 1 was seeded with


@pytest.fixture(scope="module")
def system() -> Iterator[ScaleOutSystem]:
    work = Path(tempfile.mkdtemp(prefix="crm-scale-"))
    try:
        with scale_out_system(work, replicas=2, gateways=2) as running:
            yield running
    finally:
        if not os.environ.get("CRM_KEEP_TEST_DIRS"):
            shutil.rmtree(work, ignore_errors=True)


def test_nothing_is_lost_when_nodes_and_replicas_die_mid_burst(system: ScaleOutSystem) -> None:
    team = Team(org=uuid.uuid4(), manager=uuid.uuid4())
    victims = system.stacks[0]
    work_before_kill: dict[str, dict[str, float]] = {}

    def kill() -> None:
        for service in SERVICES:
            work_before_kill[service] = work_done(victims.url(service))
        system.nats.kill_node(KILLED_NODE)
        for service in SERVICES:
            victims.kill(service)

    def restart() -> None:
        system.nats.start_node(KILLED_NODE)
        victims.start(list(SERVICES))
        victims.wait_ready(90)

    result = asyncio.run(burst(system.gateway_urls(), team, seconds=BURST_SECONDS,
                               events=[(KILL_AT, kill), (RESTART_AT, restart)]))
    assert result.acknowledged > 50, result.failures
    assert result.reads > 0, result.failures
    state = asyncio.run(wait_settled(system, team))

    # Every acknowledged write is in its database.
    assert {uuid.UUID(i) for i in result.leads} <= state["leads"]
    acknowledged = {uuid.UUID(i): amount for i, amount in result.opportunities}
    assert acknowledged.keys() <= state["opportunities"].keys()
    assert all(state["opportunities"][i] == amount for i, amount in acknowledged.items())

    # Every event went out, reached each consumer once, and the stream holds no duplicate.
    assert state["unsent"] == 0
    applied = state["applied"]
    for event in state["produced"]["pipeline"]:
        assert applied["reporting-pipeline"][event] == 1
    for event in state["produced"]["leads"]:
        assert applied["reporting-leads"][event] == 1
    assert state["documents_seen"] == len(state["opportunities"])
    assert asyncio.run(stream_messages(system)) == asyncio.run(all_outbox_rows(system))

    # Reporting equals the pipeline's source of truth (a doubled event would show here).
    assert state["funnel_count"] == len(state["opportunities"])
    (first, *_) = state["funnel"]
    reported = sum(Decimal(m["amount"]) for m in first["amounts"]["byCurrency"])
    assert reported == sum(state["opportunities"].values())

    # Both replicas of each service did work (the killed one before or after its restart).
    for service in SERVICES:
        for index, stack in enumerate(system.stacks):
            done = work_done(stack.url(service))
            if index == 0:
                done = {k: done.get(k, 0) + work_before_kill[service].get(k, 0)
                        for k in {*done, *work_before_kill[service]}}
            wanted = ("requests", "published") if service in ("leads", "pipeline") else (
                "applied",)
            assert all(done.get(kind, 0) > 0 for kind in wanted), (service, index, done)


def test_the_streams_keep_three_copies(system: ScaleOutSystem) -> None:
    async def replicas() -> dict[str, int]:
        client = await nats.connect(system.nats.url.split(","))
        try:
            js = client.jetstream()
            return {name: int((await js.stream_info(name)).config.num_replicas or 1)
                    for name in ("CRM", "CRM_DLQ")}
        finally:
            await client.close()

    assert asyncio.run(replicas()) == {"CRM": 3, "CRM_DLQ": 3}

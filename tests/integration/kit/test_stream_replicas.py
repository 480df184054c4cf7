"""On a 3-node JetStream cluster, start-up raises the streams to CRM_STREAM_REPLICAS and never
lowers an operator's replica count, and waits for a cluster that cannot answer yet."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ServiceUnavailableError

from crmkit.bus import DLQ_STREAM, EVENT_SUBJECTS, ensure_streams, settled
from crmkit.embedded import EmbeddedNatsCluster
from crmkit.testing.plugin import Servers

pytestmark = pytest.mark.integration


@pytest.fixture
async def cluster_js(crm_servers: Servers) -> AsyncIterator[JetStreamContext]:
    cluster = EmbeddedNatsCluster(crm_servers.work_dir / f"cluster-{uuid.uuid4().hex[:6]}")
    cluster.start()
    client = await nats.connect(cluster.url.split(","), connect_timeout=5)
    try:
        yield client.jetstream(timeout=10)
    finally:
        await client.close()
        cluster.stop()


async def replicas(js: JetStreamContext, stream: str) -> int:
    info = await js.stream_info(stream)
    assert info.config is not None
    return int(info.config.num_replicas or 1)


async def test_streams_are_raised_to_the_setting_and_never_lowered(
    cluster_js: JetStreamContext,
) -> None:
    await ensure_streams(cluster_js, "CRM", EVENT_SUBJECTS, replicas=1)
    assert await replicas(cluster_js, "CRM") == 1
    await ensure_streams(cluster_js, "CRM", EVENT_SUBJECTS, replicas=3)
    assert await replicas(cluster_js, "CRM") == 3
    assert await replicas(cluster_js, DLQ_STREAM) == 3
    # A process started with the default (or an older setting) leaves the copies alone.
    await ensure_streams(cluster_js, "CRM", EVENT_SUBJECTS, replicas=1)
    assert await replicas(cluster_js, "CRM") == 3
    assert await replicas(cluster_js, DLQ_STREAM) == 3


async def until_unanswered(js: JetStreamContext) -> None:
    """Until the cluster stops answering JetStream requests. The surviving server goes on
    answering for a moment after its peers died (a leader steps down only when its election
    timeout passes without them), so a request made at once may still succeed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        try:
            await js.consumer_info("CRM", "nobody")
        except (NatsTimeoutError, ServiceUnavailableError):
            return
        except NotFoundError:  # answered: not yet
            assert loop.time() < deadline, "one server of three still answers after 30 s"
            await asyncio.sleep(0.25)


async def test_a_consumer_created_while_the_cluster_has_no_quorum_waits_for_it(
    crm_servers: Servers,
) -> None:
    """A JetStream request made while the cluster cannot answer (here: two of three servers
    down, as during a rolling restart or an election under load) times out; the kit's
    ``settled`` retries it until the cluster is back, so a service starting at that moment
    does not exit (seen: a notifications replica died at start-up on a consumer lookup)."""
    cluster = EmbeddedNatsCluster(crm_servers.work_dir / f"cluster-{uuid.uuid4().hex[:6]}")
    cluster.start()
    client = await nats.connect(cluster.url.split(",")[0], connect_timeout=5)
    try:
        js = client.jetstream(timeout=1)
        await ensure_streams(client.jetstream(timeout=10), "CRM", EVENT_SUBJECTS, replicas=3)
        cluster.kill_node(1)
        cluster.kill_node(2)
        await until_unanswered(js)
        durable = f"settled-{uuid.uuid4().hex[:6]}"
        subscribing = asyncio.create_task(settled(
            lambda: js.pull_subscribe("crm.leads.>", durable=durable, stream="CRM"),
            f"consumer {durable}"))
        await asyncio.sleep(3)
        assert not subscribing.done()
        # A node back from SIGKILL recovers its stream and catches up before it answers
        # healthy: 10-40 s on two cores, more when the machine is busy (one CI run passed
        # the 60 s the cluster waits by default).
        await asyncio.to_thread(cluster.start_node, 1, wait=False)
        await asyncio.to_thread(cluster.wait_healthy, 180, [1])
        subscription = await asyncio.wait_for(subscribing, 60)
        assert (await js.consumer_info("CRM", durable)).name == durable
        await subscription.unsubscribe()
    finally:
        await client.close()
        cluster.stop()

"""On a 3-node JetStream cluster, start-up raises the streams to CRM_STREAM_REPLICAS and never
lowers an operator's replica count."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from crmkit.bus import DLQ_STREAM, EVENT_SUBJECTS, ensure_streams
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

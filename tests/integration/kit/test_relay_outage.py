"""A broker outage delays events, never loses or doubles them."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from crmkit.bus import make_broker
from crmkit.embedded import EmbeddedNats
from crmkit.inbox import InboxConsumer
from crmkit.relay import OutboxRelay
from crmkit.testing.plugin import Servers

from .conftest import STREAM, KitDb, inbox, outbox, prepare_stream
from .test_outbox_inbox import apply_effect, create_widgets, effect_counts, wait_for

pytestmark = pytest.mark.integration


async def test_relay_resumes_after_nats_is_killed_mid_stream(
    clean_db: KitDb, crm_servers: Servers
) -> None:
    nats = EmbeddedNats(crm_servers.work_dir / f"nats-outage-{uuid.uuid4().hex[:6]}")
    nats.start()
    broker = make_broker(nats.url)
    try:
        await broker.connect()
        await prepare_stream(broker)
        consumer = InboxConsumer(
            "kit-outage",
            apply_effect,
            clean_db.sessions,
            inbox,
            subject="crm.kittest.>",
            stream=STREAM,
        )
        consumer.register(broker)
        await consumer.start()
        relay = OutboxRelay(
            clean_db.engine,
            outbox,
            broker,
            stream=STREAM,
            batch_size=50,
            idle_poll_seconds=0.1,
            publish_timeout=1.0,
        )
        stop = asyncio.Event()
        relay_task = asyncio.create_task(relay.run(stop))

        created: list[uuid.UUID] = []
        for batch in range(20):
            created += await create_widgets(clean_db, 50)
            if batch == 6:
                nats.kill()  # a crash, mid-stream, while the relay is publishing
            if batch == 12:
                nats.start()  # same port, same JetStream directory
            await asyncio.sleep(0.05)

        async def all_applied() -> bool:
            return len(await effect_counts(clean_db)) == len(created)

        await wait_for(all_applied, seconds=60)
        stop.set()
        await relay_task
        counts = await effect_counts(clean_db)
        assert set(counts) == set(created)
        assert set(counts.values()) == {1}
        info = await broker.config.connection_state.stream.stream_info(STREAM)
        assert info.state.messages == len(created)  # no duplicate reached the stream
        async with clean_db.engine.connect() as conn:
            unsent = await conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            )
            assert unsent.scalar() == 0
    finally:
        await consumer.stop()
        await broker.stop()
        nats.stop()

"""A database outage pauses a consumer; it never uses up an event's deliveries."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.engine import make_url

from crmkit.db import create_engine, session_factory
from crmkit.inbox import PAUSED, InboxConsumer
from crmkit.testing.proxy import CuttableProxy

from .conftest import STREAM, KitDb, StartConsumer, inbox
from .test_outbox_inbox import apply_effect, create_widgets, effect_counts, relay_for, wait_for

pytestmark = pytest.mark.integration

# Several ack waits and far beyond the old retries' 0.4 + 0.8 + 1.6 + 3.2 s: the messages stay
# in progress on the bus the whole time, so a longer outage is the same case.
OUTAGE_SECONDS = 15.0
ACK_WAIT_SECONDS = 4.0


async def test_a_long_database_outage_loses_and_doubles_nothing(
    clean_db: KitDb, broker: NatsBroker, start_consumer: StartConsumer
) -> None:
    url = make_url(clean_db.url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    engine = create_engine(url.set(host="127.0.0.1", port=proxy.port)
                           .render_as_string(hide_password=False), pool_size=4)
    name = f"kit-outage-{uuid.uuid4().hex[:6]}"
    consumer = InboxConsumer(
        name,
        apply_effect,
        session_factory(engine),
        inbox,
        subject="crm.kittest.>",
        stream=STREAM,
        max_deliveries=2,
        batch_size=10,
        ack_wait_seconds=ACK_WAIT_SECONDS,
    )
    consumer.register(broker)
    js = broker.config.connection_state.stream
    relay = relay_for(clean_db, broker)
    try:
        await start_consumer(consumer)
        created = await create_widgets(clean_db, 20)
        await relay.relay_once()

        async def first_applied() -> bool:
            return len(await effect_counts(clean_db)) == 20

        await wait_for(first_applied, seconds=30)

        await proxy.cut()  # PostgreSQL gone for the consumer, mid-stream
        for _ in range(4):
            created += await create_widgets(clean_db, 10)
            await relay.relay_once()
            await asyncio.sleep(0.2)
        await asyncio.sleep(OUTAGE_SECONDS)
        assert consumer.dead_lettered == 0
        assert PAUSED.labels(name)._value.get() == 1
        await proxy.restore()

        async def all_applied() -> bool:
            return len(await effect_counts(clean_db)) == len(created)

        await wait_for(all_applied, seconds=60)
        counts = await effect_counts(clean_db)
        assert set(counts) == set(created)
        assert set(counts.values()) == {1}  # each applied exactly once
        assert consumer.dead_lettered == 0
        # Nothing on the dead-letter subject (asked of the stream: an empty fetch on a loaded
        # machine could end in JetStream's 503 rather than a timeout).
        held = await js.stream_info("CRM_DLQ", subjects_filter=f"crm.dlq.{name}")
        assert not held.state.subjects
        assert PAUSED.labels(name)._value.get() == 0
    finally:
        await consumer.stop()
        await engine.dispose()
        await proxy.stop()

"""The relay's run loop: it keeps one connection while it works, survives losing it, and
gathers a steady stream of commits into batches."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from faststream.nats import NatsBroker
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from crmkit.relay import OutboxRelay

from .conftest import STREAM, KitDb, outbox
from .test_outbox_inbox import create_widgets, stream_messages, wait_for

pytestmark = pytest.mark.integration


def all_sent(db: KitDb) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        async with db.engine.connect() as conn:
            query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            return (await conn.execute(query)).scalar_one() == 0

    return check


async def test_relay_takes_a_new_connection_when_its_own_is_killed(
    clean_db: KitDb, broker: NatsBroker
) -> None:
    engine = create_async_engine(
        clean_db.url, connect_args={"server_settings": {"application_name": "relay-under-test"}}
    )
    relay = OutboxRelay(engine, outbox, broker, stream=STREAM, idle_poll_seconds=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await create_widgets(clean_db, 3)
        await wait_for(all_sent(clean_db))
        async with clean_db.engine.connect() as conn:
            killed = (await conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'relay-under-test'"))).scalar_one()
        assert killed == 1  # the one connection the relay keeps
        await create_widgets(clean_db, 4)
        await wait_for(all_sent(clean_db))
        assert await stream_messages(broker) == 7
    finally:
        stop.set()
        await task
        await engine.dispose()


async def test_a_steady_stream_of_commits_is_published_in_batches(
    clean_db: KitDb, broker: NatsBroker
) -> None:
    linger = 0.2
    relay = OutboxRelay(clean_db.engine, outbox, broker, stream=STREAM, linger_seconds=linger)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        started = time.monotonic()
        for _ in range(40):  # one commit (waking the relay) every 5 ms
            await create_widgets(clean_db, 1)
            await asyncio.sleep(0.005)
        await wait_for(all_sent(clean_db))
        elapsed = time.monotonic() - started
        assert relay.published == 40
        assert await stream_messages(broker) == 40
        # While events flow, batches start at least a linger apart, however slowly a loaded
        # machine commits; without the linger each commit would be a batch of its own (40
        # where a quiet machine allows about 4).
        assert relay.batches <= 1 + elapsed / linger, (relay.batches, elapsed)
    finally:
        stop.set()
        await task

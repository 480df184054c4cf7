"""A tiny service of widgets, built only from the kit, to prove the kit's plumbing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from faststream.nats import NatsBroker
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crmkit.bus import ensure_stream, ensure_streams, make_broker
from crmkit.contracts import Event
from crmkit.db import create_engine, drop_database, ensure_database, session_factory, with_database
from crmkit.inbox import InboxConsumer
from crmkit.tables import inbox_table, outbox_table
from crmkit.testing.plugin import Servers

STREAM = "KITTEST"
SUBJECTS = ("crm.kittest.>",)

metadata = MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
widgets = Table(
    "widgets",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False, index=True),
    Column("name", String(100), nullable=False),
)
effects = Table(
    "effects",
    metadata,
    Column("widget_id", Uuid, primary_key=True),
    Column("applied", Integer, nullable=False),
)


class WidgetCreated(Event):
    TYPE = "crm.kittest.widget.created"

    widget_id: uuid.UUID
    name: str


@dataclass
class KitDb:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture(scope="session")
async def kit_db(crm_servers: Servers) -> AsyncIterator[KitDb]:
    name = f"crm_kit_test_{uuid.uuid4().hex[:8]}"
    await ensure_database(crm_servers.database_url, name)
    url = with_database(crm_servers.database_url, name)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield KitDb(url=url, engine=engine, sessions=session_factory(engine))
    await engine.dispose()
    await drop_database(crm_servers.database_url, name)


@pytest.fixture
async def clean_db(kit_db: KitDb) -> KitDb:
    async with kit_db.engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox, inbox, widgets, effects"))
    return kit_db


async def prepare_stream(broker: NatsBroker) -> None:
    js = broker.config.connection_state.stream
    await ensure_stream(js, STREAM, SUBJECTS)
    await ensure_streams(js)  # the dead-letter stream
    await js.purge_stream(STREAM)


@pytest.fixture
async def broker(crm_servers: Servers) -> AsyncIterator[NatsBroker]:
    broker = make_broker(crm_servers.nats_url)
    await broker.connect()
    await prepare_stream(broker)
    yield broker
    await broker.stop()


StartConsumer = Callable[[InboxConsumer], Awaitable[None]]


@pytest.fixture
async def start_consumer() -> AsyncIterator[Callable[[InboxConsumer], Awaitable[None]]]:
    """Starts consumers for a test and stops them after it."""
    started: list[InboxConsumer] = []

    async def start(consumer: InboxConsumer) -> None:
        await consumer.start()
        started.append(consumer)

    yield start
    for consumer in started:
        await consumer.stop()

"""What one service process runs besides HTTP: its database, the bus, the relay, consumers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from faststream.nats import NatsBroker
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crmkit.bus import ensure_streams, make_broker
from crmkit.db import create_engine, service_database_url, session_factory
from crmkit.inbox import BatchHandler, Handler, InboxConsumer
from crmkit.relay import OutboxRelay
from crmkit.settings import Settings

log = logging.getLogger("crm.runtime")

Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class ServiceRuntime:
    """Database engine, broker, outbox relay and inbox consumers of one service."""

    service: str
    settings: Settings
    metadata: MetaData
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: NatsBroker
    consumers: list[InboxConsumer] = field(default_factory=list)
    run_relay: bool = True
    relay: OutboxRelay | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _workers: list[Worker] = field(default_factory=list)
    _started: bool = False
    _relay_engine: AsyncEngine | None = None

    @classmethod
    def create(
        cls,
        service: str,
        settings: Settings,
        metadata: MetaData,
        *,
        database_url: str | None = None,
        run_relay: bool = True,
    ) -> ServiceRuntime:
        # A service's own database setting (``CRM_PIPELINE_DATABASE_URL``...) wins over the
        # database named after it on CRM_DATABASE_URL's server.
        database_url = database_url or getattr(settings, f"{service}_database_url", None)
        if settings.database_url is None and database_url is None:
            raise SystemExit("invalid setting CRM_DATABASE_URL: required to run a service")
        if settings.nats_url is None:
            raise SystemExit("invalid setting CRM_NATS_URL: required to run a service")
        url = database_url or service_database_url(str(settings.database_url), service)
        engine = create_engine(url, pool_size=settings.db_pool_size)
        return cls(
            service=service,
            settings=settings,
            metadata=metadata,
            engine=engine,
            sessions=session_factory(engine),
            broker=make_broker(settings.nats_url),
            run_relay=run_relay,
        )

    @property
    def outbox(self) -> Table:
        return self.metadata.tables["outbox"]

    @property
    def inbox(self) -> Table:
        return self.metadata.tables["inbox"]

    def consume(
        self, name: str, handler: Handler, *, subject: str = "crm.>",
        batch_handler: BatchHandler | None = None,
    ) -> InboxConsumer:
        consumer = InboxConsumer(
            name,
            handler,
            self.sessions,
            self.inbox,
            subject=subject,
            stream=self.settings.stream_name,
            max_deliveries=self.settings.inbox_max_deliveries,
            retention_seconds=self.settings.inbox_retention_days * 86_400,
            batch_handler=batch_handler,
        )
        consumer.register(self.broker)
        self.consumers.append(consumer)
        return consumer

    async def start(self) -> None:
        await self.broker.connect()
        await ensure_streams(self.broker.config.connection_state.stream, self.settings.stream_name)
        await self.broker.start()
        for consumer in self.consumers:
            await consumer.start()
        if self.run_relay:
            # The relay gets connections of its own: a service busy with requests must not
            # starve the publishing of its events.
            self._relay_engine = create_engine(str(self.engine.url.render_as_string(
                hide_password=False)), pool_size=2)
            self.relay = OutboxRelay(
                self._relay_engine,
                self.outbox,
                self.broker,
                stream=self.settings.stream_name,
                batch_size=self.settings.outbox_batch_size,
                retention_seconds=self.settings.outbox_retention_hours * 3600,
            )
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop)))
        self._stop.clear()
        self._tasks += [asyncio.create_task(worker(self._stop)) for worker in self._workers]
        self._started = True

    def spawn(self, worker: Worker) -> None:
        """Run a background worker from start-up to shutdown; it gets the stop event."""
        self._workers.append(worker)
        if self._started:
            self._tasks.append(asyncio.create_task(worker(self._stop)))

    async def stop(self) -> None:
        self._started = False
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        self._tasks.clear()
        for consumer in self.consumers:
            await consumer.stop()
        with contextlib.suppress(Exception):
            await self.broker.stop()
        if self._relay_engine is not None:
            await self._relay_engine.dispose()
            self._relay_engine = None
        await self.engine.dispose()

    async def database_ready(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def bus_ready(self) -> bool:
        try:
            return bool(self.broker.connection.is_connected)
        except Exception:
            return False

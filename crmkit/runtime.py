"""What one service process runs besides HTTP: its database, the bus, the relay, the inbox
consumers and the periodic workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from faststream.nats import NatsBroker
from prometheus_client import Gauge
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crmkit.bus import ensure_streams, make_broker
from crmkit.contracts import Envelope
from crmkit.db import create_engine, service_database_url, session_factory
from crmkit.inbox import InboxConsumer
from crmkit.migrations import SchemaCheck, service_migrations
from crmkit.outbox import InboxUnitOfWork, SqlUnitOfWork
from crmkit.relay import OutboxRelay
from crmkit.settings import Settings
from crmkit.uow import UnitOfWork

log = logging.getLogger("crm.runtime")

R = TypeVar("R")

# Connections of a process's outbox relay, on top of CRM_DB_POOL_SIZE (the connection budget
# in docs/operations.md counts both).
RELAY_POOL_SIZE = 2

Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
Subscriber = Callable[[Envelope, UnitOfWork[R]], Awaitable[None]]
"""``async def on_x(envelope, uow)``: applies one event; opens and commits ``uow`` itself."""
BatchSubscriber = Callable[[list[Envelope], UnitOfWork[R]], Awaitable[None]]
"""Applies a pulled batch's new events together, in order, in one transaction."""
Job = Callable[[], Awaitable[object]]
"""One pass of a periodic worker; a truthy result means it found work (run again soon)."""


async def run_periodically(
    job: Job,
    stop: asyncio.Event,
    *,
    interval: float,
    busy_interval: float | None = None,
    log: logging.Logger = log,
) -> None:
    """The loop of :meth:`ServiceRuntime.every`, until ``stop`` is set."""
    busy = interval if busy_interval is None else busy_interval
    failures = 0
    while not stop.is_set():
        try:
            found = await job()
            failures = 0
            pause = busy if found else interval
        except Exception:
            failures += 1
            log.exception("periodic job failed (%d in a row); retrying", failures)
            pause = min(interval * 2 ** (failures - 1), max(interval, 30.0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)

BUS_CONNECTED = Gauge(
    "crm_bus_connected",
    "1 while the service's NATS connection is up; events wait in the outbox while it is 0",
    ["service"],
)


@dataclass
class ServiceRuntime(Generic[R]):
    """Database engine, broker, outbox relay, inbox consumers and periodic workers of one
    service. ``repository`` builds the service's repository over a session: every unit of work
    of the service (:meth:`uow`, and each subscriber's) carries one."""

    service: str
    settings: Settings
    metadata: MetaData
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: NatsBroker
    repository: Callable[[AsyncSession], R]
    consumers: list[InboxConsumer] = field(default_factory=list)
    run_relay: bool = True
    relay: OutboxRelay | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _workers: list[Worker] = field(default_factory=list)
    _started: bool = False
    _idle_sessions: list[AsyncSession] = field(default_factory=list)
    _relay_engine: AsyncEngine | None = None
    schema: SchemaCheck | None = None
    # Run last when the runtime stops (a service's own clients: the documents' object store).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        service: str,
        settings: Settings,
        metadata: MetaData,
        repository: Callable[[AsyncSession], R],
        *,
        database_url: str | None = None,
        run_relay: bool = True,
    ) -> ServiceRuntime[R]:
        # A service's own database setting (``CRM_PIPELINE_DATABASE_URL``...) wins over the
        # database named after it on CRM_DATABASE_URL's server.
        database_url = database_url or getattr(settings, f"{service}_database_url", None)
        if settings.database_url is None and database_url is None:
            raise SystemExit("invalid setting CRM_DATABASE_URL: required to run a service")
        if settings.nats_url is None:
            raise SystemExit("invalid setting CRM_NATS_URL: required to run a service")
        url = database_url or service_database_url(str(settings.database_url), service)
        engine = create_engine(
            url,
            pool_size=settings.db_pool_size,
            prepared_statements=settings.db_prepared_statements,
        )
        runtime = cls(
            service=service,
            settings=settings,
            metadata=metadata,
            engine=engine,
            sessions=session_factory(engine),
            broker=make_broker(settings.nats_url),
            repository=repository,
            run_relay=run_relay,
        )
        with contextlib.suppress(LookupError):
            runtime.schema = SchemaCheck.of(service_migrations(service))
        BUS_CONNECTED.labels(service).set_function(lambda: float(runtime.bus_ready()))
        return runtime

    @property
    def outbox(self) -> Table:
        return self.metadata.tables["outbox"]

    @property
    def inbox(self) -> Table:
        return self.metadata.tables["inbox"]

    @property
    def has_outbox(self) -> bool:
        return "outbox" in self.metadata.tables

    def uow(self) -> SqlUnitOfWork[R]:
        """A unit of work of its own transaction (a request's)."""
        return SqlUnitOfWork(self.sessions, self.outbox, self.repository, self._idle_sessions)

    def subscribe(
        self,
        name: str,
        subject: str,
        subscriber: Subscriber[R],
        *,
        batch: BatchSubscriber[R] | None = None,
    ) -> InboxConsumer:
        """A durable inbox consumer ``name`` (plus ``settings.consumer_suffix``) of the events
        on ``subject`` (NATS wildcards). Each event reaches ``subscriber`` with a unit of work
        riding on the inbox transaction, so its effect, its own events and the inbox row
        commit together; ``batch`` takes a pulled batch's new events at once instead."""
        outbox = self.outbox if self.has_outbox else None
        repository = self.repository

        async def one(envelope: Envelope, session: AsyncSession) -> None:
            await subscriber(envelope, InboxUnitOfWork(session, outbox, repository(session)))

        async def many(envelopes: list[Envelope], session: AsyncSession) -> None:
            assert batch is not None
            await batch(envelopes, InboxUnitOfWork(session, outbox, repository(session)))

        consumer = InboxConsumer(
            name + self.settings.consumer_suffix,
            one,
            self.sessions,
            self.inbox,
            subject=subject,
            stream=self.settings.stream_name,
            max_deliveries=self.settings.inbox_max_deliveries,
            retention_seconds=self.settings.inbox_retention_days * 86_400,
            batch_handler=many if batch is not None else None,
        )
        consumer.register(self.broker)
        self.consumers.append(consumer)
        return consumer

    async def deliver(self, envelope: Envelope) -> bool:
        """Apply ``envelope`` through every consumer of its subject, as the bus would (tests);
        False when none applied it (none takes it, or each had applied it already)."""
        applied = [await c.apply(envelope) for c in self.consumers if c.matches(envelope.type)]
        return any(applied)

    def every(
        self,
        name: str,
        job: Job,
        *,
        interval: float,
        busy_interval: float | None = None,
    ) -> None:
        """Run ``job`` from start-up to shutdown: again after ``busy_interval`` when it found
        work (a truthy result), after ``interval`` when it did not. A failure is logged and
        retried after ``interval``, doubling while failures repeat (at most ``max(interval,
        30 s)``). Several processes may run the same job: jobs claim their rows (``SKIP
        LOCKED``) or take an advisory lock."""
        worker_log = logging.getLogger(f"crm.{self.service}.{name}")
        self.spawn(lambda stop: run_periodically(
            job, stop, interval=interval, busy_interval=busy_interval, log=worker_log
        ))

    async def start(self) -> None:
        await self.broker.connect()
        await ensure_streams(
            self.broker.config.connection_state.stream,
            self.settings.stream_name,
            replicas=self.settings.stream_replicas,
        )
        await self.broker.start()
        for consumer in self.consumers:
            await consumer.start()
        if self.run_relay:
            # The relay gets connections of its own: a service busy with requests must not
            # starve the publishing of its events.
            self._relay_engine = create_engine(
                self.engine.url.render_as_string(hide_password=False),
                pool_size=RELAY_POOL_SIZE,
                prepared_statements=self.settings.db_prepared_statements,
            )
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
        # Together: each finishes the batch in hand (its fetch waits at most a second).
        await asyncio.gather(*(consumer.stop() for consumer in self.consumers))
        with contextlib.suppress(Exception):
            await self.broker.stop()
        if self._relay_engine is not None:
            await self._relay_engine.dispose()
            self._relay_engine = None
        await self.engine.dispose()
        for close in self.closers:
            with contextlib.suppress(Exception):
                await close()

    async def database_ready(self) -> bool:
        """The database answers and its schema is not older than this code's (a pod of a new
        release stays out of its Service until its migrations have run)."""
        try:
            async with self.engine.connect() as conn:
                if self.schema is None:
                    await conn.execute(text("SELECT 1"))
                    return True
                return await self.schema.current(conn)
        except Exception:
            return False

    def bus_ready(self) -> bool:
        try:
            return bool(self.broker.connection.is_connected)
        except Exception:
            return False

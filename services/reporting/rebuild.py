"""Rebuilding the read tables from the CRM stream while queries keep being answered.

1. Create a fresh schema ``rb_<stamp>`` holding empty read tables.
2. Replay the stream from its first message into it (an ephemeral consumer, no acks), batch by
   batch, with the same projection code as the live consumers (``schema_translate_map``).
3. In one transaction: take the projection lock exclusively (live consumers hold it shared
   while they apply an event, so none is half-way), replay what reached the stream meanwhile,
   then rename ``reporting`` -> ``rb_<stamp>_old`` and ``rb_<stamp>`` -> ``reporting``. Queries
   see the old tables until that commit and the new ones after it; PostgreSQL resets cached
   plans when a schema is renamed.
4. Drop the old schema.

Live consumers keep their durable position: an event they apply after the swap that the
rebuild had already replayed changes nothing (every projection is guarded by the aggregate's
version), so nothing is lost or counted twice.

It needs the whole history in the stream: the ``CRM`` stream keeps events without an age or
size limit (``crmkit.bus.ensure_stream``); do not add ``max_age``/``max_bytes`` to it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError as StreamNotFound
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from crmkit.contracts import Envelope
from crmkit.db import create_engine, service_database_url
from crmkit.outbox import InboxUnitOfWork
from crmkit.settings import Settings
from services.reporting.events import CONSUMERS
from services.reporting.handlers.projection import project_batch
from services.reporting.repository import PROJECTION_LOCK, SqlReportingRepository
from services.reporting.tables import PROJECTION_SCHEMA, PROJECTION_TABLES, metadata

log = logging.getLogger("crm.reporting.rebuild")

# Held for the whole rebuild so two rebuilds never run at once.
REBUILD_LOCK = PROJECTION_LOCK + 1
FETCH_BATCH = 1000


class RebuildError(Exception):
    """The rebuild could not run; the live tables are untouched."""


@dataclass(frozen=True, slots=True)
class RebuildReport:
    schema: str
    events_replayed: int
    last_sequence: int
    seconds: float


async def rebuild(
    settings: Settings, *, database_url: str | None = None, batch_size: int = FETCH_BATCH
) -> RebuildReport:
    """Replay the CRM stream into fresh read tables and swap them in atomically."""
    if settings.nats_url is None:
        raise RebuildError("invalid setting CRM_NATS_URL: required to rebuild")
    if database_url is None:
        if settings.database_url is None:
            raise RebuildError("invalid setting CRM_DATABASE_URL: required to rebuild")
        database_url = service_database_url(str(settings.database_url), "reporting")
    started = time.perf_counter()
    engine = create_engine(
        database_url, pool_size=4, prepared_statements=settings.db_prepared_statements
    )
    nc = await nats.connect(settings.nats_url)
    try:
        async with engine.connect() as guard:
            locked = await guard.scalar(select(func.pg_try_advisory_lock(REBUILD_LOCK)))
            if not locked:
                raise RebuildError("another rebuild is running")
            try:
                replay = _Replay(engine, nc.jetstream(), settings.stream_name, batch_size)
                report = await replay.run()
            finally:
                await guard.execute(select(func.pg_advisory_unlock(REBUILD_LOCK)))
                await guard.commit()
    finally:
        await nc.close()
        await engine.dispose()
    seconds = time.perf_counter() - started
    log.info("rebuilt reporting from %d events in %.1fs", report.events_replayed, seconds)
    return RebuildReport(report.schema, report.events_replayed, report.last_sequence, seconds)


class _Replay:
    def __init__(
        self, engine: AsyncEngine, js: JetStreamContext, stream: str, batch_size: int
    ) -> None:
        self._engine = engine
        self._js = js
        self._stream = stream
        self._batch = batch_size
        self._schema = f"rb_{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:6]}"
        self._position = 0
        self._replayed = 0

    async def run(self) -> RebuildReport:
        await self._drop_leftovers()
        await self._create_tables()
        try:
            async with self._subscription() as sub:
                started = time.perf_counter()
                await self._replay_until(sub, await self._last_sequence(), None)
                log.info("replayed %d events into %s in %.1fs", self._replayed, self._schema,
                         time.perf_counter() - started)
                started = time.perf_counter()
                await self._swap(sub)
                log.info("caught up and swapped in %.2fs", time.perf_counter() - started)
        except BaseException:
            async with self._engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{self._schema}" CASCADE'))
            raise
        return RebuildReport(self._schema, self._replayed, self._position, 0.0)

    async def _drop_leftovers(self) -> None:
        """Schemas of a rebuild that died half-way (we hold the rebuild lock, so none runs)."""
        async with self._engine.begin() as conn:
            names = await conn.scalars(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rb\\_%'")
            )
            for name in list(names):
                await conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))

    async def _create_tables(self) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{self._schema}"'))
            translated = await conn.execution_options(
                schema_translate_map={PROJECTION_SCHEMA: self._schema}
            )
            await translated.run_sync(
                lambda sync: metadata.create_all(sync, tables=list(PROJECTION_TABLES))
            )

    async def _last_sequence(self) -> int:
        try:
            info = await self._js.stream_info(self._stream)
        except StreamNotFound:
            return 0
        return int(info.state.last_seq)

    @asynccontextmanager
    async def _subscription(self) -> AsyncIterator[JetStreamContext.PullSubscription]:
        name = f"reporting-rebuild-{uuid.uuid4().hex[:8]}"
        await self._js.add_consumer(
            self._stream,
            ConsumerConfig(
                name=name,
                filter_subjects=list(CONSUMERS.values()),
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=300.0,
                mem_storage=True,
            ),
        )
        sub = await self._js.pull_subscribe_bind(consumer=name, stream=self._stream)
        try:
            yield sub
        finally:
            await sub.unsubscribe()
            try:
                await self._js.delete_consumer(self._stream, name)
            except Exception as error:  # it expires by itself after inactive_threshold
                log.warning("could not delete rebuild consumer %s: %s", name, error)

    async def _replay_until(
        self,
        sub: JetStreamContext.PullSubscription,
        target: int,
        conn: AsyncConnection | None,
    ) -> None:
        """Apply messages up to stream sequence ``target``: batch by batch in transactions of
        their own, or inside ``conn``'s transaction when given."""
        while self._position < target:
            try:
                messages = await sub.fetch(self._batch, timeout=2.0)
            except TimeoutError:
                # The filtered tail may hold nothing for us; what the stream has is read.
                pending = (await sub.consumer_info()).num_pending
                if pending == 0:
                    self._position = target
                    return
                continue
            envelopes = []
            for msg in messages:
                self._position = msg.metadata.sequence.stream
                envelopes.append(Envelope.from_json(msg.data))
            if conn is None:
                async with self._engine.connect() as own, own.begin():
                    await self._apply(own, envelopes)
            else:
                await self._apply(conn, envelopes)

    async def _apply(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        translated = await conn.execution_options(
            schema_translate_map={PROJECTION_SCHEMA: self._schema}
        )
        # Inside the caller's transaction: the session's commit releases a savepoint only.
        session = AsyncSession(bind=translated, join_transaction_mode="create_savepoint")
        repository = SqlReportingRepository(session)
        try:
            # The live consumers' projection of a pulled batch, riding on this transaction.
            await project_batch(envelopes, InboxUnitOfWork(session, None, repository))
            self._replayed += len(envelopes)
            # Fold as we go, so the swapped-in tables carry no backlog of deltas.
            while await repository.compact_funnel(lock=False):
                pass
            await session.commit()
        finally:
            await session.close()

    async def _swap(self, sub: JetStreamContext.PullSubscription) -> None:
        retired = f"{self._schema}_old"
        async with self._engine.connect() as conn, conn.begin():
            await conn.execute(select(func.pg_advisory_xact_lock(PROJECTION_LOCK)))
            await self._replay_until(sub, await self._last_sequence(), conn)
            await conn.execute(text(f'ALTER SCHEMA "{PROJECTION_SCHEMA}" RENAME TO "{retired}"'))
            await conn.execute(
                text(f'ALTER SCHEMA "{self._schema}" RENAME TO "{PROJECTION_SCHEMA}"')
            )
        async with self._engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{retired}" CASCADE'))

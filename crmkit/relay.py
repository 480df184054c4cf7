"""Outbox relay: publishes committed outbox rows to JetStream, then marks them sent.

- Several relays may run at once: rows are claimed with ``FOR UPDATE SKIP LOCKED``.
- Per-aggregate order: a row is only claimed when no earlier unsent row of its aggregate is
  outside the claimed batch (held by another relay), and one aggregate's rows are published
  one after another, stopping at the first failure.
- A broker outage delays events, never loses them: rows stay unsent until JetStream acks.
  A re-publish after a crash carries the same ``Nats-Msg-Id`` and the stream drops it.
- Sent rows are kept for ``retention_seconds`` (to see what went out), then deleted by the
  relay in small batches while it is idle, at most once a minute, so the table stays small.

Cost: a batch is a few round trips on the pooled asyncpg connection (statements prepared
once per connection), whatever its size, so under a steady stream of commits the relay
lingers a little between batches (``linger_seconds``) to publish several events per batch
rather than one; the first event after a quiet spell goes out at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from typing import Any

import asyncpg
from faststream.nats import NatsBroker
from prometheus_client import Counter
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from crmkit.db import driver_connection
from crmkit.outbox import on_outbox_commit

log = logging.getLogger("crm.relay")

PUBLISHED = Counter("crm_outbox_published_total", "Outbox events published to the bus",
                    ["table"])

# A claimed row goes out only when no earlier unsent row of its aggregate is outside the batch
# (held by another relay). The check is a LATERAL probe with LIMIT 1 so that it stays a few
# index lookups per claimed row: written as NOT EXISTS, PostgreSQL turned it into a hash anti
# join over every unsent row (36 ms a batch with 90,000 waiting, 3.5 ms this way).
_CLAIM = """
WITH batch AS (
    SELECT seq, aggregate_id FROM {table}
    WHERE sent_at IS NULL
    ORDER BY seq
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), claimed AS (
    SELECT array_agg(seq) AS seqs FROM batch
)
SELECT o.seq, o.event_id, o.subject, o.aggregate_id, o.envelope::text AS envelope
FROM {table} o JOIN batch b ON b.seq = o.seq
CROSS JOIN LATERAL (
    SELECT count(*) AS blockers FROM (
        SELECT 1 FROM {table} earlier
        WHERE earlier.aggregate_id = b.aggregate_id
          AND earlier.sent_at IS NULL
          AND earlier.seq < b.seq
          AND earlier.seq <> ALL ((SELECT seqs FROM claimed)::bigint[])
        LIMIT 1
    ) blocking
) waits
WHERE waits.blockers = 0
ORDER BY o.seq
"""

_MARK_SENT = "UPDATE {table} SET sent_at = now() WHERE seq = ANY($1::bigint[])"

# Oldest first by primary key: sent rows gather at the low end of ``seq``.
_PRUNE = """
DELETE FROM {table} WHERE seq IN (
    SELECT seq FROM {table}
    WHERE sent_at < now() - make_interval(secs => $1)
    ORDER BY seq
    LIMIT $2
)
"""
PRUNE_INTERVAL_SECONDS = 60.0
PRUNE_BATCH = 5_000


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Table,
        broker: NatsBroker,
        *,
        stream: str = "CRM",
        batch_size: int = 500,
        idle_poll_seconds: float = 0.25,
        publish_timeout: float = 5.0,
        linger_seconds: float = 0.01,
        retention_seconds: float = 86_400.0,
    ) -> None:
        self._engine = engine
        self._stream = stream
        self._broker = broker
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._publish_timeout = publish_timeout
        self._linger = linger_seconds
        name = outbox.name
        self._claim_sql = _CLAIM.format(table=name)
        self._mark_sql = _MARK_SENT.format(table=name)
        self._prune_sql = _PRUNE.format(table=name)
        self._retention = retention_seconds
        self._pruned_at = time.monotonic()
        self._wake = asyncio.Event()
        self.published = 0
        self._published_metric = PUBLISHED.labels(name)
        self.batches = 0  # batches that published something
        self.rounds = 0  # claims made, found rows or not

    def wake(self) -> None:
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish one batch; returns how many events were published."""
        async with driver_connection(self._engine) as conn:
            return await self._relay_batch(conn)

    async def _relay_batch(self, conn: asyncpg.Connection) -> int:
        async with conn.transaction():
            rows = await conn.fetch(self._claim_sql, self._batch_size)
            if not rows:
                return 0
            sent = await self._publish(rows)
            if sent:
                await conn.execute(self._mark_sql, sent)
        self.published += len(sent)
        self._published_metric.inc(len(sent))
        return len(sent)

    async def prune(self) -> int:
        """Delete sent rows older than the retention; how many were deleted."""
        async with driver_connection(self._engine) as conn:
            return await self._prune(conn)

    async def _prune(self, conn: asyncpg.Connection) -> int:
        deleted = 0
        while True:
            status = await conn.execute(self._prune_sql, self._retention, PRUNE_BATCH)
            count = int(status.split()[-1])
            deleted += count
            if count < PRUNE_BATCH:
                return deleted

    async def _publish(self, rows: list[Any]) -> list[int]:
        if len(rows) == 1:
            return await self._publish_in_order(rows)
        by_aggregate: dict[Any, list[Any]] = defaultdict(list)
        for row in rows:
            by_aggregate[row["aggregate_id"]].append(row)
        results = await asyncio.gather(
            *(self._publish_in_order(group) for group in by_aggregate.values())
        )
        return [seq for group in results for seq in group]

    async def _publish_in_order(self, rows: list[Any]) -> list[int]:
        sent: list[int] = []
        for row in rows:
            try:
                # JetStream's own client: the envelope is already JSON, and per-message
                # overhead decides the relay's throughput.
                await self._broker.config.connection_state.stream.publish(
                    row["subject"],
                    row["envelope"].encode(),
                    timeout=self._publish_timeout,
                    stream=self._stream,
                    headers={
                        "Nats-Msg-Id": str(row["event_id"]),
                        "content-type": "application/json",
                    },
                )
            except Exception as error:
                log.warning("publish of %s failed, will retry: %s", row["event_id"], error)
                break
            sent.append(row["seq"])
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; woken by this process's commits, else polling. One
        pooled connection is kept while it works, a fresh one taken after an error."""
        unsubscribe = on_outbox_commit(self.wake)
        backoff = 0.1
        try:
            while not stop.is_set():
                done = self.rounds
                try:
                    async with driver_connection(self._engine) as conn:
                        await self._serve(conn, stop)
                except Exception as error:
                    if self.rounds > done:
                        backoff = 0.1
                    log.warning("outbox relay error, retrying in %.1fs: %s", backoff, error)
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            unsubscribe()

    async def _serve(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            # Cleared before the claim: a commit from now on is seen by the next one.
            self._wake.clear()
            count = await self._relay_batch(conn)
            self.rounds += 1
            if count:
                self.batches += 1
            if count >= self._batch_size:
                continue
            if count > 0:
                # Events are flowing: let the next ones gather for one batch.
                await _sleep_or_stop(stop, self._linger - (time.monotonic() - started))
            elif time.monotonic() - self._pruned_at >= PRUNE_INTERVAL_SECONDS:
                self._pruned_at = time.monotonic()
                await self._prune(conn)
            if not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait(stop), self._idle_poll)

    async def _wait(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

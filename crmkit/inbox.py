"""Inbox consumers: each event applied at most once per consumer, dead letters after N tries.

The ``(consumer, event_id)`` row is inserted in the same transaction as the handler's effect,
so a redelivered event finds it, is acked and skipped. A handler that keeps refusing an event sends
it to ``crm.dlq.<consumer>`` with the error, logged and counted, after ``max_deliveries``
attempts; a dependency that is down (database, bus, a timeout) pauses the consumer instead and
never counts against an event (:func:`crmkit.failures.is_transient`).

A pulled batch is applied in order, in one transaction (one commit per batch instead of one
per event), its inbox rows written by one statement. A consumer given a ``batch_handler``
hands it the batch's fresh events together, in order (a projection then reads and writes a
whole batch in a few round trips); otherwise ``handler`` gets them one by one.
When any event of the batch fails, the batch is rolled back and its events are applied one
transaction each, so only the failing event is retried or dead-lettered.

The pull loop is ours (one fetch per round on the broker's JetStream connection) rather than
faststream's batch subscriber: that one re-fetches with ever shorter deadlines, and a pull
request that expires on the client but not yet on the server captures the next messages until
their ack wait runs out (seen as 20-30 s stalls). See docs/adr/0005-inbox-pull-loop.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Gauge
from pydantic import ValidationError
from sqlalchemy import (
    Float,
    String,
    Table,
    Uuid,
    bindparam,
    delete,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.bus import DLQ_STREAM, dlq_subject, settled
from crmkit.contracts import Envelope
from crmkit.failures import is_transient
from crmkit.outbox import wake_relay_after

log = logging.getLogger("crm.inbox")

APPLIED = Counter(
    "crm_inbox_events_total",
    "Events a consumer took from the bus: applied, or skipped as applied before",
    ["consumer", "outcome"],
)
PAUSED = Gauge(
    "crm_inbox_paused",
    "1 while a consumer waits for its database or the bus to come back",
    ["consumer"],
)
DEAD_LETTERS = Counter(
    "crm_inbox_dead_letters_total",
    "Events a consumer gave up on and sent to its dead-letter subject (crm dlq list)",
    ["consumer"],
)

Handler = Callable[[Envelope, AsyncSession], Awaitable[None]]
PRUNE_INTERVAL_SECONDS = 3600.0
PRUNE_BATCH = 5_000
# Applies a batch's events not applied before, in order, within the batch's transaction.
BatchHandler = Callable[[list[Envelope], AsyncSession], Awaitable[None]]


class InboxConsumer:
    """One durable JetStream pull consumer feeding one handler."""

    def __init__(
        self,
        name: str,
        handler: Handler,
        sessions: async_sessionmaker[AsyncSession],
        inbox: Table,
        *,
        subject: str = "crm.>",
        stream: str = "CRM",
        max_deliveries: int = 5,
        retention_seconds: float = 7 * 86_400.0,
        batch_size: int = 100,
        ack_wait_seconds: float = 30.0,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self.name = name
        self._handler = handler
        self._batch_handler = batch_handler
        i = inbox.c
        self._record_batch = (
            insert(inbox)
            .from_select(
                ["consumer", "event_id", "subject"],
                select(
                    literal(name, String),
                    func.unnest(bindparam("ids", type_=ARRAY(Uuid))),
                    func.unnest(bindparam("subjects", type_=ARRAY(String))),
                ),
            )
            .on_conflict_do_nothing()
            .returning(i.event_id)
        )
        self._sessions = sessions
        self._inbox = inbox
        self._subject = subject
        self._stream = stream
        self._max_deliveries = max_deliveries
        self._retention = retention_seconds
        self._pruned_at = time.monotonic()
        # A batch at a time, so no delete holds many locks or runs long; the filter on the
        # consumer rides on the primary key.
        self._prune_batch = delete(inbox).where(
            tuple_(i.consumer, i.event_id).in_(
                select(i.consumer, i.event_id)
                .where(i.consumer == name,
                       i.processed_at < func.now() - func.make_interval(
                           0, 0, 0, 0, 0, 0, bindparam("retention", type_=Float)))
                .limit(PRUNE_BATCH)
            )
        )
        self._batch_size = batch_size
        self.ack_wait = ack_wait_seconds
        self._broker: NatsBroker | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self.applied = 0
        self.skipped = 0
        self.dead_lettered = 0

    def register(self, broker: NatsBroker) -> None:
        """Bind to the broker whose connection the consumer will pull on (see ``start``)."""
        self._broker = broker

    async def start(self) -> None:
        """Create or resume the durable consumer and start pulling."""
        assert self._broker is not None, "register() the consumer with a broker first"
        js: JetStreamContext = self._broker.config.connection_state.stream
        self._subscription = await settled(lambda: js.pull_subscribe(
            self._subject,
            durable=self.name,
            stream=self._stream,
            config=ConsumerConfig(
                durable_name=self.name,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=self.ack_wait,
                max_deliver=-1,
                filter_subject=self._subject,
            ),
        ), f"consumer {self.name}")
        self._running = True
        self._task = asyncio.create_task(self._pull_loop(), name=f"inbox:{self.name}")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop pulling once the batch in hand is settled (a fetch waits at most a second).
        Cancelled in the middle of a batch, its unit of work would leave a checked-out
        connection that the engine's dispose cannot close, for the garbage collector to find
        unclosed; so the loop is cancelled only when it overruns ``grace_seconds``."""
        self._running = False
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=grace_seconds)
            if not done:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscription is not None:
            # Messages that reach the pull inbox after the loop stopped would hold the
            # connection's drain until its timeout (30 s of shutdown); unacked, they are
            # redelivered to the durable consumer after the ack wait.
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None

    async def _pull_loop(self) -> None:
        assert self._subscription is not None
        while self._running:
            try:
                messages = await self._subscription.fetch(self._batch_size, timeout=1.0)
            except TimeoutError:  # nothing new: a moment for housekeeping
                if time.monotonic() - self._pruned_at >= PRUNE_INTERVAL_SECONDS:
                    self._pruned_at = time.monotonic()
                    try:
                        await self.prune()
                    except Exception as error:
                        log.warning("consumer %s could not prune its inbox: %s", self.name, error)
                continue
            except NatsError as error:
                log.warning("consumer %s cannot fetch, retrying: %s", self.name, error)
                await asyncio.sleep(0.5)
                continue
            except Exception:
                log.exception("consumer %s: unexpected fetch failure, retrying", self.name)
                await asyncio.sleep(0.5)
                continue
            try:
                await self.apply_messages(messages)
            except Exception:
                # Unacked messages come back after the ack wait; keep the loop alive.
                log.exception("consumer %s could not settle a batch", self.name)
                await asyncio.sleep(0.5)

    async def prune(self) -> int:
        """Delete this consumer's inbox rows older than the retention; how many. Redelivery
        happens within minutes (ack wait, negative-ack backoff), and the relay's re-publish
        after a crash within the stream's duplicate window, so days of rows dedupe plenty."""
        deleted = 0
        while True:
            async with self._sessions() as session, session.begin():
                result = await session.execute(self._prune_batch,
                                               {"retention": self._retention})
            count = int(cast(CursorResult[Any], result).rowcount or 0)
            deleted += count
            if count < PRUNE_BATCH:
                return deleted

    async def _record(self, session: AsyncSession, envelopes: list[Envelope]) -> set[uuid.UUID]:
        """The batch's inbox rows; the ids of the events this consumer had not applied yet."""
        recorded = await session.execute(
            self._record_batch,
            {"ids": [e.id for e in envelopes], "subjects": [e.type for e in envelopes]},
        )
        return {row[0] for row in recorded}

    async def apply(self, envelope: Envelope) -> bool:
        """Apply one event with its inbox row; False when it had been applied already."""
        return (await self.apply_all([envelope]))[0]

    async def apply_all(self, envelopes: list[Envelope]) -> list[bool]:
        """Apply events in order in one transaction; all or none of their effects commit."""
        async with self._sessions() as session:
            async with session.begin():
                outcome = await self._apply_in(session, envelopes)
            wake_relay_after(session)
        self.applied += outcome.count(True)
        self.skipped += outcome.count(False)
        APPLIED.labels(self.name, "applied").inc(outcome.count(True))
        APPLIED.labels(self.name, "skipped").inc(outcome.count(False))
        return outcome

    def matches(self, subject: str) -> bool:
        """True when this consumer's subject filter takes ``subject`` (NATS wildcards)."""
        return subject_matches(self._subject, subject)

    async def _apply_in(self, session: AsyncSession, envelopes: list[Envelope]) -> list[bool]:
        fresh = await self._record(session, envelopes)
        # An event delivered twice within one batch is applied once, at its first place.
        outcome = []
        for envelope in envelopes:
            outcome.append(envelope.id in fresh)
            fresh.discard(envelope.id)
        fresh_events = [e for e, new in zip(envelopes, outcome, strict=True) if new]
        if fresh_events and self._batch_handler is not None:
            await self._batch_handler(fresh_events, session)
        else:
            for envelope in fresh_events:
                await self._handler(envelope, session)
        return outcome

    async def apply_messages(self, messages: list[Msg]) -> None:
        """Apply one pulled batch and settle every message (ack, nak or dead letter).

        While a dependency is down (:func:`crmkit.failures.is_transient`: the database or
        the bus unreachable, a serialization failure, a timeout) the consumer waits and
        retries the messages not settled yet, keeping them in progress on the bus, so an
        outage of any length never counts against an event: only a handler refusing the
        event itself uses up its deliveries."""
        pending: list[tuple[Msg, Envelope]] = []
        for message in messages:
            try:
                pending.append((message, Envelope.from_json(message.data)))
            except ValidationError as error:
                await self._dead_letter(message, f"malformed envelope: {error}")
        outage = _Outage(self)
        while pending:
            try:
                await self._settle(pending)
            except Exception as error:
                if not is_transient(error):
                    raise
                await outage.wait(error, [message for message, _ in pending])
        outage.end()

    async def _settle(self, pending: list[tuple[Msg, Envelope]]) -> None:
        """Settle ``pending`` from its head, removing what is settled; raises a transient
        failure with the rest still in ``pending``."""
        if len(pending) > 1:
            try:
                await self.apply_all([envelope for _, envelope in pending])
            except Exception as error:
                if is_transient(error):
                    raise
                log.info(
                    "consumer %s: batch of %d failed (%s); applying one by one",
                    self.name,
                    len(pending),
                    error,
                )
            else:
                for message, _ in pending:
                    await message.ack()
                pending.clear()
                return
        while pending:
            await self._apply_one(*pending[0])
            pending.pop(0)

    async def _apply_one(self, message: Msg, envelope: Envelope) -> None:
        try:
            await self.apply_all([envelope])
        except Exception as error:
            if is_transient(error):
                raise
            deliveries = _deliveries(message)
            if deliveries >= self._max_deliveries:
                await self._dead_letter(message, f"{type(error).__name__}: {error}")
                return
            log.warning(
                "consumer %s failed on %s (delivery %d), will retry: %s",
                self.name,
                envelope.id,
                deliveries,
                error,
            )
            await message.nak(delay=min(0.2 * 2**deliveries, 10.0))
            return
        await message.ack()

    async def _dead_letter(self, message: Msg, reason: str) -> None:
        assert self._broker is not None
        subject = dlq_subject(self.name)
        await self._broker.publish(
            message.data,
            subject=subject,
            headers={"Crm-Error": reason[:1000], "Crm-Original-Subject": message.subject},
            stream=DLQ_STREAM,
        )
        self.dead_lettered += 1
        DEAD_LETTERS.labels(self.name).inc()
        log.error(
            "consumer %s dead-lettered a message from %s: %s", self.name, message.subject, reason
        )
        await message.ack()


class _Outage:
    """A consumer waiting for a dependency: backs off, keeps its messages in progress on the
    bus (so their ack wait never runs out and adds no delivery), logs the start and the end."""

    FIRST_DELAY = 0.25
    MAX_DELAY = 5.0

    def __init__(self, consumer: InboxConsumer) -> None:
        self._consumer = consumer
        self._since: float | None = None
        self._delay = self.FIRST_DELAY
        self._touched = 0.0

    async def wait(self, error: BaseException, messages: list[Msg]) -> None:
        name = self._consumer.name
        now = time.monotonic()
        if self._since is None:
            self._since = now
            PAUSED.labels(name).set(1)
            log.warning("consumer %s paused, a dependency is unavailable (%s: %s); "
                        "retrying until it is back", name, type(error).__name__, error)
        if now - self._touched >= self._consumer.ack_wait / 3:
            self._touched = now
            for message in messages:
                with contextlib.suppress(Exception):
                    await message.in_progress()
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, self.MAX_DELAY)

    def end(self) -> None:
        if self._since is not None:
            PAUSED.labels(self._consumer.name).set(0)
            log.warning("consumer %s resumed after %.1f s", self._consumer.name,
                        time.monotonic() - self._since)


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, ``>`` one or more trailing tokens."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or (token != "*" and token != tokens[index]):
            return False
    return len(tokens) == len(wanted)


def _deliveries(message: Msg) -> int:
    try:
        return int(message.metadata.num_delivered)
    except Exception:
        return 1

"""Inbox consumers: each event applied at most once per consumer, dead letters after N tries.

The ``(consumer, event_id)`` row is inserted in the same transaction as the handler's effect,
so a redelivered event finds it, is acked and skipped. A handler that keeps failing sends the
message to ``crm.dlq.<consumer>`` with the error, logged, after ``max_deliveries`` attempts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.bus import dlq_subject
from crmkit.contracts import Envelope

log = logging.getLogger("crm.inbox")

Handler = Callable[[Envelope, AsyncSession], Awaitable[None]]


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
        batch_size: int = 64,
        ack_wait_seconds: float = 30.0,
    ) -> None:
        self.name = name
        self._handler = handler
        self._sessions = sessions
        self._inbox = inbox
        self._subject = subject
        self._stream = stream
        self._max_deliveries = max_deliveries
        self._batch_size = batch_size
        self._ack_wait = ack_wait_seconds
        self._broker: NatsBroker | None = None
        self.applied = 0
        self.skipped = 0
        self.dead_lettered = 0

    def register(self, broker: NatsBroker) -> None:
        self._broker = broker
        subscriber = broker.subscriber(
            self._subject,
            stream=JStream(self._stream, declare=False),
            durable=self.name,
            pull_sub=PullSub(batch_size=self._batch_size, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
            config=ConsumerConfig(ack_wait=self._ack_wait, max_deliver=-1),
            title=f"{self.name}:{self._subject}",
        )
        subscriber(self.on_message)

    async def apply(self, envelope: Envelope) -> bool:
        """Apply one event with its inbox row; False when it had been applied already."""
        async with self._sessions() as session, session.begin():
            recorded = await session.execute(
                insert(self._inbox)
                .values(consumer=self.name, event_id=envelope.id, subject=envelope.type)
                .on_conflict_do_nothing()
                .returning(self._inbox.c.event_id)
            )
            if recorded.first() is None:
                self.skipped += 1
                return False
            await self._handler(envelope, session)
        self.applied += 1
        return True

    async def on_message(self, decoded: Any, msg: NatsMessage) -> None:
        # faststream already decoded the JSON; the raw bytes are what we validate and keep.
        body: bytes = msg.body
        try:
            envelope = Envelope.from_json(body)
        except ValidationError as error:
            await self._dead_letter(body, msg, f"malformed envelope: {error}")
            return
        try:
            await self.apply(envelope)
        except Exception as error:
            deliveries = _deliveries(msg)
            if deliveries >= self._max_deliveries:
                await self._dead_letter(body, msg, f"{type(error).__name__}: {error}")
                return
            log.warning(
                "consumer %s failed on %s (delivery %d), will retry: %s",
                self.name,
                envelope.id,
                deliveries,
                error,
            )
            await msg.nack(delay=min(0.2 * 2**deliveries, 10.0))
            return
        await msg.ack()

    async def _dead_letter(self, body: bytes, msg: NatsMessage, reason: str) -> None:
        assert self._broker is not None
        subject = dlq_subject(self.name)
        original = getattr(msg.raw_message, "subject", "")
        await self._broker.publish(
            body,
            subject=subject,
            headers={"Crm-Error": reason[:1000], "Crm-Original-Subject": str(original)},
            stream="CRM_DLQ",
        )
        self.dead_lettered += 1
        log.error("consumer %s dead-lettered a message from %s: %s", self.name, original, reason)
        await msg.ack()


def _deliveries(msg: NatsMessage) -> int:
    raw: Any = msg.raw_message
    try:
        return int(raw.metadata.num_delivered)
    except Exception:
        return 1

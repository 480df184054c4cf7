"""Dead letters: the events a consumer gave up on (``crm.dlq.<consumer>`` in the ``CRM_DLQ``
stream, each with its error), listed and replayed.

A replay applies the event through the consumer's inbox (:meth:`InboxConsumer.apply`): its
effect and its inbox row commit together, so an event replayed twice, or one that had been
applied before it was dead-lettered, takes effect once. Only then is the dead letter removed;
a replay the handler still refuses leaves it where it is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from crmkit.bus import DLQ_STREAM, dlq_subject
from crmkit.contracts import Envelope
from crmkit.inbox import InboxConsumer

_PREFIX = dlq_subject("")


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    consumer: str
    original_subject: str
    error: str
    time: datetime | None
    event: Envelope | None  # None when the message was not a valid envelope

    @property
    def event_id(self) -> uuid.UUID | None:
        return self.event.id if self.event is not None else None


async def dead_letters(js: JetStreamContext, consumer: str | None = None) -> list[DeadLetter]:
    """Every dead letter (of one consumer), oldest first."""
    subject = dlq_subject(consumer) if consumer else f"{_PREFIX}>"
    found: list[DeadLetter] = []
    sequence = 1
    while True:
        try:
            message = await js.get_msg(DLQ_STREAM, sequence, subject=subject, next=True)
        except NotFoundError:
            return found
        assert message.seq is not None
        headers = message.headers or {}
        try:
            event: Envelope | None = Envelope.from_json(message.data or b"")
        except ValidationError:
            event = None
        found.append(DeadLetter(
            sequence=message.seq,
            consumer=(message.subject or "").removeprefix(_PREFIX),
            original_subject=headers.get("Crm-Original-Subject", ""),
            error=headers.get("Crm-Error", ""),
            time=message.time,
            event=event,
        ))
        sequence = message.seq + 1


class NotReplayable(Exception):
    """A dead letter that cannot be replayed; the message says why."""


async def replay(js: JetStreamContext, letter: DeadLetter, consumer: InboxConsumer) -> bool:
    """Apply ``letter``'s event through ``consumer``'s inbox, then remove the dead letter.
    True when the event took effect now, False when it had been applied before. A handler
    that refuses it again raises, and the dead letter stays."""
    if letter.event is None:
        raise NotReplayable(f"dead letter {letter.sequence} holds no valid event")
    if consumer.name != letter.consumer:
        raise NotReplayable(f"dead letter {letter.sequence} belongs to {letter.consumer}")
    applied = await consumer.apply(letter.event)
    await js.delete_msg(DLQ_STREAM, letter.sequence)
    return applied

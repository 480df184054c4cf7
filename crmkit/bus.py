"""The message bus: JetStream streams and the faststream broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import (
    APIError,
    BadRequestError,
    NotFoundError,
    ServerError,
    ServiceUnavailableError,
)

# Every producing service owns one subject tree; dead letters live in a stream of their own
# because JetStream streams may not overlap (``crm.>`` would swallow ``crm.dlq.>``).
EVENT_SUBJECTS = (
    "crm.leads.>", "crm.pipeline.>", "crm.documents.>", "crm.reporting.>", "crm.notifications.>"
)
DLQ_STREAM = "CRM_DLQ"
DLQ_SUBJECTS = ("crm.dlq.>",)
DUPLICATE_WINDOW_SECONDS = 120.0

log = logging.getLogger("crm.bus")

T = TypeVar("T")


def dlq_subject(consumer: str) -> str:
    return f"crm.dlq.{consumer}"


def make_broker(url: str, **kwargs: object) -> NatsBroker:
    return NatsBroker(
        url,
        # Per-message "Received"/"Processed" lines are debug detail, not operations news.
        logger=logging.getLogger("crm.bus"),
        log_level=logging.DEBUG,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
        **kwargs,  # type: ignore[arg-type]
    )


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    subjects: tuple[str, ...],
    *,
    replicas: int = 1,
    attempts: int = 12,
) -> None:
    """Create or update a stream. Events are kept without an age limit: reporting rebuilds
    its read models by replaying the stream from the beginning.

    ``replicas`` is a floor, not a value to impose: a stream an operator scaled to more
    copies keeps them (a start-up must never take an R3 stream back to R1), and a stream
    with fewer is raised to it (JetStream moves a stream between 1 and 3 copies in place).

    On a cluster, creating a replicated stream takes a moment, and every replica of every
    service tries at once when they start together: a request that times out or loses the
    race is retried (it then finds the stream and updates it)."""
    await settled(lambda: _ensure_stream_once(js, name, subjects, replicas),
                  f"stream {name}", attempts=attempts)


async def settled(
    operation: Callable[[], Awaitable[T]], what: str, *, attempts: int = 12
) -> T:
    """``operation`` (a JetStream API request), retried while the cluster is still electing
    a leader, placing a stream or creating the same thing for another replica: on a
    cluster started together with the services (or under load) such a request can time out
    for a few seconds, and a service must not die of it at start-up."""
    for attempt in range(attempts):
        try:
            return await operation()
        except (NatsTimeoutError, NoRespondersError, APIError) as error:
            # Errors of the request itself (a bad config) would not heal: only a cluster
            # still electing, placing or already creating the thing is waited for.
            if isinstance(error, APIError) and not isinstance(
                error, ServiceUnavailableError | ServerError | BadRequestError
            ):
                raise
            if attempt == attempts - 1:
                raise
            log.info("%s not settled yet (%s), retrying", what, error)
            await asyncio.sleep(min(0.25 * 2**attempt, 5.0))
    raise AssertionError("unreachable")


async def _ensure_stream_once(
    js: JetStreamContext, name: str, subjects: tuple[str, ...], replicas: int
) -> None:
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(_stream_config(name, subjects, replicas))
        return
    current = (info.config.num_replicas if info.config else None) or 1
    if current > replicas:
        log.info("stream %s keeps its %d replicas (CRM_STREAM_REPLICAS=%d)",
                 name, current, replicas)
    await js.update_stream(_stream_config(name, subjects, max(current, replicas)))


def _stream_config(name: str, subjects: tuple[str, ...], replicas: int) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=list(subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=0,
        num_replicas=replicas,
    )


async def ensure_streams(
    js: JetStreamContext,
    name: str = "CRM",
    subjects: tuple[str, ...] = EVENT_SUBJECTS,
    *,
    replicas: int = 1,
) -> None:
    await ensure_stream(js, name, subjects, replicas=replicas)
    await ensure_stream(js, DLQ_STREAM, DLQ_SUBJECTS, replicas=replicas)

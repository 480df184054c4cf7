"""Reading a request body, one rule for the gateway and every service: counted as it arrives
(chunked bodies too) and refused past a limit; ended when the client sends nothing for
``BODY_IDLE_SECONDS`` (a slow or stalled client must not hold a request for ever) and when
it goes away (logged as what it is, one line, no traceback).

Request headers have their own limit in the HTTP protocol (:mod:`crmkit.http_protocol`)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive

log = logging.getLogger("crm.http")

# A body read stalls no longer than this between two chunks.
BODY_IDLE_SECONDS = 20.0
# A stalled read ends between BODY_IDLE_SECONDS and this much later.
SWEEP_SECONDS = 1.0

TIMED_OUT_MESSAGE = "request body not received in time"
TIMED_OUT_CODE = "REQUEST_TIMEOUT"
TIMED_OUT_STATUS = 408
TOO_LARGE_CODE = "PAYLOAD_TOO_LARGE"
TOO_LARGE_STATUS = 413
# What nginx logs for a client that went away before its answer; never sent.
CLIENT_CLOSED_REQUEST = 499

__all__ = [
    "BODY_IDLE_SECONDS",
    "CLIENT_CLOSED_REQUEST",
    "TIMED_OUT_CODE",
    "TIMED_OUT_MESSAGE",
    "TIMED_OUT_STATUS",
    "TOO_LARGE_CODE",
    "TOO_LARGE_STATUS",
    "BodyTimedOut",
    "BodyTooLarge",
    "ClientDisconnect",
    "Refusal",
    "read_body",
    "refusal",
    "stream_body",
]


class BodyTooLarge(Exception):
    """The body (declared or counted) is longer than the limit."""


class BodyTimedOut(Exception):
    """The client sent no part of its body for ``BODY_IDLE_SECONDS``."""


@dataclass(frozen=True)
class Refusal:
    """How a refused body is answered, by every edge alike (the gateway, the services, the
    web app's forms, the documents' uploads): the HTTP status, the error code (none for a
    client that went away: the answer goes nowhere) and the message."""

    status: int
    code: str | None
    message: str


def refusal(error: BodyTooLarge | BodyTimedOut | ClientDisconnect, limit: int) -> Refusal:
    """The answer to a body :func:`read_body` or :func:`stream_body` refused with ``error``,
    ``limit`` being the bytes it allowed."""
    if isinstance(error, BodyTooLarge):
        return Refusal(TOO_LARGE_STATUS, TOO_LARGE_CODE, f"request body exceeds {limit} bytes")
    if isinstance(error, BodyTimedOut):
        return Refusal(TIMED_OUT_STATUS, TIMED_OUT_CODE, TIMED_OUT_MESSAGE)
    return Refusal(CLIENT_CLOSED_REQUEST, None, "client disconnected")


class _Watch:
    """The body reads in progress on one event loop, each with the sweep in which its client
    was last heard from, looked at by one timer every ``SWEEP_SECONDS`` while there are any.
    A timer of its own per read (``asyncio.timeout``) cost 3-5 us a request, a few per cent
    of the gateway's CPU per request; an entry here costs a fraction of a microsecond."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sweeps = 0
        self.heard: dict[asyncio.Task[object], int] = {}
        self.expired: set[asyncio.Task[object]] = set()
        self.timer: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        period = min(SWEEP_SECONDS, BODY_IDLE_SECONDS / 4)
        idle_sweeps = math.ceil(BODY_IDLE_SECONDS / period)
        self.timer = self.loop.call_later(period, self._sweep, idle_sweeps)

    def _sweep(self, idle_sweeps: int) -> None:
        self.sweeps += 1
        for task, heard in list(self.heard.items()):
            if self.sweeps - heard > idle_sweeps and task not in self.expired:
                self.expired.add(task)
                task.cancel()
        if self.heard:
            self.arm()
        else:
            self.timer = None
            _watches.pop(self.loop, None)


# One watch per running loop (tests run several), kept only while a read is in progress.
_watches: dict[asyncio.AbstractEventLoop, _Watch] = {}


async def read_body(receive: Receive, limit: int, declared_length: str | None = None) -> bytes:
    """The whole body of the request whose ``receive`` this is, refused past ``limit`` bytes
    (at once when ``declared_length``, the Content-Length, says so).

    Raises :class:`BodyTooLarge`, :class:`BodyTimedOut`, or starlette's ``ClientDisconnect``
    for a client that went away (logged here)."""
    if declared_length and declared_length.isdigit() and int(declared_length) > limit:
        raise BodyTooLarge
    loop = asyncio.get_running_loop()
    task = asyncio.current_task(loop)
    assert task is not None  # an ASGI app runs in a task
    watch = _watches.get(loop)
    if watch is None:
        watch = _watches[loop] = _Watch(loop)
    heard = watch.heard
    heard[task] = watch.sweeps
    if watch.timer is None:
        watch.arm()
    cancelling = task.cancelling()
    try:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        more = message.get("more_body", False)
        body: bytes = message.get("body", b"")
        if len(body) > limit:
            raise BodyTooLarge
        if not more:  # the whole body in one message, the common case
            return body
        chunks = bytearray(body)
        while more:
            heard[task] = watch.sweeps
            message = await receive()
            if message["type"] != "http.request":
                raise ClientDisconnect
            chunks.extend(message.get("body", b""))
            if len(chunks) > limit:
                raise BodyTooLarge
            more = message.get("more_body", False)
        return bytes(chunks)
    except asyncio.CancelledError:
        if task not in watch.expired or task.uncancel() > cancelling:
            raise  # cancelled by someone else (a shutdown) too
        raise BodyTimedOut from None
    except ClientDisconnect:
        log.info("client disconnected before sending its whole request body")
        raise
    finally:
        del heard[task]
        if watch.expired:
            watch.expired.discard(task)


async def stream_body(
    receive: Receive, limit: int, declared_length: str | None = None
) -> AsyncIterator[bytes]:
    """The body chunk by chunk as it arrives, for one too large to hold (an upload), under
    the same rules as :func:`read_body`: the idle limit counts only the time spent waiting
    for the client, not what the caller does with a chunk."""
    if declared_length and declared_length.isdigit() and int(declared_length) > limit:
        raise BodyTooLarge
    one = _OneChunk(receive)
    while one.more:
        chunk = await read_body(one, limit)
        limit -= len(chunk)
        if chunk:
            yield chunk


class _OneChunk:
    """``receive`` with each chunk given as a whole body, so that :func:`read_body` reads one
    at a time; ``more`` tells whether the real body goes on."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.more = True

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] != "http.request":
            return message
        self.more = message.get("more_body", False)
        return {"type": "http.request", "body": message.get("body", b""), "more_body": False}

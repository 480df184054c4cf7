"""The ``moveOpportunity`` load generator, run in a process of its own.

On a 2-core machine the client shares the cores with the service and PostgreSQL, so it must
be cheap: a minimal HTTP/1.1 client on uvloop (keep-alive connections, one request at a time
each, responses framed by Content-Length, which is how the service answers), bodies encoded
and answers decoded with orjson, and its own CPU time reported so that it can be told apart
from the service's. It costs about a third of what aiohttp's client did per request.

Each opportunity has at most one move in flight and is moved Identification <->
Qualification with the version the previous answer returned. Open loop: request ``i`` is due
at ``start + i / rate`` and its latency counts from then, so time spent waiting for a free
connection or opportunity is not hidden. Closed loop: ``concurrency`` clients, each sending
its next request when the previous one is answered.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, cast

import orjson
import uvloop

MOVE = (
    "mutation($id: ID!, $stageId: ID!, $v: Int!) {"
    " moveOpportunity(id: $id, stageId: $stageId, expectedVersion: $v) {"
    " __typename ... on OpportunityPayload { opportunity { version } } } }"
)


TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Plan:
    base_url: str
    bearer: str
    stages: tuple[str, str]  # (first, second): every opportunity starts in the first
    opportunities: list[tuple[str, int]]  # (id, version)
    mode: Literal["open", "closed"]
    seconds: float
    rate: float = 0.0  # open loop: requests per second
    concurrency: int = 32  # closed loop: requests in flight
    connections: int = 256


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    # When each request was due, in seconds from the phase's start (same order).
    due: list[float] = field(default_factory=list)
    failures: int = 0
    first_failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    cpu_seconds: float = 0.0


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"\r\ncontent-length:")
        if start < 0:
            self._fail(ConnectionError("answer without content-length"))
            return
        value_end = head.find(b"\r\n", start + 2)
        length = int(head[start + 17:value_end if value_end >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4:end + 4 + length])
        del self.buffer[:end + 4 + length]
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((int(head[9:12]), body))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("connection closed"))

    async def post(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.answer = loop.create_future()
        timer = loop.call_later(TIMEOUT_SECONDS, self._fail, TimeoutError("no answer"))
        self.transport.write(request)
        try:
            return await self.answer
        finally:
            timer.cancel()


class _Client:
    """Up to ``limit`` connections; a request waits for a free one (that wait counts).
    A connection idle for ``IDLE_SECONDS`` is closed here before the server's keep-alive
    timeout (uvicorn: 5 s) can close it under a request being sent."""

    IDLE_SECONDS = 3.0

    def __init__(self, base_url: str, limit: int) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port or 80)
        self.limit = limit
        self.idle: list[tuple[_Connection, float]] = []
        self.opened = 0
        self.freed = asyncio.Event()

    async def post(self, request: bytes) -> tuple[int, bytes]:
        connection = None
        while connection is None:
            while not self.idle and self.opened >= self.limit:
                self.freed.clear()
                await self.freed.wait()
            if not self.idle:
                break
            candidate, since = self.idle.pop()  # the most recently used
            if candidate.closed or time.monotonic() - since > self.IDLE_SECONDS:
                candidate.close()
                self.opened -= 1
            else:
                connection = candidate
        if connection is None:
            self.opened += 1
            try:
                _, connection = await asyncio.get_running_loop().create_connection(
                    _Connection, self.host, self.port)
            except BaseException:
                self.opened -= 1
                raise
        try:
            return await connection.post(request)
        finally:
            if connection.closed:
                self.opened -= 1
            else:
                self.idle.append((connection, time.monotonic()))
            self.freed.set()

    def close(self) -> None:
        for connection, _ in self.idle:
            connection.close()


class _Mover:
    def __init__(self, client: _Client, plan: Plan, outcome: Outcome) -> None:
        self.client = client
        self.head = (f"POST /graphql HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
                     f"Authorization: Bearer {plan.bearer}\r\n"
                     "Content-Type: application/json\r\nContent-Length: ").encode()
        self.stages = plan.stages
        # (id, version, index of the target stage)
        self.free: deque[tuple[str, int, int]] = deque(
            (opp_id, version, 1) for opp_id, version in plan.opportunities)
        self.available = asyncio.Event()
        self.available.set()
        self.outcome = outcome
        self.started = time.perf_counter()

    async def _take(self) -> tuple[str, int, int]:
        while not self.free:
            self.available.clear()
            await self.available.wait()
        return self.free.popleft()

    async def move_one(self, due: float) -> None:
        opp_id, version, target = await self._take()
        try:
            body = orjson.dumps({"query": MOVE, "variables": {
                "id": opp_id, "stageId": self.stages[target], "v": version}})
            status, raw = await self.client.post(
                self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
            result = orjson.loads(raw)["data"]["moveOpportunity"] if status == 200 else None
            if not result or result["__typename"] != "OpportunityPayload":
                raise RuntimeError(f"{status}: {raw[:300]!r}")
            version, target = result["opportunity"]["version"], 1 - target
        except Exception as error:
            self.outcome.failures += 1
            if len(self.outcome.first_failures) < 5:
                self.outcome.first_failures.append(repr(error))
        finally:
            self.outcome.latencies.append(time.perf_counter() - due)
            self.outcome.due.append(due - self.started)
            self.free.append((opp_id, version, target))
            self.available.set()


async def _open_loop(mover: _Mover, rate: float, seconds: float) -> None:
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(mover.move_one(due)))
    await asyncio.gather(*tasks)


async def _closed_loop(mover: _Mover, concurrency: int, seconds: float) -> None:
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            await mover.move_one(time.perf_counter())

    await asyncio.gather(*(client() for _ in range(concurrency)))


async def _run(plan: Plan) -> Outcome:
    outcome = Outcome()
    client = _Client(plan.base_url, plan.connections)
    try:
        mover = _Mover(client, plan, outcome)
        cpu, started = time.process_time(), time.perf_counter()
        mover.started = started
        if plan.mode == "open":
            await _open_loop(mover, plan.rate, plan.seconds)
        else:
            await _closed_loop(mover, plan.concurrency, plan.seconds)
        outcome.elapsed = time.perf_counter() - started
        outcome.cpu_seconds = time.process_time() - cpu
    finally:
        client.close()
    return outcome


def run(plan: Plan) -> Outcome:
    """Entry point in the load generator's process."""
    return uvloop.run(_run(plan))


def ready() -> bool:
    """Called once so that the process and its imports are up before a timed phase."""
    return True

"""A client that sends its request headers slowly is cut off; one that sends them in time is
served (the protocol every service and the gateway serve with)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from crmkit.embedded import free_port
from crmkit.http_protocol import TimedHttpToolsProtocol

pytestmark = pytest.mark.integration


async def ok(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class QuickTimeout(TimedHttpToolsProtocol):
    header_timeout = 0.5


@pytest.fixture
async def port() -> AsyncIterator[int]:
    chosen = free_port()
    server = uvicorn.Server(uvicorn.Config(ok, host="127.0.0.1", port=chosen, http=QuickTimeout,
                                           lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield chosen
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)


async def test_slow_headers_are_cut_off_and_prompt_ones_served(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: crm\r\n")  # and never the blank line
    await writer.drain()
    closed = await asyncio.wait_for(reader.read(), 5)  # EOF once the server closes
    assert closed == b""
    writer.close()

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for request in range(2):  # the limit starts again for a kept-alive connection's next one
        writer.write(b"GET / HTTP/1.1\r\nHost: crm\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"ok"), 5)
        assert answer.startswith(b"HTTP/1.1 200"), request
        await asyncio.sleep(0.3)
    writer.write(b"GET / HTTP/1.1\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()

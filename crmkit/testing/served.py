"""An ASGI app served by uvicorn on a free local port, for tests that need real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from crmkit.embedded import free_port


@contextlib.asynccontextmanager
async def served(app: Any, **config: Any) -> AsyncIterator[int]:
    """``app`` on 127.0.0.1 until the block ends: its port. ``config``: more of uvicorn's
    settings (``http=``, ``lifespan=``; lifespan off unless asked)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning",
        **{"lifespan": "off", **config}))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        if task.done():
            task.result()  # why it did not start
        await asyncio.sleep(0.02)
    assert server.started, "the test server did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)

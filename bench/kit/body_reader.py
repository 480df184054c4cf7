"""The request body reader's cost per request (gateway and services): microseconds to read a
body that arrived whole, the common case, on uvloop.

    python -m bench.kit.body_reader [--rounds 30] [--reads 20000]

Against: the receive call alone (no limits at all), and the reader under a timer of its own
per request (``asyncio.timeout``, what the services used before one timer per event loop
looked at every read in progress). Minimum over rounds, so load on the machine shows less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

from bench.servers import machine, today
from crmkit.body import read_body

BODY = b'{"query":"{ products(first: 5) { id name price } }"}'
LIMIT = 12 * 1024 * 1024


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


async def bare() -> bytes:
    message = await receive()
    return bytes(message["body"])


async def kit_reader() -> bytes:
    return await read_body(receive, LIMIT, str(len(BODY)))


async def timer_per_request() -> bytes:
    async with asyncio.timeout(20.0):
        return await read_body(receive, LIMIT, str(len(BODY)))


async def measure(rounds: int, reads: int) -> dict[str, float]:
    ways: dict[str, Callable[[], Awaitable[bytes]]] = {
        "receive alone": bare, "kit reader": kit_reader,
        "kit reader under a timer per request": timer_per_request,
    }
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(rounds):
        for name, way in ways.items():
            started = time.perf_counter()
            for _ in range(reads):
                await way()
            best[name] = min(best[name], (time.perf_counter() - started) / reads * 1e6)
    return {name: round(us, 3) for name, us in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--reads", type=int, default=20000)
    options = parser.parse_args()
    load = os.getloadavg()[0]
    results = uvloop.run(measure(options.rounds, options.reads))
    print(json.dumps({"date": today(), "machine": machine(), "load_average_1m": [
        round(load, 2), round(os.getloadavg()[0], 2)], "us_per_read": results}, indent=2))


if __name__ == "__main__":
    main()

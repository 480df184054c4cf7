"""CPU cost per operation of the pipeline service, in-process (no HTTP, no load generator).

Drives the ASGI app directly on a database loaded by ``bench_pipeline --keep`` and reports
the process's CPU milliseconds per request (``time.process_time``), which is far less
sensitive to other load on the machine than wall-clock latency. ``--profile`` prints the
top of a cProfile run of the same requests.

    python -m bench.pipeline.cpu DATABASE_URL [--requests 300] [--only list|move]
        [--profile [cprofile|pyinstrument]] [--no-relay] [--loop uvloop|asyncio]

Events go to an embedded NATS started here (a shared one would hand the service other
tests' lead conversions).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import text

from bench.pipeline.bench_pipeline import LIST, MOVE
from bench.pipeline.load import Dataset, existing
from crmkit.auth import mint_dev_token
from crmkit.db import create_engine
from crmkit.embedded import EmbeddedNats
from crmkit.settings import DEV_JWT_SECRET
from services.pipeline.app import create_app, create_runtime
from services.pipeline.settings import PipelineSettings

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def graphql_scope(body: bytes, bearer: str) -> dict[str, Any]:
    """The ASGI scope of a POST /graphql carrying ``body`` with ``bearer``'s token."""
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"authorization", f"Bearer {bearer}".encode())],
    }


async def post(app: Asgi, bearer: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One POST /graphql straight through the ASGI app."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    scope = graphql_scope(body, bearer)
    sent = False
    chunks: list[bytes] = []
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    answer: dict[str, Any] = json.loads(b"".join(chunks))
    if status != 200 or answer.get("errors"):
        raise RuntimeError(f"{status}: {answer}")
    data: dict[str, Any] = answer["data"]
    return data


def admin_token(data: Dataset) -> str:
    return mint_dev_token(secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=data.org_id,
                          roles=["admin"])


async def measure(name: str, count: int, op: Callable[[int], Awaitable[None]],
                  profile: str | None) -> None:
    for i in range(min(20, count)):  # warm-up: caches, pool connections
        await op(i)
    profiler = cProfile.Profile() if profile == "cprofile" else None
    sampler = None
    if profile == "pyinstrument":
        # A sampling profiler distorts far less than cProfile (not a dependency: install it).
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.0002, async_mode="disabled")
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    if sampler:
        sampler.start()
    for i in range(count):
        await op(i)
    if profiler:
        profiler.disable()
    if sampler:
        sampler.stop()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{name}: {cpu / count * 1000:.2f} ms CPU/request, {wall / count * 1000:.2f} ms "
          f"wall/request (n={count})")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    if sampler:
        print(sampler.output_text(color=False, unicode=False))


async def main(args: argparse.Namespace, nats_url: str) -> None:
    engine = create_engine(args.database_url)
    data = await existing(engine)
    if data is None:
        raise SystemExit("no loaded data: run bench_pipeline --keep first")
    settings = PipelineSettings(environment="test", database_url=args.database_url,
                                nats_url=nats_url, jwt_secret=DEV_JWT_SECRET,
                                log_level="WARNING", pipeline_overdue_interval_seconds=3600,
                                pipeline_database_url=args.database_url)
    runtime = create_runtime(settings)
    # Without the relay: the request path alone (the events stay in the outbox).
    runtime.run_relay = not args.no_relay
    app: Asgi = create_app(settings, runtime=runtime)
    await runtime.start()
    try:
        bearer = admin_token(data)
        stages = {s.name: str(s.id) for s in data.pipeline.stages}
        filters: list[dict[str, Any] | None] = [
            {"stageIds": [stages["Offer"]]}, {"statuses": ["OPEN"]},
            {"ownerIds": [str(data.owners[11])]},
        ]
        cursors: list[str | None] = [None, None, None]

        async def list_page(i: int) -> None:
            k = i % len(filters)
            page = await post(app, bearer, LIST, {"filter": filters[k], "after": cursors[k]})
            info = page["opportunities"]["pageInfo"]
            cursors[k] = info["endCursor"] if info["hasNextPage"] else None

        if args.only in (None, "list"):
            await measure("opportunities(first: 50), filtered", args.requests, list_page,
                          args.profile)
        if args.only == "list":
            return

        first, second = (str(s.id) for s in data.pipeline.ordered_stages()[:2])
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT id, version, stage_id FROM opportunities WHERE org_id = :org "
                "AND stage_id IN (:a, :b) AND contact_made_at IS NOT NULL "
                "AND next_contact_at IS NOT NULL LIMIT :n"),
                {"org": data.org_id, "a": first, "b": second, "n": args.requests + 20})).all()
        movable = [[str(r.id), r.version, second if str(r.stage_id) == first else first]
                   for r in rows]

        async def move(i: int) -> None:
            item = movable[i % len(movable)]
            answer = await post(app, bearer, MOVE, {"id": item[0], "stageId": item[2],
                                                    "v": item[1]})
            result = answer["moveOpportunity"]
            if result["__typename"] != "OpportunityPayload":
                raise RuntimeError(str(result))
            item[1] = result["opportunity"]["version"]
            item[2] = first if item[2] == second else second

        relay = "no relay" if args.no_relay else "relay publishing in the same process"
        await measure(f"moveOpportunity ({relay})", args.requests, move, args.profile)
    finally:
        await runtime.stop()
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", nargs="?", const="cprofile",
                        choices=["cprofile", "pyinstrument"])
    parser.add_argument("--only", choices=["list", "move"])
    parser.add_argument("--no-relay", action="store_true")
    # uvicorn serves on uvloop; the default here is the same loop.
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    work = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    nats = EmbeddedNats(work / "nats")
    nats.start()
    try:
        arguments = parser.parse_args()
        if arguments.loop == "uvloop":
            uvloop.run(main(arguments, nats.url))
        else:
            asyncio.run(main(arguments, nats.url))
    finally:
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)

"""CPU per request of the leads service's answer to the references benchmark's ``_entities``
request, in-process (the ASGI app called directly: no HTTP, no gateway, no other process).

The request is the one the gateway sends leads for ``bench_references``' query (50 accounts
and 50 members, all distinct, two aliased ``_entities`` fields). Reports the process's CPU
milliseconds per request (``time.process_time``, which other load on the machine moves far
less than wall-clock time) and Python calls per request (a cProfile pass of its own);
``--profile`` also prints that pass's top functions.

    flock /tmp/crm-bench.lock .venv/bin/python -m bench.gateway.references_cpu
        [--requests 300] [--rounds 3] [--profile | --served]

``--served`` measures the service as deployed instead (``python -m services.leads``, the
request through HTTP): the process's CPU per request, uvicorn's share included.

Embedded PostgreSQL and NATS, or CRM_BENCH_DATABASE_URL / CRM_BENCH_NATS_URL.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.pipeline.cpu import Asgi, graphql_scope, post
from bench.servers import bench_servers, machine, service_process, today
from crmkit.auth import mint_dev_token
from crmkit.db import ensure_database, service_database_url
from crmkit.embedded import free_port
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET
from services.leads.app import create_app, create_runtime
from services.leads.settings import LeadsSettings

ROOT = Path(__file__).resolve().parents[2]
COUNT = 50
# As the gateway plans it for bench_references' query (gateway.planner).
ENTITIES = (
    "query($_r0: [_Any!]!, $_r1: [_Any!]!) { "
    "_r0: _entities(representations: $_r0) { ... on Account { name nip } } "
    "_r1: _entities(representations: $_r1) { ... on Member { name team } } }"
)


async def seed(post: Post, org: uuid.UUID, admin: str) -> dict[str, Any]:
    """50 members (each registered by a request of their own) and 50 accounts: the
    representations of the two ``_entities`` fields."""
    accounts, members = [], []
    for i in range(COUNT):
        member = uuid.uuid4()
        rep = mint_dev_token(secret=DEV_JWT_SECRET, member_id=member, org_id=org,
                             roles=["rep"], team="alpha", name=f"Rep {i}")
        await post(rep, "{ me { id } }", {})
        created = await post(admin, """mutation($n: String!) { createAccount(
            input: {name: $n}) { ... on AccountPayload { account { id } } } }""",
                             {"n": f"Client {i}"})
        accounts.append({"__typename": "Account",
                         "id": created["createAccount"]["account"]["id"]})
        members.append({"__typename": "Member", "id": str(member)})
    return {"_r0": accounts, "_r1": members}


Post = Callable[[str, str, dict[str, Any]], Awaitable[Any]]
"""``(bearer, query, variables) -> data``"""


def asgi_call(app: Asgi, bearer: str, query: str,
              variables: dict[str, Any]) -> Callable[[], Awaitable[bytes]]:
    """One POST /graphql straight through the ASGI app, its body encoded once (the client's
    JSON is not the service's CPU): the answer's bytes."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    scope = graphql_scope(body, bearer)
    request = {"type": "http.request", "body": body, "more_body": False}

    async def call() -> bytes:
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return request

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return b"".join(chunks)

    return call


async def measure_served(requests: int, rounds: int, server_url: str, nats_url: str) -> None:
    """The same request to the service as deployed (``python -m services.leads``, HTTP
    through uvicorn): the process's CPU per request."""
    port = free_port()
    settings = {"CRM_DATABASE_URL": server_url, "CRM_LEADS_PORT": str(port)}
    with service_process("services.leads", port, nats_url, settings) as (base, cpu):
        url = f"{base}/graphql"
        async with httpx.AsyncClient(timeout=30) as client:

            async def call(bearer: str, query: str, variables: dict[str, Any]) -> Any:
                response = await client.post(url, json={"query": query, "variables": variables},
                                             headers={"Authorization": f"Bearer {bearer}"})
                body = response.json()
                assert response.status_code == 200 and not body.get("errors"), body
                return body["data"]

            org = uuid.uuid4()
            admin = mint_dev_token(secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=org,
                                   roles=["admin"], name="Admin")
            variables = await seed(call, org, admin)
            body = json.dumps({"query": ENTITIES, "variables": variables}).encode()
            headers = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
            for _ in range(20):
                assert (await client.post(url, content=body, headers=headers)).status_code == 200
            cpu_ms = []
            for _ in range(rounds):
                started = cpu.seconds()
                for _ in range(requests):
                    await client.post(url, content=body, headers=headers)
                cpu_ms.append((cpu.seconds() - started) / requests * 1000)
    print(f"machine: {machine()}; date: {today()}; load {os.getloadavg()[0]:.2f}")
    print(f"leads as deployed, _entities (50 Account + 50 Member): CPU per request "
          f"{', '.join(f'{c:.2f}' for c in cpu_ms)} ms")


async def measure(requests: int, rounds: int, profile: bool, served: bool) -> None:
    with bench_servers() as (server_url, nats_url):
        await ensure_database(server_url, "crm_leads")
        await upgrade(ROOT / "services" / "leads" / "migrations",
                      service_database_url(server_url, "leads"))
        if served:
            await measure_served(requests, rounds, server_url, nats_url)
            return
        settings = LeadsSettings(environment="test", database_url=server_url,
                                 nats_url=nats_url, jwt_secret=DEV_JWT_SECRET,
                                 log_level="WARNING")
        runtime = create_runtime(settings)
        app: Asgi = create_app(settings, runtime=runtime)
        await runtime.start()
        try:
            org = uuid.uuid4()
            admin = mint_dev_token(secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=org,
                                   roles=["admin"], name="Admin")
            variables = await seed(partial(post, app), org, admin)
            answer = await post(app, admin, ENTITIES, variables)
            assert all(a["name"].startswith("Client ") for a in answer["_r0"]), answer
            assert all(m["name"].startswith("Rep ") for m in answer["_r1"]), answer
            entities = asgi_call(app, admin, ENTITIES, variables)
            assert json.loads(await entities()) == {"data": answer}
            for _ in range(20):  # warm-up: caches, pool connections
                await entities()
            gc.collect()
            gc.freeze()  # as a served process does after start-up
            cpu_ms = []
            for _ in range(rounds):
                started = time.process_time()
                for _ in range(requests):
                    await entities()
                cpu_ms.append((time.process_time() - started) / requests * 1000)
            profiler = cProfile.Profile()
            profiled = max(requests // 3, 1)
            profiler.enable()
            for _ in range(profiled):
                await entities()
            profiler.disable()
            stats = pstats.Stats(profiler)
            print(f"machine: {machine()}; date: {today()}; load {os.getloadavg()[0]:.2f}")
            print(f"leads _entities (50 Account + 50 Member): CPU per request "
                  f"{', '.join(f'{c:.2f}' for c in cpu_ms)} ms; "
                  f"{stats.total_calls / profiled:,.0f} Python calls per request")  # type: ignore[attr-defined]
            if profile:
                stats.sort_stats("cumulative").print_stats(50)
                stats.sort_stats("tottime").print_stats(30)
        finally:
            await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--served", action="store_true",
                        help="the service as deployed, through HTTP (no profile)")
    args = parser.parse_args()
    uvloop.run(measure(args.requests, args.rounds, args.profile, args.served))


if __name__ == "__main__":
    main()

"""Claims per second with 50 concurrent claimers on one pool, against the service as deployed.

    .venv/bin/python -m bench.leads.bench_claims [--claimers 50] [--claims 4000]
        [--workers 1] [--pool-size 50] [--rounds 1]

The service runs the way ``python -m services.leads`` runs it: a uvicorn process (with
``--workers`` worker processes, ``CRM_LEADS_WORKERS``), each worker with its outbox relay
publishing the claims' ``lead.assigned`` events to JetStream. This process drives it over
HTTP with an aiohttp client: ``--claimers`` concurrent claimers, each sending one
``claimNextLeads(count: 1)`` request after another. Each claim is its own transaction:
member lock, cap check, ``FOR UPDATE SKIP LOCKED`` pick, update and outbox event.

Reported: claims/s, and CPU time per claim of the service's processes, of PostgreSQL (the
embedded server's processes) and of this client process; on a shared machine CPU time per
claim compares between runs, wall time depends on what else runs. Afterwards the database is
checked: every claimed lead has one owner, one ``lead.assigned`` outbox row per claim, all of
them published by the relay.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import asyncpg

from bench.leads.common import (
    leads_database,
    machine_load,
    messy_csv,
    postgres_cpu_seconds,
    process_cpu_seconds,
    token,
)
from bench.servers import ServiceCpu, service_process
from crmkit.db import _asyncpg_dsn
from crmkit.embedded import free_port
from services.leads.cli_import import import_text

CLAIM = "mutation { claimNextLeads(count: 1) { ... on ClaimPayload { leads { id } } } }"


@contextlib.contextmanager
def leads_process(database_url: str, nats_url: str, port: int, workers: int,
                  pool_size: int) -> Iterator[ServiceCpu]:
    with service_process("services.leads", port, nats_url, {
        "CRM_LEADS_DATABASE_URL": database_url,
        "CRM_LEADS_PORT": str(port),
        "CRM_LEADS_WORKERS": str(workers),
        "CRM_DB_POOL_SIZE": str(pool_size),
        # Every claimer claims far more than the default cap of 50 in a run.
        "CRM_DEFAULT_LEAD_CAP": "100000",
        # Not part of this measurement.
        "CRM_IDLE_RETURN_INTERVAL_SECONDS": "86400",
    }) as (_, cpu):
        yield cpu


async def gql(http: aiohttp.ClientSession, url: str, bearer: str, query: str
              ) -> dict[str, Any]:
    async with http.post(url, json={"query": query},
                         headers={"Authorization": f"Bearer {bearer}"}) as response:
        body = await response.json()
    if response.status != 200 or body.get("errors"):
        raise RuntimeError(f"request failed: {response.status} {body}")
    return body["data"]  # type: ignore[no-any-return]


async def drained(conn: asyncpg.Connection) -> None:
    for _ in range(600):
        if await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the outbox relay did not drain")


async def run_round(http: aiohttp.ClientSession, url: str, tokens: list[str],
                    claims: int) -> tuple[float, list[str]]:
    remaining = claims
    claimed: list[str] = []

    async def claimer(bearer: str) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            data = await gql(http, url, bearer, CLAIM)
            claimed.extend(lead["id"] for lead in data["claimNextLeads"]["leads"])

    started = time.perf_counter()
    await asyncio.gather(*(claimer(t) for t in tokens))
    return time.perf_counter() - started, claimed


async def main(claimers: int, claims: int, workers: int, pool_size: int, rounds: int) -> None:
    async with leads_database() as (_server_url, nats_url, url):
        org = uuid.uuid4()
        await import_text(messy_csv(claims * rounds), org, None, database_url=url)
        conn = await asyncpg.connect(_asyncpg_dsn(url))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with leads_process(url, nats_url, port, workers, pool_size) as service_cpu:
            connector = aiohttp.TCPConnector(limit=claimers + 10)
            async with aiohttp.ClientSession(connector=connector) as http:
                tokens = [token(org) for _ in range(claimers)]
                # Concurrently: registers the claimers and opens the pool's connections,
                # as in a service that has been serving for a while.
                await asyncio.gather(*(gql(http, f"{base}/graphql", bearer, "{ me { id } }")
                                       for bearer in tokens))
                await drained(conn)  # the import's events are not the claims' work
                all_claimed: list[str] = []
                for _ in range(rounds):
                    cpu = (service_cpu.seconds(), postgres_cpu_seconds(),
                           process_cpu_seconds())
                    elapsed, claimed = await run_round(
                        http, f"{base}/graphql", tokens, claims)
                    service = (service_cpu.seconds() - cpu[0]) / claims * 1000
                    pg_now = postgres_cpu_seconds()
                    client = (process_cpu_seconds() - cpu[2]) / claims * 1000
                    pg = "" if cpu[1] is None or pg_now is None else (
                        f", PostgreSQL {(pg_now - cpu[1]) / claims * 1000:.2f}")
                    relay_started = time.perf_counter()
                    await drained(conn)
                    print(f"{claims} claims by {claimers} concurrent claimers in "
                          f"{elapsed:.2f} s: {claims / elapsed:.0f} claims/s; CPU ms/claim: "
                          f"service {service:.2f}{pg}, client {client:.2f}; "
                          f"{workers} worker(s), pool {pool_size}; relay drained "
                          f"{time.perf_counter() - relay_started:.2f} s after; "
                          f"{machine_load()}")
                    assert len(claimed) == len(set(claimed)) == claims, "claims lost or doubled"
                    all_claimed += claimed
        owned = await conn.fetchval(
            "SELECT count(*) FROM leads WHERE owner_id IS NOT NULL AND id = ANY($1::uuid[])",
            all_claimed)
        events = await conn.fetch(
            "SELECT aggregate_id, count(*) AS n FROM outbox WHERE subject = $1 "
            "GROUP BY aggregate_id", "crm.leads.lead.assigned")
        unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        await conn.close()
        assert owned == len(all_claimed), "a claimed lead has no owner"
        assert len(events) == len(all_claimed) and all(e["n"] == 1 for e in events), (
            "not one lead.assigned event per claim")
        assert unsent == 0
        print(f"checked: {len(all_claimed)} leads claimed once each, one lead.assigned "
              "event each, all published")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--claimers", type=int, default=50)
    parser.add_argument("--claims", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes of the service")
    parser.add_argument(
        "--pool-size", type=int, default=20,
        help="most database connections per worker (CRM_DB_POOL_SIZE; the service's "
             "default is 20)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs one after another against the same service")
    args = parser.parse_args()
    asyncio.run(main(args.claimers, args.claims, args.workers, args.pool_size, args.rounds))

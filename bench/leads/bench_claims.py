"""Claims per second with 50 concurrent claimers on one pool, through /graphql in-process.

    .venv/bin/python -m bench.leads.bench_claims [--claimers 50] [--claims 4000]
        [--pool-size 10] [--no-relay]

Each claim is one ``claimNextLeads(count: 1)`` request: its own transaction, member lock,
cap check, ``FOR UPDATE SKIP LOCKED`` pick and outbox event. The service runs as deployed,
with its outbox relay publishing the claims' events from the same process, unless
``--no-relay`` (the relay in a process of its own). The benchmark's HTTP client runs in the
same process too, so the CPU time reported per claim includes the client's share.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from bench.leads.common import (
    gql,
    leads_service,
    machine_load,
    messy_csv,
    postgres_cpu_seconds,
    process_cpu_seconds,
    relay_drained,
    token,
)
from services.leads.cli_import import import_text

CLAIM = "mutation { claimNextLeads(count: 1) { ... on ClaimPayload { leads { id } } } }"


async def main(claimers: int, claims: int, pool_size: int, relay: bool) -> None:
    async with leads_service(pool_size=pool_size, relay=relay) as (runtime, client, url):
        org = uuid.uuid4()
        await import_text(messy_csv(claims), org, None, database_url=url)
        tokens = [token(org) for _ in range(claimers)]
        for bearer in tokens:
            await gql(client, bearer, "{ me { id } }")
        if relay:
            await relay_drained(runtime)  # the import's events are not the claims' work
        remaining = claims
        claimed: list[str] = []

        async def claimer(bearer: str) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                data = await gql(client, bearer, CLAIM)
                claimed.extend(lead["id"] for lead in data["claimNextLeads"]["leads"])

        started, cpu_started = time.perf_counter(), process_cpu_seconds()
        pg_started = postgres_cpu_seconds()
        await asyncio.gather(*(claimer(t) for t in tokens))
        elapsed, cpu = time.perf_counter() - started, process_cpu_seconds() - cpu_started
        pg_ended = postgres_cpu_seconds()
        pg = "" if pg_started is None or pg_ended is None else (
            f", PostgreSQL CPU {(pg_ended - pg_started) / claims * 1000:.2f} ms/claim")
        assert len(claimed) == len(set(claimed)) == claims, "claims lost or doubled"
        published = runtime.relay.published if runtime.relay is not None else 0
        print(f"{claims} claims by {claimers} concurrent claimers in {elapsed:.2f} s: "
              f"{claims / elapsed:.0f} claims/s; service+client process CPU "
              f"{cpu / claims * 1000:.2f} ms/claim{pg}; "
              f"pool {pool_size}, relay {'on' if relay else 'off'} "
              f"({published} events published); {machine_load()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--claimers", type=int, default=50)
    parser.add_argument("--claims", type=int, default=4000)
    parser.add_argument("--pool-size", type=int, default=10,
                        help="database connections (the service's default is 10)")
    parser.add_argument("--no-relay", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.claimers, args.claims, args.pool_size, not args.no_relay))

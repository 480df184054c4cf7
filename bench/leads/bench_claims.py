"""Claims per second with 50 concurrent claimers on one pool, through /graphql in-process.

    .venv/bin/python -m bench.leads.bench_claims [--claimers 50] [--claims 4000]

Each claim is one ``claimNextLeads(count: 1)`` request: its own transaction, member lock,
cap check, ``FOR UPDATE SKIP LOCKED`` pick and outbox event.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from bench.leads.common import gql, leads_service, messy_csv, token
from services.leads.cli_import import import_text

CLAIM = "mutation { claimNextLeads(count: 1) { ... on ClaimPayload { leads { id } } } }"


async def main(claimers: int, claims: int) -> None:
    async with leads_service(pool_size=claimers) as (_runtime, client, url):
        org = uuid.uuid4()
        await import_text(messy_csv(claims), org, None, database_url=url)
        tokens = [token(org) for _ in range(claimers)]
        for bearer in tokens:
            await gql(client, bearer, "{ me { id } }")
        remaining = claims
        claimed: list[str] = []

        async def claimer(bearer: str) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                data = await gql(client, bearer, CLAIM)
                claimed.extend(lead["id"] for lead in data["claimNextLeads"]["leads"])

        started = time.perf_counter()
        await asyncio.gather(*(claimer(t) for t in tokens))
        elapsed = time.perf_counter() - started
        assert len(claimed) == len(set(claimed)) == claims, "claims lost or doubled"
        print(f"{claims} claims by {claimers} concurrent claimers in {elapsed:.2f} s: "
              f"{claims / elapsed:.0f} claims/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--claimers", type=int, default=50)
    parser.add_argument("--claims", type=int, default=4000)
    args = parser.parse_args()
    asyncio.run(main(args.claimers, args.claims))

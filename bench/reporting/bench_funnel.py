"""salesFunnel latency at 10,000 and 1,000,000 opportunities.

    python -m bench.reporting.bench_funnel [--sizes 10000,1000000] [--queries 300]

Target (issue 5): p50 <= 10 ms at 1,000,000 opportunities, about flat from 10,000 up.

Each size is an org of its own in one reporting database (so the big org's rows sit beside the
small one's, as in production). The opportunity read table is filled with SQL; the maintained
aggregate is then built by the same recomputation a pipeline reconfiguration runs, and every
query goes to the service running as deployed (its own process, ``python -m services.reporting``),
over HTTP from this process with aiohttp, one at a time; the service's CPU per request is
read from its process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from sqlalchemy import text

from bench.servers import ServiceCpu, bench_servers, machine, service_process, today
from crmkit.auth import mint_dev_token
from crmkit.contracts import Envelope
from crmkit.contracts import pipeline as ev
from crmkit.db import drop_database, ensure_database, with_database
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET
from services.reporting.app import create_runtime
from services.reporting.handlers.projection import project
from services.reporting.settings import ReportingSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "reporting" / "migrations"
OWNERS = 50
TEAMS = 5
MONTHS = 24
CURRENCIES = ("EUR", "USD", "PLN")
STAGES = [("Identification", 10, "open"), ("Qualification", 25, "open"), ("Offer", 50, "open"),
          ("Negotiation", 75, "open"), ("Won", 100, "won"), ("Lost", 0, "lost")]

FUNNEL = """query ($ownerId: ID, $team: String, $closeFrom: Date, $closeTo: Date) {
  salesFunnel(ownerId: $ownerId, team: $team, closeFrom: $closeFrom, closeTo: $closeTo) {
    ... on SalesFunnel { stages { name count reached conversionRate
      amounts { byCurrency { currency amount } converted { amount } }
      weightedAmounts { byCurrency { currency amount } } } }
  }
}"""


async def seed(runtime, size: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    org, pipeline = uuid.uuid4(), uuid.uuid4()
    stage_ids = [uuid.uuid4() for _ in STAGES]
    owners = [uuid.uuid4() for _ in range(OWNERS)]
    configured = ev.PipelineConfigured(
        pipeline_id=pipeline, name="Sales", is_default=True,
        stages=[ev.StageDefinition(id=i, name=n, position=p + 1, probability=pr, kind=k)  # type: ignore[arg-type]
                for p, (i, (n, pr, k)) in enumerate(zip(stage_ids, STAGES, strict=True))],
    )
    await project(Envelope.wrap(configured, org_id=org, aggregate_id=pipeline,
                                aggregate_version=1), runtime.uow())
    ids = ",".join(f"'{s}'::uuid" for s in stage_ids)
    kinds = ",".join(f"'{k}'" for _, _, k in STAGES)
    probs = ",".join(str(p) for _, p, _ in STAGES)
    owner_ids = ",".join(f"'{o}'::uuid" for o in owners)
    currencies = ",".join(f"'{c}'" for c in CURRENCIES)
    status = "CASE i % 6 WHEN 4 THEN 'won' WHEN 5 THEN 'lost' ELSE 'open' END"
    sql = f"""
    INSERT INTO reporting.opportunities
    SELECT '{org}'::uuid, gen_random_uuid(), 'Deal ' || i, '{pipeline}'::uuid,
           (ARRAY[{ids}])[1 + i % 6], (ARRAY[{kinds}])[1 + i % 6], {status},
           (ARRAY[{owner_ids}])[1 + (i / 7) % {OWNERS}], 'team-' || ((i / 7) % {OWNERS}) % {TEAMS},
           NULL, (100 + (i * 37) % 90000)::numeric, (ARRAY[{currencies}])[1 + (i / 3) % 3],
           (ARRAY[{probs}])[1 + i % 6], date '2026-01-01' + ((i * 13) % ({MONTHS} * 30)),
           now() - interval '90 days', NULL, NULL, NULL,
           ARRAY[(ARRAY[{ids}])[1], (ARRAY[{ids}])[1 + i % 6]], NULL, 1, now()
    FROM generate_series(1, {size}) AS i
    """
    started = time.perf_counter()
    async with runtime.engine.begin() as conn:
        await conn.execute(text(sql))
    async with runtime.uow() as uow:
        await uow.repo.recompute_pipeline(org, pipeline)
        await uow.commit()
    async with runtime.engine.begin() as conn:
        await conn.execute(text("ANALYZE reporting.opportunities"))
        await conn.execute(text("ANALYZE reporting.funnel_totals"))
        rows = await conn.scalar(text(
            f"SELECT count(*) FROM reporting.funnel_totals WHERE org_id = '{org}'"
        ))
    print(f"  seeded {size:,} opportunities in {time.perf_counter() - started:.1f}s "
          f"({rows:,} aggregate rows)")
    return {"org": org, "owners": owners}


@contextlib.contextmanager
def service(server_url: str, database_url: str, nats_url: str,
            port: int) -> Iterator[tuple[str, ServiceCpu]]:
    """The reporting service as deployed: its own process, as ``python -m services.reporting``
    runs it (consumers and compactor included)."""
    with service_process("services.reporting", port, nats_url, {
        "CRM_DATABASE_URL": server_url,
        "CRM_REPORTING_DATABASE_URL": database_url,
        "CRM_REPORTING_PORT": str(port),
    }) as served:
        yield served


async def measure(client: aiohttp.ClientSession, url: str, service_cpu: ServiceCpu, token: str,
                  variables: dict[str, str], queries: int) -> tuple[float, float, float]:
    """p50 and p95 of sequential requests, and the service's CPU per request."""
    timings = []
    body = {"query": FUNNEL, "variables": variables}
    headers = {"Authorization": f"Bearer {token}"}
    cpu = 0.0
    for n in range(queries + 20):
        if n == 20:  # after the warm-up
            cpu = service_cpu.seconds()
        started = time.perf_counter()
        async with client.post(url, json=body, headers=headers) as response:
            payload = await response.json()
        elapsed = time.perf_counter() - started
        assert response.status == 200 and "errors" not in payload, payload
        assert payload["data"]["salesFunnel"]["stages"], payload
        if n >= 20:
            timings.append(elapsed * 1000)
    cpu = (service_cpu.seconds() - cpu) / queries * 1000
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95)], cpu


async def run(sizes: list[int], queries: int, port: int) -> None:
    with bench_servers() as (server_url, nats_url):
        name = f"crm_reporting_bench_{uuid.uuid4().hex[:6]}"
        await ensure_database(server_url, name)
        url = with_database(server_url, name)
        await upgrade(MIGRATIONS, url)
        settings = ReportingSettings(database_url=server_url, nats_url=nats_url,
                                     jwt_secret=DEV_JWT_SECRET, reporting_database_url=url)
        runtime = create_runtime(settings)  # to seed; never started
        results = []
        try:
            seeded = [await seed(runtime, size) for size in sizes]
            await runtime.engine.dispose()
            with service(server_url, url, nats_url, port) as (base, service_cpu):
                async with aiohttp.ClientSession() as client:
                    for size, data in zip(sizes, seeded, strict=True):
                        org = data["org"]
                        owner = data["owners"][0]  # type: ignore[index]

                        def token(role: str, team: str | None = None, member=None, org=org) -> str:  # type: ignore[no-untyped-def]
                            return mint_dev_token(secret=DEV_JWT_SECRET, org_id=org,
                                                  roles=[role], member_id=member or uuid.uuid4(),
                                                  team=team)

                        cases = [
                            ("admin, whole org", token("admin"), {}),
                            ("manager, team", token("manager", "team-0"), {}),
                            ("rep, own", token("rep", "team-0", owner), {}),
                            ("admin, close Q2 (whole months)", token("admin"),
                             {"closeFrom": "2026-04-01", "closeTo": "2026-06-30"}),
                            ("admin, close 10 Apr-20 Jun (ragged)", token("admin"),
                             {"closeFrom": "2026-04-10", "closeTo": "2026-06-20"}),
                        ]
                        for label, tok, variables in cases:
                            p50, p95, cpu = await measure(client, f"{base}/graphql", service_cpu,
                                                          tok, variables, queries)
                            results.append((size, label, p50, p95, cpu))
                            print(f"  {size:>9,}  {label:<38} p50 {p50:6.2f} ms  "
                                  f"p95 {p95:6.2f} ms  service CPU {cpu:5.2f} ms")
        finally:
            await drop_database(server_url, name)
    print(f"\nsalesFunnel through the service's HTTP endpoint, {today()}, {machine()}, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| opportunities | query | p50 ms | p95 ms | service CPU ms |\n|---:|---|---:|---:|---:|")
    for size, label, p50, p95, cpu in results:
        print(f"| {size:,} | {label} | {p50:.2f} | {p95:.2f} | {cpu:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--port", type=int, default=4104)
    args = parser.parse_args()
    asyncio.run(run([int(s) for s in args.sizes.split(",")], args.queries, args.port))


if __name__ == "__main__":
    main()

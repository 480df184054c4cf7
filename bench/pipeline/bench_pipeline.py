"""Pipeline benchmark: 1,000,000 opportunities in one org.

1. ``opportunities(first: 50)`` with filters: sequential requests, latency percentiles
   (target: p50 <= 15 ms).
2. ``moveOpportunity`` at a fixed arrival rate (open loop; latency counted from each
   request's scheduled start, so a stall is not hidden): target >= 300/s with p99 <= 50 ms.
   Then a closed-loop run to find the ceiling.

The service runs the way ``python -m services.pipeline`` runs it, with ``--workers``
processes (``CRM_PIPELINE_WORKERS``; relay, consumers and overdue worker in each, publishing
every event to JetStream); the load generator runs here, on the same machine. Besides
latency, each phase reports the service's CPU time per request (all its processes), which
other load on the machine disturbs far less than wall-clock latency.

    python -m bench.pipeline.bench_pipeline [--count 1000000] [--rate 300] [--seconds 30]
                                            [--workers 2]

PostgreSQL/NATS: CRM_BENCH_DATABASE_URL / CRM_BENCH_NATS_URL, or embedded servers (prefer an
embedded NATS: on a shared one the service also consumes other tests' conversions).
``--keep`` keeps (and on the next run reuses) the loaded database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
from sqlalchemy import text

from bench.pipeline.load import Dataset, existing, load
from bench.servers import bench_servers, machine, today
from crmkit.auth import mint_dev_token
from crmkit.db import create_engine, drop_database, ensure_database, with_database
from crmkit.embedded import free_port
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "pipeline" / "migrations"
DATABASE = "crm_pipeline_bench"

LIST = """
query($filter: OpportunityFilter, $after: String) {
  opportunities(filter: $filter, first: 50, after: $after) {
    edges { cursor node { id name amount currency status stageId ownerId probability
                          expectedCloseDate version } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

MOVE = """
mutation($id: ID!, $stageId: ID!, $v: Int!) {
  moveOpportunity(id: $id, stageId: $stageId, expectedVersion: $v) {
    __typename ... on OpportunityPayload { opportunity { version } }
  }
}
"""


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (f"p50 {percentile(ms, 0.50):6.2f} ms  p95 {percentile(ms, 0.95):6.2f} ms  "
            f"p99 {percentile(ms, 0.99):6.2f} ms  mean {statistics.fmean(ms):6.2f} ms  "
            f"(n={len(ms)})")


class ServiceCpu:
    """CPU seconds used by the service's processes (uvicorn's supervisor and workers)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self._seen: dict[int, psutil.Process] = {}

    def seconds(self) -> float:
        total = 0.0
        for process in [self.root, *self.root.children(recursive=True)]:
            # Keep the Process objects: their CPU times stay readable while they live.
            process = self._seen.setdefault(process.pid, process)
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total


@contextlib.contextmanager
def service(database_url: str, nats_url: str, port: int,
            workers: int) -> Iterator[tuple[str, ServiceCpu]]:
    environment = {
        **os.environ,
        "CRM_ENVIRONMENT": "prod",
        "CRM_PIPELINE_DATABASE_URL": database_url,
        "CRM_NATS_URL": nats_url,
        "CRM_JWT_SECRET": DEV_JWT_SECRET,
        "CRM_LOG_LEVEL": "WARNING",
        "CRM_PIPELINE_PORT": str(port),
        "CRM_PIPELINE_WORKERS": str(workers),
        # A shared PostgreSQL allows 100 connections in all.
        "CRM_DB_POOL_SIZE": "8",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "services.pipeline"], env=environment,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the pipeline service did not become ready")
            time.sleep(0.2)
        yield base, ServiceCpu(child.pid)
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()


def token(data: Dataset, role: str, owner_index: int | None = None) -> str:
    member = data.owners[owner_index] if owner_index is not None else uuid.uuid4()
    team = data.team_of(owner_index) if owner_index is not None else None
    return mint_dev_token(secret=DEV_JWT_SECRET, member_id=member, org_id=data.org_id,
                          roles=[role], team=team)


async def gql(client: httpx.AsyncClient, bearer: str, query: str,
              variables: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {bearer}"})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"request failed: {response.status_code} {body}")
    data: dict[str, Any] = body["data"]
    return data


async def bench_queries(client: httpx.AsyncClient, data: Dataset, rounds: int,
                        cpu: ServiceCpu) -> list[str]:
    stages = {s.name: str(s.id) for s in data.pipeline.stages}
    admin = token(data, "admin")
    manager = token(data, "manager", owner_index=3)
    rep = token(data, "rep", owner_index=7)
    cases: list[tuple[str, str, dict[str, Any] | None]] = [
        ("admin, no filter", admin, None),
        ("admin, stage = Offer", admin, {"stageIds": [stages["Offer"]]}),
        ("admin, status = OPEN", admin, {"statuses": ["OPEN"]}),
        ("admin, owner", admin, {"ownerIds": [str(data.owners[11])]}),
        ("admin, close date in one month", admin,
         {"closeFrom": "2025-03-01", "closeTo": "2025-03-31"}),
        ("admin, text 'laptops'", admin, {"text": "laptops"}),
        ("admin, no next contact", admin, {"noNextContact": True}),
        ("admin, stage + owner + open", admin, {"stageIds": [stages["Qualification"]],
                                                "ownerIds": [str(data.owners[5])],
                                                "statuses": ["OPEN"]}),
        ("manager (team), stage = Offer", manager, {"stageIds": [stages["Offer"]]}),
        ("rep (own), status = OPEN", rep, {"statuses": ["OPEN"]}),
    ]
    lines = []
    for name, bearer, filter_ in cases:
        await gql(client, bearer, LIST, {"filter": filter_})  # warm-up
        samples = []
        after = None
        cpu_before = cpu.seconds()
        for _ in range(rounds):
            started = time.perf_counter()
            page = await gql(client, bearer, LIST, {"filter": filter_, "after": after})
            samples.append(time.perf_counter() - started)
            info = page["opportunities"]["pageInfo"]
            # Walk forward through the pages (keyset), restarting at the end.
            after = info["endCursor"] if info["hasNextPage"] else None
            assert len(page["opportunities"]["edges"]) == 50 or not info["hasNextPage"]
        cpu_ms = (cpu.seconds() - cpu_before) / rounds * 1000
        lines.append(f"| {name} | {summary(samples)} | service CPU {cpu_ms:.2f} ms/request |")
    return lines


async def movable(engine: Any, data: Dataset, count: int) -> list[tuple[str, int]]:
    """Open opportunities in Identification that meet Qualification's gate."""
    first = str(data.pipeline.first_stage().id)
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT id, version FROM opportunities WHERE org_id = :org AND stage_id = :stage "
            "AND contact_made_at IS NOT NULL AND next_contact_at IS NOT NULL LIMIT :n"),
            {"org": data.org_id, "stage": first, "n": count})).all()
    return [(str(r.id), r.version) for r in rows]


class Mover:
    """Moves its opportunities Identification <-> Qualification, one at a time each."""

    def __init__(self, client: httpx.AsyncClient, data: Dataset,
                 opportunities: list[tuple[str, int]]) -> None:
        self.client = client
        self.bearer = token(data, "admin")
        ordered = data.pipeline.ordered_stages()
        self.stages = (str(ordered[0].id), str(ordered[1].id))
        self.free: asyncio.Queue[tuple[str, int, int]] = asyncio.Queue()
        for opp_id, version in opportunities:
            self.free.put_nowait((opp_id, version, 1))
        self.latencies: list[float] = []
        self.failures = 0

    async def move_one(self, scheduled: float) -> None:
        opp_id, version, target = await self.free.get()
        try:
            data = await gql(self.client, self.bearer, MOVE, {
                "id": opp_id, "stageId": self.stages[target], "v": version})
            result = data["moveOpportunity"]
            if result["__typename"] != "OpportunityPayload":
                raise RuntimeError(str(result))
            version, target = result["opportunity"]["version"], 1 - target
        except Exception:
            self.failures += 1
        finally:
            self.latencies.append(time.perf_counter() - scheduled)
            self.free.put_nowait((opp_id, version, target))


async def bench_moves_open_loop(mover: Mover, rate: float, seconds: float) -> str:
    total = int(rate * seconds)
    start = time.perf_counter() + 0.1
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(mover.move_one(scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return (f"offered {rate:.0f}/s for {seconds:.0f} s: completed {len(mover.latencies)} in "
            f"{elapsed:.1f} s = {len(mover.latencies) / elapsed:.0f}/s, failures "
            f"{mover.failures}; latency {summary(mover.latencies)}")


async def bench_moves_closed_loop(mover: Mover, concurrency: int, seconds: float) -> str:
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await mover.move_one(time.perf_counter())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return (f"closed loop, {concurrency} in flight: {len(mover.latencies) / elapsed:.0f}/s, "
            f"failures {mover.failures}; latency {summary(mover.latencies)}")


async def outbox_backlog(engine: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL"))).scalar_one())


async def moves_with_cpu(run: Any, mover: Mover, engine: Any, cpu: ServiceCpu) -> str:
    """A move phase, then the wait for the relay to publish its events: the CPU per move
    counts the relay's share too."""
    before, client_before = cpu.seconds(), time.process_time()
    line: str = await run
    client_ms = (time.process_time() - client_before) / max(1, len(mover.latencies)) * 1000
    drain_started = time.perf_counter()
    backlog = await outbox_backlog(engine)
    while backlog and time.perf_counter() - drain_started < 60:
        await asyncio.sleep(0.05)
        backlog = await outbox_backlog(engine)
    drained = time.perf_counter() - drain_started
    cpu_ms = (cpu.seconds() - before) / max(1, len(mover.latencies)) * 1000
    return (f"{line}\n  service CPU {cpu_ms:.2f} ms/move (relay included), load generator "
            f"CPU {client_ms:.2f} ms/move; outbox drained {drained:.2f} s after the phase, "
            f"{backlog} unsent")


async def main(args: argparse.Namespace) -> None:
    with bench_servers() as (server_url, nats_url):
        url = with_database(server_url, DATABASE)
        if not args.keep:
            await drop_database(server_url, DATABASE)
        await ensure_database(server_url, DATABASE)
        await upgrade(MIGRATIONS, url)
        engine = create_engine(url)
        try:
            data = await existing(engine) if args.keep else None
            if data is None:
                data = await load(engine, args.count)
            async with engine.connect() as conn:
                count = (await conn.execute(text("SELECT count(*) FROM opportunities"))).scalar()
            print(f"{count:,} opportunities in org {data.org_id}")
            with service(url, nats_url, free_port(), args.workers) as (base, cpu):
                limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
                async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                    print(f"service workers: {args.workers}; load average at start: "
                          f"{load_average()}")
                    print("\nopportunities(first: 50), sequential, walking pages:")
                    for line in await bench_queries(client, data, args.rounds, cpu):
                        print(line)
                    # Three disjoint sets: each mover knows its opportunities' versions.
                    opportunities = await movable(engine, data, 6000)
                    third = len(opportunities) // 3
                    sets = [opportunities[i * third:(i + 1) * third] for i in range(3)]
                    print("\nmoveOpportunity:")
                    await bench_moves_open_loop(Mover(client, data, sets[0]), args.rate, 3)
                    mover = Mover(client, data, sets[1])
                    print(await moves_with_cpu(
                        bench_moves_open_loop(mover, args.rate, args.seconds), mover, engine,
                        cpu))
                    mover = Mover(client, data, sets[2])
                    print(await moves_with_cpu(
                        bench_moves_closed_loop(mover, 32, args.closed_seconds), mover, engine,
                        cpu))
                    print(f"load average at the end: {load_average()}")
        finally:
            await engine.dispose()
            if not args.keep:
                await drop_database(server_url, DATABASE)
    print(f"\n{today()}, {machine()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--closed-seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    asyncio.run(main(parser.parse_args()))

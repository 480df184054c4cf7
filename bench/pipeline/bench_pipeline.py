"""Pipeline benchmark: 1,000,000 opportunities in one org.

1. ``opportunities(first: 50)`` with filters: sequential requests, latency percentiles
   (target: p50 <= 15 ms).
2. ``moveOpportunity`` at a fixed arrival rate (open loop; latency counted from each
   request's scheduled start, so a stall is not hidden): target >= 300/s with p99 <= 50 ms.
   Then a closed-loop run to find the ceiling.

The service runs the way ``python -m services.pipeline`` runs it, with ``--workers``
processes (``CRM_PIPELINE_WORKERS``; relay, consumers and overdue worker in each, publishing
every event to JetStream). Moves are driven from a process of their own (``loadgen.py``, a
minimal HTTP/1.1 client); lists from here, sequentially. Besides latency, each phase
reports CPU time per request: the service's (all its processes), and for moves also
PostgreSQL's, NATS's, the load generator's and the whole machine's, which tells this work
from other people's on a shared machine.

    python -m bench.pipeline.bench_pipeline [--count 1000000] [--rate 300] [--seconds 30]
        [--closed-seconds 15] [--concurrency 32] [--repeat 1] [--workers 2] [--skip-lists]
        [--keep] [--postgres-dir DIR]

PostgreSQL/NATS: CRM_BENCH_DATABASE_URL / CRM_BENCH_NATS_URL, or embedded servers (prefer an
embedded NATS: on a shared one the service also consumes other tests' conversions).
``--keep`` keeps (and on the next run reuses, after a VACUUM) the loaded database;
``--postgres-dir DIR`` runs an embedded PostgreSQL kept in DIR, so that ``--keep`` works
without a shared server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Literal

import httpx
import psutil  # type: ignore[import-untyped]
from sqlalchemy import text

from bench.pipeline import loadgen
from bench.pipeline.load import Dataset, existing, load, vacuum
from bench.servers import ServiceCpu, bench_servers, machine, service_process, today
from crmkit.auth import mint_dev_token
from crmkit.db import create_engine, drop_database, ensure_database, with_database
from crmkit.embedded import EmbeddedPostgres, free_port
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

MOVE = loadgen.MOVE


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


@contextlib.contextmanager
def service(database_url: str, nats_url: str, port: int,
            workers: int) -> Iterator[tuple[str, ServiceCpu]]:
    with service_process("services.pipeline", port, nats_url, {
        "CRM_PIPELINE_DATABASE_URL": database_url,
        "CRM_PIPELINE_PORT": str(port),
        "CRM_PIPELINE_WORKERS": str(workers),
        # A shared PostgreSQL allows 100 connections in all: 32 per service.
        "CRM_DB_POOL_SIZE": str(max(8, 32 // workers)),
    }) as served:
        yield served


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


async def movable(engine: Any, data: Dataset, count: int | None = None,
                  stage: uuid.UUID | None = None) -> list[tuple[str, int]]:
    """Open opportunities in ``stage`` (Identification by default) that meet Qualification's
    gate, ``count`` at most."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT id, version FROM opportunities WHERE org_id = :org AND stage_id = :stage "
            "AND contact_made_at IS NOT NULL AND next_contact_at IS NOT NULL LIMIT :n"),
            {"org": data.org_id, "stage": str(stage or data.pipeline.first_stage().id),
             "n": count})).all()
    return [(str(r.id), r.version) for r in rows]


class Usage:
    """CPU seconds of each party during a phase: the service's processes, the PostgreSQL
    backends serving the benchmark database, the NATS server if it runs here, and the whole
    machine (the rest is other people's work).

    Backends come and go with the service's pool overflow, so they are sampled every 0.2 s
    during the phase; a backend that ends loses at most its last 0.2 s. On a server of the
    benchmark's own (``postgres_pid``) all its processes count (WAL writer, checkpointer...).
    """

    def __init__(self, service: ServiceCpu, engine: Any, postgres_pid: int | None) -> None:
        self.service = service
        self.engine = engine
        self.postgres_pid = postgres_pid
        self._processes: dict[int, psutil.Process] = {}
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}

    def _cpu(self, pid: int) -> float | None:
        try:
            process = self._processes.setdefault(pid, psutil.Process(pid))
            times = process.cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)

    async def _sample(self, first: bool) -> None:
        if self.postgres_pid is not None:
            server = psutil.Process(self.postgres_pid)
            pids = [self.postgres_pid, *(p.pid for p in server.children())]
        else:
            async with self.engine.connect() as conn:
                pids = list((await conn.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"))).scalars())
        pids += [p.pid for p in psutil.Process().children(recursive=True)
                 if p.name().startswith("nats-server")]
        for pid in pids:
            seconds = self._cpu(pid)
            if seconds is not None:
                # A backend first seen during the phase started within it (at zero).
                self._first.setdefault(pid, seconds if first else 0.0)
                self._last[pid] = seconds

    def _machine(self) -> float:
        machine = psutil.cpu_times()
        return float(sum(machine) - machine.idle - getattr(machine, "iowait", 0.0))

    @contextlib.asynccontextmanager
    async def measure(self) -> AsyncIterator[dict[str, float]]:
        """Yields a dict that holds the CPU seconds used, once the block has ended."""
        self._first.clear()
        self._last.clear()
        await self._sample(first=True)
        service, machine = self.service.seconds(), self._machine()
        used: dict[str, float] = {}
        stop = asyncio.Event()

        async def sampler() -> None:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.2)
                await self._sample(first=False)

        task = asyncio.create_task(sampler())
        try:
            yield used
        finally:
            stop.set()
            await task
            nats = {p.pid for p in psutil.Process().children(recursive=True)
                    if p.name().startswith("nats-server")}
            used["service"] = self.service.seconds() - service
            used["machine"] = self._machine() - machine
            used["postgres"] = sum(self._last[p] - self._first[p] for p in self._last
                                   if p not in nats)
            used["nats"] = sum(self._last[p] - self._first[p] for p in self._last if p in nats)


def timeline(outcome: loadgen.Outcome) -> str:
    """The p99 latency (ms) of the requests due in each second of the phase: a stall shows
    as a few bad seconds, overload as a climb."""
    seconds: dict[int, list[float]] = {}
    for due, latency in zip(outcome.due, outcome.latencies, strict=True):
        seconds.setdefault(int(due), []).append(latency * 1000)
    return " ".join(f"{percentile(seconds[s], 0.99):.0f}" for s in sorted(seconds))


async def outbox_backlog(engine: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL"))).scalar_one())


async def move_phase(pool: ProcessPoolExecutor, plan: loadgen.Plan, engine: Any,
                     usage: Usage) -> str:
    """One move phase in the load generator's process, then the wait for the relay to
    publish its events: the CPU per move counts the relay's share too."""
    load_before = load_average()
    async with usage.measure() as used:
        outcome: loadgen.Outcome = await asyncio.get_running_loop().run_in_executor(
            pool, loadgen.run, plan)
        drain_started = time.perf_counter()
        backlog = await outbox_backlog(engine)
        while backlog and time.perf_counter() - drain_started < 60:
            await asyncio.sleep(0.05)
            backlog = await outbox_backlog(engine)
        drained = time.perf_counter() - drain_started
    done = len(outcome.latencies)
    per_move = {k: v / max(1, done) * 1000 for k, v in used.items()}
    wall = outcome.elapsed + drained
    cores = os.cpu_count() or 1
    if plan.mode == "open":
        head = f"open loop, offered {plan.rate:.0f}/s for {plan.seconds:.0f} s"
    else:
        head = f"closed loop, {plan.concurrency} in flight for {plan.seconds:.0f} s"
    lines = [
        f"{head}: {done} moves in {outcome.elapsed:.1f} s = {done / outcome.elapsed:.0f}/s, "
        f"failures {outcome.failures}",
        f"  latency {summary(outcome.latencies)}",
        f"  CPU per move: service {per_move['service']:.2f} ms (relay included), PostgreSQL "
        f"{'server' if usage.postgres_pid else 'backends'} {per_move['postgres']:.2f} ms, "
        f"NATS {per_move['nats']:.2f} ms, load "
        f"generator {outcome.cpu_seconds / max(1, done) * 1000:.2f} ms",
        f"  machine busy {used['machine'] / wall / cores * 100:.0f}% of {cores} cores "
        f"({used['machine'] / max(1, done) * 1000:.2f} ms per move, everyone's work "
        f"included); load average {load_before} -> {load_average()}",
        f"  outbox drained {drained:.2f} s after the phase, {backlog} unsent",
    ]
    lines.append(f"  p99 per second: {timeline(outcome)}")
    lines += [f"  failure: {f}" for f in outcome.first_failures]
    return "\n".join(lines)


@contextlib.contextmanager
def own_postgres(directory: str | None) -> Iterator[int | None]:
    """With ``--postgres-dir``: an embedded PostgreSQL kept in that directory (so ``--keep``
    keeps its data between runs), the benchmark's alone: its WAL and CPU are not shared with
    other work on the machine's server. Yields its postmaster's pid."""
    if directory is None or os.environ.get("CRM_BENCH_DATABASE_URL"):
        yield None
        return
    postgres = EmbeddedPostgres(Path(directory))
    postgres.start()
    os.environ["CRM_BENCH_DATABASE_URL"] = postgres.url
    try:
        yield int((postgres.pgdata / "postmaster.pid").read_text().split()[0])
    finally:
        del os.environ["CRM_BENCH_DATABASE_URL"]
        postgres.stop()


async def main(args: argparse.Namespace) -> None:
    with own_postgres(args.postgres_dir) as postgres_pid, bench_servers() as (server_url,
                                                                              nats_url):
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
            else:
                print(f"reused the loaded database; VACUUM took {await vacuum(engine):.1f} s")
            async with engine.connect() as conn:
                count = (await conn.execute(text("SELECT count(*) FROM opportunities"))).scalar()
            print(f"{count:,} opportunities in org {data.org_id}")
            with service(url, nats_url, free_port(), args.workers) as (base, cpu):
                limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
                async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                    print(f"service workers: {args.workers}; load average at start: "
                          f"{load_average()}")
                    if not args.skip_lists:
                        print("\nopportunities(first: 50), sequential, walking pages:")
                        for line in await bench_queries(client, data, args.rounds, cpu):
                            print(line)
                    # A set of its own for each phase: it knows its opportunities' versions.
                    phases = 2 + args.repeat
                    opportunities = await movable(engine, data, 2000 * phases)
                    share = len(opportunities) // phases
                    sets = [opportunities[i * share:(i + 1) * share] for i in range(phases)]
                    admin = token(data, "admin")
                    stages = tuple(str(s.id) for s in data.pipeline.ordered_stages()[:2])

                    def plan(i: int, mode: Literal["open", "closed"],
                             seconds: float) -> loadgen.Plan:
                        return loadgen.Plan(base, admin, (stages[0], stages[1]), sets[i],
                                            mode, seconds, rate=args.rate,
                                            concurrency=args.concurrency)

                    usage = Usage(cpu, engine, postgres_pid)
                    print("\nmoveOpportunity (load generator in its own process):")
                    spawn = multiprocessing.get_context("spawn")
                    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                        await asyncio.get_running_loop().run_in_executor(pool, loadgen.ready)
                        await move_phase(pool, plan(0, "open", 3), engine, usage)  # warm-up
                        for i in range(args.repeat):
                            print(await move_phase(pool, plan(1 + i, "open", args.seconds),
                                                   engine, usage))
                        print(await move_phase(pool, plan(phases - 1, "closed",
                                                          args.closed_seconds), engine, usage))
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
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1, help="open-loop phases")
    parser.add_argument("--skip-lists", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--postgres-dir", help="run an embedded PostgreSQL kept in this folder")
    asyncio.run(main(parser.parse_args()))

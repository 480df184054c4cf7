# The two processes of this benchmark meet through small files and polling, on purpose.
# ruff: noqa: ASYNC110, ASYNC240
"""Lag from a stage-change commit in pipeline to the funnel showing it.

    python -m bench.reporting.bench_lag [--rate 200] [--seconds 30] [--opportunities 2000]

Target (issue 5): p99 <= 250 ms at a sustained 200 stage changes per second.

The pipeline side is played by a database with the kit's outbox table and the kit's outbox
relay, exactly as the pipeline service commits and publishes its events: each stage change is
one transaction writing an ``opportunity.stage_changed`` envelope to the outbox; the commit
time is taken when that transaction returns. Reporting runs its real service runtime (durable
inbox consumers, projection); an event is visible in the funnel as soon as its projection
transaction has committed, so that moment (the inbox apply returning) ends the measurement. A
sample of events is also checked through salesFunnel itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import MetaData

from bench.servers import bench_servers, machine, today
from crmkit.auth import Caller, Role
from crmkit.bus import ensure_streams, make_broker
from crmkit.contracts import Envelope
from crmkit.contracts import pipeline as ev
from crmkit.db import create_engine, drop_database, ensure_database, session_factory, with_database
from crmkit.migrations import upgrade
from crmkit.outbox import outbox_committed, stage_events
from crmkit.relay import OutboxRelay
from crmkit.settings import DEV_JWT_SECRET
from crmkit.tables import outbox_table
from services.reporting.app import create_runtime
from services.reporting.handlers.funnel import GetSalesFunnel, sales_funnel
from services.reporting.settings import ReportingSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "reporting" / "migrations"
STAGES = [("Identification", 10, "open"), ("Qualification", 25, "open"), ("Offer", 50, "open"),
          ("Negotiation", 75, "open"), ("Won", 100, "won"), ("Lost", 0, "lost")]


class FakePipeline:
    """Opportunities whose stage changes are committed to an outbox, as pipeline does."""

    def __init__(self, sessions, outbox, org: uuid.UUID, count: int) -> None:  # type: ignore[no-untyped-def]
        self.sessions, self.outbox, self.org = sessions, outbox, org
        self.pipeline = uuid.uuid4()
        self.stages = [(uuid.uuid4(), n, p, k) for n, p, k in STAGES]
        self.owners = [uuid.uuid4() for _ in range(20)]
        self.opps = {uuid.uuid4(): [0, 1] for _ in range(count)}  # stage index, version
        self.rng = random.Random(1)

    def snapshot(self, opp: uuid.UUID) -> dict[str, object]:
        stage_index, _ = self.opps[opp]
        stage = self.stages[stage_index]
        return {
            "opportunity_id": opp, "name": "Deal", "owner_id": self.owners[hash(opp) % 20],
            "team": "alpha", "pipeline_id": self.pipeline, "stage_id": stage[0],
            "stage_name": stage[1], "stage_kind": stage[3], "status": "open",
            "amount": Decimal(1000), "currency": "EUR", "probability": stage[2],
            "expected_close_date": None, "created_at": datetime.now(UTC),
        }

    async def commit(self, envelopes: list[Envelope]) -> None:
        async with self.sessions() as session, session.begin():
            await stage_events(session, self.outbox, envelopes)
        outbox_committed()  # as the service's unit of work does: wake this process's relay

    def setup_events(self) -> list[Envelope]:
        configured = ev.PipelineConfigured(
            pipeline_id=self.pipeline, name="Sales", is_default=True,
            stages=[ev.StageDefinition(id=i, name=n, position=p + 1, probability=pr, kind=k)  # type: ignore[arg-type]
                    for p, (i, n, pr, k) in enumerate(self.stages)],
        )
        events = [Envelope.wrap(configured, org_id=self.org, aggregate_id=self.pipeline,
                                aggregate_version=1)]
        events += [
            Envelope.wrap(ev.OpportunityCreated(**self.snapshot(o)), org_id=self.org,  # type: ignore[arg-type]
                          aggregate_id=o, aggregate_version=1)
            for o in self.opps
        ]
        return events

    def stage_change(self) -> Envelope:
        opp = self.rng.choice(list(self.opps))
        source = self.stages[self.opps[opp][0]][0]
        self.opps[opp][0] = (self.opps[opp][0] + 1) % 4
        self.opps[opp][1] += 1
        target = self.stages[self.opps[opp][0]][0]
        event = ev.OpportunityStageChanged(
            **self.snapshot(opp), from_stage_id=source, to_stage_id=target,  # type: ignore[arg-type]
            entered_at=datetime.now(UTC), seconds_in_previous_stage=1,
        )
        return Envelope.wrap(event, org_id=self.org, aggregate_id=opp,
                             aggregate_version=self.opps[opp][1])


async def produce(pipeline_url: str, nats_url: str, org: str, rate: int, seconds: int,
                  opportunities: int, out: str) -> None:
    """The pipeline side, in a process of its own: commits to the outbox, the kit's relay."""
    engine = create_engine(pipeline_url, pool_size=16)
    metadata = MetaData()
    outbox = outbox_table(metadata)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    broker = make_broker(nats_url)
    await broker.connect()
    await ensure_streams(broker.config.connection_state.stream)
    relay = OutboxRelay(engine, outbox, broker)
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    fake = FakePipeline(session_factory(engine), outbox, uuid.UUID(org), opportunities)
    setup = fake.setup_events()
    for start in range(0, len(setup), 500):
        await fake.commit(setup[start:start + 500])
    Path(out + ".setup").write_text(json.dumps([str(e.id) for e in setup]))
    while not Path(out + ".go").exists():
        await asyncio.sleep(0.05)

    committed: dict[str, float] = {}
    targets: dict[str, str] = {}

    async def one() -> None:
        envelope = fake.stage_change()
        await fake.commit([envelope])
        committed[str(envelope.id)] = time.time()
        targets[str(envelope.id)] = str(envelope.payload["stage_id"])

    interval, begin, tasks = 1.0 / rate, time.perf_counter(), []
    for n in range(rate * seconds):
        delay = begin + n * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    achieved = rate * seconds / (time.perf_counter() - begin)
    while relay.published < len(setup) + len(committed):
        await asyncio.sleep(0.05)
    stop.set()
    await relay_task
    await broker.stop()
    await engine.dispose()
    Path(out).write_text(json.dumps(
        {"committed": committed, "targets": targets, "achieved": achieved}
    ))


async def run(rate: int, seconds: int, opportunities: int) -> None:
    for name in ("faststream", "faststream.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with bench_servers() as (server_url, nats_url):
        suffix = uuid.uuid4().hex[:6]
        reporting_db, pipeline_db = f"crm_reporting_lag_{suffix}", f"crm_pipeline_lag_{suffix}"
        for name in (reporting_db, pipeline_db):
            await ensure_database(server_url, name)
        reporting_url = with_database(server_url, reporting_db)
        await upgrade(MIGRATIONS, reporting_url)

        settings = ReportingSettings(database_url=server_url, nats_url=nats_url,
                                     jwt_secret=DEV_JWT_SECRET,
                                     reporting_database_url=reporting_url,
                                     consumer_suffix=f"-lag-{suffix}")
        runtime = create_runtime(settings)
        visible: dict[str, float] = {}
        received: dict[str, float] = {}
        for consumer in runtime.consumers:
            original = consumer.apply_all

            async def timed(envelopes: list[Envelope], original=original) -> list[bool]:  # type: ignore[no-untyped-def]
                now = time.time()
                for envelope in envelopes:
                    received.setdefault(str(envelope.id), now)
                applied = await original(envelopes)
                now = time.time()
                for envelope in envelopes:
                    visible.setdefault(str(envelope.id), now)
                return list(applied)

            consumer.apply_all = timed  # type: ignore[method-assign]
        await runtime.start()

        org = uuid.uuid4()
        out = str(Path(tempfile.mkdtemp(prefix="crm-lag-")) / "producer.json")
        producer = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.reporting.bench_lag", "--produce",
            "--pipeline-url", with_database(server_url, pipeline_db), "--nats-url", nats_url,
            "--org", str(org), "--rate", str(rate), "--seconds", str(seconds),
            "--opportunities", str(opportunities), "--out", out,
        )
        while not Path(out + ".setup").exists():
            await asyncio.sleep(0.05)
        setup = json.loads(Path(out + ".setup").read_text())
        while not all(i in visible for i in setup):
            await asyncio.sleep(0.05)
        print(f"  {len(setup)} set-up events projected; driving {rate}/s for {seconds}s")
        Path(out + ".go").touch()

        caller = Caller(uuid.uuid4(), org, frozenset({Role.ADMIN}))
        checks = 0
        while producer.returncode is None:
            # Meanwhile, the funnel answers as a client would ask it.
            await sales_funnel(GetSalesFunnel(caller, "EUR"), runtime.uow())
            checks += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(producer.wait(), 0.5)
        result = json.loads(Path(out).read_text())
        committed: dict[str, float] = result["committed"]
        deadline = time.monotonic() + 60
        while not all(i in visible for i in committed) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        lags = sorted((visible[i] - t) * 1000 for i, t in committed.items() if i in visible)
        to_consumer = sorted((received[i] - t) * 1000 for i, t in committed.items()
                             if i in received)
        applying = sorted((visible[i] - received[i]) * 1000 for i in committed if i in visible)
        missing = len(committed) - len(lags)
        await runtime.stop()
        for name in (reporting_db, pipeline_db):
            await drop_database(server_url, name)

    def pct(p: float) -> float:
        return lags[min(len(lags) - 1, int(len(lags) * p))]

    print(f"\nstage change commit -> funnel, {today()}, {machine()}")
    print(f"offered {rate}/s for {seconds}s, achieved {result['achieved']:.0f}/s, "
          f"{len(lags)} events, {missing} not projected within 60 s, {checks} funnel queries "
          f"answered meanwhile")
    print(f"| p50 | p95 | p99 | max | mean |\n|---:|---:|---:|---:|---:|\n"
          f"| {pct(0.5):.0f} ms | {pct(0.95):.0f} ms | {pct(0.99):.0f} ms | {lags[-1]:.0f} ms "
          f"| {statistics.mean(lags):.0f} ms |")
    for label, part in (("commit -> handed to the consumer", to_consumer),
                        ("consumer -> projection committed", applying)):
        print(f"  {label}: p50 {part[len(part) // 2]:.0f} ms, "
              f"p99 {part[int(len(part) * 0.99)]:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--opportunities", type=int, default=2000)
    parser.add_argument("--produce", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pipeline-url", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--org", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.produce:
        asyncio.run(produce(args.pipeline_url, args.nats_url, args.org, args.rate, args.seconds,
                            args.opportunities, args.out))
    else:
        asyncio.run(run(args.rate, args.seconds, args.opportunities))


if __name__ == "__main__":
    main()

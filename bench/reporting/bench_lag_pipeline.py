"""Lag from a stage change in the real pipeline service to reporting's funnel showing it.

    python -m bench.reporting.bench_lag_pipeline [--rate 200] [--seconds 30]
                                                 [--opportunities 2000] [--workers 1]

Target (issue 5): p99 <= 250 ms at a sustained 200 stage changes per second.

Unlike ``bench_lag`` (which plays pipeline with an outbox and the kit's relay), the stage
changes here are ``moveOpportunity`` calls to the pipeline service itself, run as deployed
(``python -m services.pipeline``: its unit of work, outbox and relay publishing to JetStream),
driven at a fixed rate by the pipeline benchmark's load generator in a process of its own.
Reporting runs its real runtime in this process (durable inbox consumers, the batched
projection, the compactor). An event's lag runs from its ``occurred_at`` (stamped by the
pipeline before its transaction commits, so the figure errs on the long side) to the
reporting transaction that makes it visible in the funnel having committed.

The opportunities are bulk-loaded into the pipeline's database (``bench.pipeline.load``); an
admin's ``updateStage`` then publishes ``pipeline.configured``, and a warm-up phase moves
each opportunity once, so that reporting knows every one before the measured phase.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from bench.pipeline import loadgen
from bench.pipeline.bench_pipeline import movable, percentile, service, timeline, token
from bench.pipeline.load import load
from bench.servers import bench_servers, machine, today
from crmkit.contracts import Envelope
from crmkit.contracts import pipeline as ev
from crmkit.db import create_engine, drop_database, ensure_database, with_database
from crmkit.embedded import free_port
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET
from services.reporting.app import create_runtime
from services.reporting.settings import ReportingSettings

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_MIGRATIONS = ROOT / "services" / "pipeline" / "migrations"
REPORTING_MIGRATIONS = ROOT / "services" / "reporting" / "migrations"
STAGE_CHANGED = ev.OpportunityStageChanged.TYPE
UPDATE_STAGE = """mutation ($id: ID!, $p: Int!) {
  updateStage(stageId: $id, patch: {probability: $p}) { __typename } }"""


async def run(rate: float, seconds: float, opportunities: int, workers: int) -> None:
    with bench_servers() as (server_url, nats_url):
        suffix = uuid.uuid4().hex[:6]
        pipeline_url = with_database(server_url, f"crm_pipeline_lag_{suffix}")
        reporting_url = with_database(server_url, f"crm_reporting_lag_{suffix}")
        for url, migrations in ((pipeline_url, PIPELINE_MIGRATIONS),
                                (reporting_url, REPORTING_MIGRATIONS)):
            await ensure_database(server_url, url.rsplit("/", 1)[1])
            await upgrade(migrations, url)
        engine = create_engine(pipeline_url)
        data = await load(engine, opportunities)
        first, second = (s.id for s in data.pipeline.ordered_stages()[:2])

        settings = ReportingSettings(database_url=server_url, nats_url=nats_url,
                                     jwt_secret=DEV_JWT_SECRET,
                                     reporting_database_url=reporting_url,
                                     consumer_suffix=f"-lag-{suffix}")
        runtime = create_runtime(settings)
        occurred: dict[uuid.UUID, float] = {}
        visible: dict[uuid.UUID, float] = {}
        for consumer in runtime.consumers:
            original = consumer.apply_all

            async def timed(envelopes: list[Envelope], original=original) -> list[bool]:  # type: ignore[no-untyped-def]
                applied = await original(envelopes)
                now = time.time()
                for envelope in envelopes:
                    if envelope.type == STAGE_CHANGED:
                        occurred.setdefault(envelope.id, envelope.occurred_at.timestamp())
                        visible.setdefault(envelope.id, now)
                return list(applied)

            consumer.apply_all = timed  # type: ignore[method-assign]
        await runtime.start()
        spawn = multiprocessing.get_context("spawn")
        try:
            with service(pipeline_url, nats_url, free_port(), workers) as (base, cpu), \
                    ProcessPoolExecutor(1, mp_context=spawn) as pool:
                admin = token(data, "admin")
                probability = data.pipeline.ordered_stages()[0].probability
                async with httpx.AsyncClient() as client:
                    answer = await client.post(
                        f"{base}/graphql", headers={"Authorization": f"Bearer {admin}"},
                        json={"query": UPDATE_STAGE,
                              "variables": {"id": str(first), "p": probability}})
                assert answer.json()["data"]["updateStage"]["__typename"] == "PipelinePayload", \
                    answer.text
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(pool, loadgen.ready)

                async def phase(source: uuid.UUID, target: uuid.UUID, phase_rate: float,
                                phase_seconds: float) -> tuple[loadgen.Outcome, float]:
                    plan = loadgen.Plan(
                        base_url=base, bearer=admin, stages=(str(source), str(target)),
                        opportunities=await movable(engine, data, stage=source), mode="open",
                        seconds=phase_seconds, rate=phase_rate)
                    started = time.time()
                    return await loop.run_in_executor(pool, loadgen.run, plan), started

                # Warm-up: every opportunity moved once, so reporting knows them all.
                warm, _ = await phase(first, second, rate, opportunities / rate)
                await wait_projected(visible, warm)
                print(f"  warm-up: {len(warm.latencies)} moves, {len(visible)} projected")
                cpu_before = cpu.seconds()
                outcome, started = await phase(second, first, rate, seconds)
                service_cpu = cpu.seconds() - cpu_before
                await wait_projected(visible, warm, outcome)
        finally:
            await runtime.stop()
            await engine.dispose()
            for url in (pipeline_url, reporting_url):
                await drop_database(server_url, url.rsplit("/", 1)[1])

    done = len(outcome.latencies) - outcome.failures
    lags = sorted((visible[i] - t) * 1000 for i, t in occurred.items() if t >= started)
    moves = [x * 1000 for x in outcome.latencies]
    print(f"\nmoveOpportunity in the pipeline service -> reporting's funnel, {today()}, "
          f"{machine()}")
    print(f"offered {rate:.0f}/s for {seconds:.0f} s: {done} moves answered in "
          f"{outcome.elapsed:.1f} s ({done / outcome.elapsed:.0f}/s), {outcome.failures} "
          f"failed; {len(lags)} stage changes projected; pipeline service CPU "
          f"{service_cpu / max(1, done) * 1000:.2f} ms per move")
    print("| p50 | p95 | p99 | max | mean |\n|---:|---:|---:|---:|---:|")
    print(f"| {percentile(lags, 0.5):.0f} ms | {percentile(lags, 0.95):.0f} ms | "
          f"{percentile(lags, 0.99):.0f} ms | {lags[-1]:.0f} ms | {statistics.mean(lags):.0f} ms |")
    print(f"  move latency (from each request's due time): p50 {percentile(moves, 0.5):.1f} ms, "
          f"p99 {percentile(moves, 0.99):.1f} ms")
    print(f"  move p99 of each second (ms): {timeline(outcome)}")
    by_second: dict[int, list[float]] = {}
    for i, t in occurred.items():
        if t >= started:
            by_second.setdefault(int(t - started), []).append((visible[i] - t) * 1000)
    print("  lag p99 of each second (ms): " + " ".join(
        f"{percentile(v, 0.99):.0f}" for _, v in sorted(by_second.items())))
    for failure in outcome.first_failures:
        print(f"  failure: {failure}")


async def wait_projected(visible: dict[uuid.UUID, float], *outcomes: loadgen.Outcome) -> None:
    """Until every answered move's event is projected (60 s at most)."""
    expected = sum(len(o.latencies) - o.failures for o in outcomes)
    deadline = time.monotonic() + 60
    while len(visible) < expected and time.monotonic() < deadline:  # noqa: ASYNC110 (polls a dict)
        await asyncio.sleep(0.05)
    if len(visible) < expected:
        print(f"  {expected - len(visible)} stage changes not projected within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--opportunities", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.rate, args.seconds, args.opportunities, args.workers))


if __name__ == "__main__":
    main()

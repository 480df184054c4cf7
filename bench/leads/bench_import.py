"""CSV import rate: 100,000 rows into a database that already holds leads of the same org.

    .venv/bin/python -m bench.leads.bench_import [--rows 100000]

Measures ``services.leads.cli_import.import_text`` end to end (parse and validate every row in
the import worker process, dedupe in the file and against existing leads chunk by chunk,
binary COPY of the leads and of their ``lead.created`` outbox rows, commit, ANALYZE), then
the time the outbox relay takes to publish every event to JetStream. CPU time is reported
for the service process, the import worker and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from bench.leads.common import (
    leads_service,
    machine_load,
    messy_csv,
    pids_cpu_seconds,
    postgres_cpu_seconds,
    process_cpu_seconds,
    relay_drained,
)
from services.leads.cli_import import import_text
from services.leads.import_worker import worker_pids


async def main(rows: int) -> None:
    async with leads_service() as (runtime, _client, url):
        org = uuid.uuid4()
        # Existing leads of the org: the second file overlaps the first by 10%.
        await import_text(messy_csv(rows // 10, seed=1), org, None, database_url=url)
        await relay_drained(runtime)
        csv = messy_csv(rows, seed=1)
        started, cpu_started = time.perf_counter(), process_cpu_seconds()
        pg_started = postgres_cpu_seconds()
        worker_started = pids_cpu_seconds(worker_pids())
        stages: dict[str, float] = {}
        # Per chunk: waiting for the chunk's validation ("parse" follows the previous
        # "stage"), then its dedupe and COPY ("stage" follows "parse").
        waits = {"parse": 0.0, "stage": 0.0}
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.perf_counter() - started
            stages[stage] = now
            if stage in waits:
                waits[stage] += now - last[0]
            last[0] = now

        report = await import_text(csv, org, uuid.uuid4(), database_url=url,
                                   progress=progress)
        elapsed, cpu = time.perf_counter() - started, process_cpu_seconds() - cpu_started
        worker = pids_cpu_seconds(worker_pids()) - worker_started
        pg_ended = postgres_cpu_seconds()
        print(f"{rows} rows ({len(csv) / 1e6:.1f} MB): {report.created_count} created, "
              f"{len(report.duplicates)} duplicates, {len(report.invalid)} invalid "
              f"in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s")
        print("  stage done at: " + ", ".join(f"{k} {v:.2f}s" for k, v in stages.items())
              + f"; waiting for chunks {waits['parse']:.2f} s, deduping and writing them "
              f"{waits['stage']:.2f} s")
        pg = "" if pg_started is None or pg_ended is None else (
            f", PostgreSQL {pg_ended - pg_started:.2f} s")
        print(f"  CPU time: Python {cpu:.2f} s (service process), {worker:.2f} s (import "
              f"worker process){pg}; {machine_load()}")
        relay_started = time.perf_counter()
        await relay_drained(runtime)
        relayed = time.perf_counter() - relay_started
        print(f"  outbox relay published the {report.created_count} lead.created events "
              f"{relayed:.1f} s after the commit")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().rows))

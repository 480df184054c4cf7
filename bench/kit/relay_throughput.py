"""Outbox relay throughput: events/s from committed outbox rows to JetStream acks.

    python -m bench.kit.relay_throughput [--events 50000] [--aggregates 5000] [--relays 1,2]

Target (issue: foundation): >= 5,000 events/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from sqlalchemy import MetaData, text

from bench.servers import bench_servers, machine, today
from crmkit.bus import ensure_stream, ensure_streams, make_broker
from crmkit.contracts import Envelope, Event
from crmkit.db import create_engine, drop_database, ensure_database, session_factory, with_database
from crmkit.outbox import SqlUnitOfWork
from crmkit.relay import OutboxRelay
from crmkit.tables import outbox_table

STREAM = "BENCH"


class Ticked(Event):
    TYPE = "crm.bench.clock.ticked"

    n: int


async def fill(sessions, outbox, events: int, aggregates: int) -> None:  # type: ignore[no-untyped-def]
    org = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(aggregates)]
    per_commit = 1000
    for start in range(0, events, per_commit):
        async with SqlUnitOfWork(sessions, outbox, lambda session: session) as uow:
            for n in range(start, min(events, start + per_commit)):
                uow.emit(
                    Envelope.wrap(
                        Ticked(n=n), org_id=org, aggregate_id=ids[n % aggregates],
                        aggregate_version=n // aggregates + 1,
                    )
                )
            await uow.commit()


async def run(events: int, aggregates: int, relay_counts: list[int]) -> None:
    with bench_servers() as (server_url, nats_url):
        name = f"crm_bench_{uuid.uuid4().hex[:6]}"
        await ensure_database(server_url, name)
        engine = create_engine(with_database(server_url, name), pool_size=16)
        metadata = MetaData()
        outbox = outbox_table(metadata)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        sessions = session_factory(engine)
        broker = make_broker(nats_url)
        await broker.connect()
        js = broker.config.connection_state.stream
        await ensure_streams(js)
        await ensure_stream(js, STREAM, ("crm.bench.>",))
        print(f"machine: {machine()}; date: {today()}")
        for relays in relay_counts:
            async with engine.begin() as conn:
                await conn.execute(text("TRUNCATE outbox"))
            await js.purge_stream(STREAM)
            await fill(sessions, outbox, events, aggregates)
            workers = [OutboxRelay(engine, outbox, broker, stream=STREAM, batch_size=500)
                       for _ in range(relays)]

            async def drain(relay: OutboxRelay) -> None:
                while await relay.relay_once():
                    pass

            started = time.perf_counter()
            await asyncio.gather(*(drain(w) for w in workers))
            elapsed = time.perf_counter() - started
            info = await js.stream_info(STREAM)
            assert info.state.messages == events, info.state.messages
            print(
                f"relays={relays} events={events} aggregates={aggregates} "
                f"seconds={elapsed:.2f} rate={events / elapsed:,.0f} events/s"
            )
        await broker.stop()
        await engine.dispose()
        await drop_database(server_url, name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--aggregates", type=int, default=5_000)
    parser.add_argument("--relays", default="1,2")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.aggregates, [int(x) for x in args.relays.split(",")]))


if __name__ == "__main__":
    main()

"""Notifications benchmark (not a test): events -> webhook deliveries per second, and the
latency of call and meeting reminders.

    python -m bench.notifications.bench_notifications [--events 5000] [--aggregates 500]
        [--reminders 1000] [--spread 30] [--margin 45]

The service runs as deployed (``python -m services.notifications``, one worker) on the
benchmark's own embedded PostgreSQL and NATS.

1. Webhooks: an admin registers one endpoint (an aiohttp receiver in this process, answering
   200) for ``crm.pipeline.>``; ``--events`` opportunity events over ``--aggregates``
   opportunities are published to JetStream as the pipeline's relay publishes them. Measured:
   deliveries received per second from the first publish to the last delivery, each event's
   publish -> received latency, per-aggregate order at the receiver, and the service's CPU
   per delivery.
2. Reminders: ``--reminders`` meetings whose reminder moments (due time minus the 15-minute
   lead time) are spread over ``--spread`` seconds starting ``--margin`` seconds after they
   are published (time for the service to apply them; how many it had is reported), the
   reminder pass every second (``CRM_NOTIFICATIONS_TICK_SECONDS=1``). Latency: a
   notification's commit seen by polling the database (every 50 ms) minus its reminder
   moment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from aiohttp import web

import services.notifications
from bench.servers import bench_servers, machine, service_process, today
from crmkit.auth import mint_dev_token
from crmkit.bus import ensure_streams, make_broker
from crmkit.contracts import Envelope
from crmkit.contracts import pipeline as pl
from crmkit.db import ensure_database, with_database
from crmkit.embedded import free_port
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET
from crmkit.testing.bus import publish

MIGRATIONS = Path(services.notifications.__file__).parent / "migrations"
REGISTER = """mutation($url: String!) { registerWebhookEndpoint(url: $url,
  eventTypes: ["crm.pipeline.>"]) { __typename } }"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def opportunity_event(
    opportunity_id: uuid.UUID, owner: uuid.UUID, n: int
) -> pl.OpportunityUpdated:
    return pl.OpportunityUpdated(
        opportunity_id=opportunity_id, name=f"Deal {n}", owner_id=owner,
        pipeline_id=uuid.UUID(int=1), stage_id=uuid.UUID(int=2), status="open",
        amount="1000.00", currency="PLN", probability=20, changed=["name"],  # type: ignore[arg-type]
    )


async def webhooks(args: argparse.Namespace, base: str, nats_url: str, org: uuid.UUID,
                   cpu: object) -> dict[str, object]:
    received: list[tuple[float, dict[str, object]]] = []
    done = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append((time.perf_counter(), json.loads(await request.read())))
        if len(received) >= args.events:
            done.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    admin = mint_dev_token(secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=org,
                           roles=["admin"])
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        answer = await http.post(
            "/graphql",
            json={"query": REGISTER, "variables": {"url": f"http://127.0.0.1:{port}/hook"}},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert answer.json()["data"]["registerWebhookEndpoint"]["__typename"] == \
            "RegisterWebhookEndpointPayload", answer.text

    broker = make_broker(nats_url)
    await broker.connect()
    aggregates = [uuid.uuid4() for _ in range(args.aggregates)]
    owner = uuid.uuid4()
    sent_at: dict[str, float] = {}
    cpu_before = cpu.seconds()  # type: ignore[attr-defined]
    started = time.perf_counter()
    for n in range(args.events):
        aggregate = aggregates[n % len(aggregates)]
        envelope = Envelope.wrap(
            opportunity_event(aggregate, owner, n), org_id=org, aggregate_id=aggregate,
            aggregate_version=n // len(aggregates) + 1,
        )
        sent_at[str(envelope.id)] = time.perf_counter()
        await publish(broker, envelope)
    published = time.perf_counter() - started
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = received[-1][0] - started
    cpu_used = cpu.seconds() - cpu_before  # type: ignore[attr-defined]
    await broker.stop()
    await runner.cleanup()
    latencies = [(at - sent_at[str(body["id"])]) * 1000 for at, body in received]
    last: dict[str, int] = {}
    in_order = True
    for _, body in received:
        version = int(body["aggregate_version"])  # type: ignore[call-overload]
        key = str(body["aggregate_id"])
        in_order &= version > last.get(key, 0)
        last[key] = version
    distinct = len({str(body["id"]) for _, body in received})
    return {
        "events": args.events,
        "published_s": round(published, 2),
        "elapsed_s": round(elapsed, 2),
        "deliveries_per_s": round(len(received) / elapsed),
        "latency_p50_ms": round(pct(latencies, 0.5)),
        "latency_p99_ms": round(pct(latencies, 0.99)),
        "in_order_per_aggregate": in_order,
        "duplicates": len(received) - distinct,
        "service_cpu_ms_per_delivery": round(cpu_used * 1000 / len(received), 2),
    }


async def reminders(args: argparse.Namespace, nats_url: str, db_url: str,
                    org: uuid.UUID) -> dict[str, object]:
    broker = make_broker(nats_url)
    await broker.connect()
    owner = uuid.uuid4()
    lead = timedelta(minutes=15)
    # Room for the service to apply every meeting's event first: the latency measured is the
    # reminder pass's, not the event backlog's (that one is checked and reported).
    start = datetime.now(UTC) + timedelta(seconds=args.margin)
    moments: dict[uuid.UUID, datetime] = {}
    for n in range(args.reminders):
        moment = start + timedelta(seconds=args.spread * n / args.reminders)
        meeting = pl.ActivityScheduled(
            activity_id=uuid.uuid4(), opportunity_id=uuid.uuid4(), owner_id=owner,
            kind="meeting", subject=f"Meeting {n}", due_at=moment + lead, status="open",
        )
        moments[meeting.activity_id] = moment
        await publish(broker, Envelope.wrap(meeting, org_id=org,
                                            aggregate_id=meeting.activity_id,
                                            aggregate_version=1))
    await broker.stop()
    conn = await asyncpg.connect(db_url)
    await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
    applied = await conn.fetchval("SELECT count(*) FROM activities WHERE org_id = $1", org)
    seen: dict[uuid.UUID, datetime] = {}
    deadline = time.monotonic() + args.spread + 60
    while len(seen) < len(moments) and time.monotonic() < deadline:
        rows = await conn.fetch("SELECT subject_id FROM notifications WHERE org_id = $1 AND "
                                "kind = 'ACTIVITY_DUE'", org)
        now = datetime.now(UTC)
        for row in rows:
            seen.setdefault(row["subject_id"], now)
        await asyncio.sleep(0.05)
    await conn.close()
    latencies = [(seen[a] - moments[a]).total_seconds() * 1000 for a in seen]
    early = sum(1 for x in latencies if x < 0)
    return {
        "reminders": len(moments),
        "arrived": len(seen),
        "early": early,
        "applied_before_first_moment": applied,
        "latency_p50_ms": round(pct(latencies, 0.5)),
        "latency_p99_ms": round(pct(latencies, 0.99)),
        "latency_max_ms": round(max(latencies)),
    }


async def prepare(database_url: str) -> str:
    name = f"crm_notifications_bench_{uuid.uuid4().hex[:6]}"
    await ensure_database(database_url, name)
    url = with_database(database_url, name)
    await upgrade(MIGRATIONS, url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--aggregates", type=int, default=500)
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=30.0)
    parser.add_argument("--margin", type=float, default=45.0)
    args = parser.parse_args()
    with bench_servers() as (database_url, nats_url):
        url = asyncio.run(prepare(database_url))

        async def streams() -> None:
            broker = make_broker(nats_url)
            await broker.connect()
            await ensure_streams(broker.config.connection_state.stream, "CRM")
            await broker.stop()

        asyncio.run(streams())
        port = free_port()
        settings = {
            "CRM_DATABASE_URL": database_url, "CRM_NOTIFICATIONS_DATABASE_URL": url,
            "CRM_NOTIFICATIONS_PORT": str(port), "CRM_NOTIFICATIONS_TICK_SECONDS": "1",
            "CRM_CONSUMER_SUFFIX": f"-bench-{uuid.uuid4().hex[:6]}",
        }
        with service_process("services.notifications", port, nats_url, settings) as (base, cpu):
            hooks = asyncio.run(webhooks(args, base, nats_url, uuid.uuid4(), cpu))
            print(json.dumps({"webhooks": hooks}), flush=True)
            plain = url.replace("postgresql+asyncpg://", "postgresql://")
            reminded = asyncio.run(reminders(args, nats_url, plain, uuid.uuid4()))
            print(json.dumps({"reminders": reminded}), flush=True)
    print(f"{machine()}, {today()}")


if __name__ == "__main__":
    main()

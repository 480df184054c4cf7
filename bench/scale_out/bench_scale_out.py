"""Scale-out throughput: acknowledged writes per second through the gateways with one and
with two replicas of every service, on a 3-node NATS cluster (R3 streams) and PostgreSQL
behind PgBouncer in transaction mode; optionally the same failure as the e2e test.

    python -m bench.scale_out.bench_scale_out [--seconds 60] [--clients 16]
        [--replicas 1,2] [--chaos] [--direct]

Each write is a createLead or a createOpportunity (each one transaction with its event); the
figure counts writes the gateway acknowledged, and the run waits until every event reached
its consumers (reporting, documents) and checks them as the e2e test does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from bench.servers import machine, today
from crmkit.db import SERVICES
from tests.e2e.scale_out import Team, burst, scale_out_system, wait_settled


def run(replicas: int, seconds: float, clients: int, chaos: bool, bouncer: bool) -> str:
    work = Path(tempfile.mkdtemp(prefix="crm-bench-scale-"))
    try:
        with scale_out_system(work, replicas=replicas, gateways=2, bouncer=bouncer) as system:
            team = Team(org=uuid.uuid4(), manager=uuid.uuid4())
            asyncio.run(burst(system.gateway_urls(), team, seconds=3, clients=4))  # warm-up
            events = []
            if chaos:
                victims = system.stacks[0]

                def kill() -> None:
                    system.nats.kill_node(1)
                    for service in SERVICES:
                        victims.kill(service)

                def restart() -> None:
                    system.nats.start_node(1)
                    victims.start(list(SERVICES))
                    victims.wait_ready(90)

                events = [(seconds * 0.3, kill), (seconds * 0.6, restart)]
            result = asyncio.run(burst(system.gateway_urls(), team, seconds=seconds,
                                       clients=clients, events=events))
            state = asyncio.run(wait_settled(system, team, within=300))
            settled = (state["unsent"] == 0
                       and state["funnel_count"] == len(state["opportunities"]))
            load = os.getloadavg()[0]
            return (f"| {replicas} | {clients} | {result.seconds:.0f} | {result.acknowledged:,} "
                    f"| {result.per_second:,.0f} | {sum(result.failures.values())} "
                    f"| {'yes' if settled else 'NO'} | {'chaos' if chaos else '-'} "
                    f"| {'PgBouncer' if bouncer else 'direct'} | {load:.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--chaos", action="store_true")
    parser.add_argument("--direct", action="store_true",
                        help="services reach PostgreSQL directly, with prepared statements")
    args = parser.parse_args()
    print(f"{machine()}, {today()}")
    print("| replicas | clients | seconds | acknowledged | writes/s | failed | settled | "
          "failure | database | load |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: |")
    for replicas in (int(r) for r in args.replicas.split(",")):
        print(run(replicas, args.seconds, args.clients, args.chaos, not args.direct), flush=True)


if __name__ == "__main__":
    main()

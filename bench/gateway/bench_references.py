"""Entity references through the gateway: 50 opportunities with their account and owner.

The pipeline lists the opportunities; their ``account`` and ``owner`` are the leads service's
``Account`` and ``Member`` entities, which the gateway fetches in one ``_entities`` request of
100 references. Compared with the pipeline alone answering the same list (references as ids):
the target is the gateway within 2x of it.

Starts embedded PostgreSQL and NATS (or CRM_BENCH_DATABASE_URL / CRM_BENCH_NATS_URL), the
leads and pipeline services and the gateway as deployed (``python -m ...``; test settings,
as prod refuses the dev token key),
seeds one org (50 accounts, 50 members, 50 opportunities), then times the two queries,
interleaved one by one so load affects both alike, with each process's CPU per request of
each kind (what other load on the machine moves least: wall-clock ratios swing with it).

Run: flock /tmp/crm-bench.lock .venv/bin/python bench/gateway/bench_references.py
       [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.servers import ServiceCpu, bench_servers, machine, service_process, today
from crmkit.auth import mint_dev_token
from crmkit.db import ensure_database, service_database_url
from crmkit.embedded import free_port
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET

ROOT = Path(__file__).resolve().parents[2]
COUNT = 50

THROUGH_GATEWAY = """{ opportunities(first: 50) { edges { node {
  id name amount currency account { id name nip } owner { id name team } } } } }"""
PIPELINE_ALONE = """{ opportunities(first: 50) { edges { node {
  id name amount currency account { id } owner { id } } } } }"""


async def post(client: httpx.AsyncClient, url: str, token: str, query: str,
               variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post(url, json={"query": query, "variables": variables or {}},
                                 headers={"Authorization": f"Bearer {token}"})
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


async def seed(client: httpx.AsyncClient, leads: str, pipeline: str) -> str:
    """One org: 50 members (each registered by a request of their own), 50 accounts and
    50 opportunities, each with its account and owner. The admin's token."""
    org = uuid.uuid4()
    admin = mint_dev_token(secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=org,
                           roles=["admin"], name="Admin")
    for i in range(COUNT):
        member = uuid.uuid4()
        rep = mint_dev_token(secret=DEV_JWT_SECRET, member_id=member, org_id=org,
                             roles=["rep"], team="alpha", name=f"Rep {i}")
        await post(client, leads, rep, "{ me { id } }")
        account = await post(client, leads, admin, """mutation($n: String!) {
            createAccount(input: {name: $n}) { ... on AccountPayload { account { id } } } }""",
                             {"n": f"Client {i}"})
        # The pipeline takes the member and the account as owner and client once leads'
        # events reached it (a few milliseconds later).
        for _ in range(200):
            created = await post(client, pipeline, admin, """mutation(
                $input: CreateOpportunityInput!) { createOpportunity(input: $input) {
                __typename } }""", {"input": {
                "name": f"Deal {i}", "amount": "1000.00", "currency": "PLN",
                "accountId": account["createAccount"]["account"]["id"],
                "ownerId": str(member), "team": "alpha"}})
            if created["createOpportunity"]["__typename"] == "OpportunityPayload":
                break
            await asyncio.sleep(0.05)
    return admin


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def measure(requests: int) -> dict[str, Any]:
    with bench_servers() as (server_url, nats_url):
        for service in ("leads", "pipeline"):
            await ensure_database(server_url, f"crm_{service}")
            await upgrade(ROOT / "services" / service / "migrations",
                          service_database_url(server_url, service))
        ports = {name: free_port() for name in ("leads", "pipeline", "gateway")}
        common = {"CRM_DATABASE_URL": server_url,
                  **{f"CRM_{n.upper()}_PORT": str(p) for n, p in ports.items()},
                  # Not started: the query does not reach them.
                  "CRM_DOCUMENTS_URL": f"http://127.0.0.1:{free_port()}/graphql",
                  "CRM_REPORTING_URL": f"http://127.0.0.1:{free_port()}/graphql"}
        with contextlib.ExitStack() as stack:
            leads, leads_cpu = stack.enter_context(
                service_process("services.leads", ports["leads"], nats_url, common))
            pipeline, pipeline_cpu = stack.enter_context(
                service_process("services.pipeline", ports["pipeline"], nats_url, common))
            gateway_cpu = stack.enter_context(gateway_process(ports["gateway"], nats_url, common))
            cpus = {"gateway": gateway_cpu, "pipeline": pipeline_cpu, "leads": leads_cpu}
            gateway = f"http://127.0.0.1:{ports['gateway']}"
            async with httpx.AsyncClient(timeout=30) as client:
                admin = await seed(client, f"{leads}/graphql", f"{pipeline}/graphql")
                listed = await post(client, f"{gateway}/graphql", admin, THROUGH_GATEWAY)
                nodes = [e["node"] for e in listed["opportunities"]["edges"]]
                assert len(nodes) == COUNT and all(n["account"]["name"] for n in nodes)
                assert all(n["owner"]["name"].startswith("Rep ") for n in nodes)
                timings: dict[str, list[float]] = {"gateway": [], "pipeline": []}
                # CPU of each process while the timed requests of one kind were served.
                spent: dict[str, dict[str, float]] = {
                    kind: dict.fromkeys(cpus, 0.0) for kind in timings}
                for i in range(requests + 20):  # the first 20 warm up
                    order = [("gateway", gateway, THROUGH_GATEWAY),
                             ("pipeline", pipeline, PIPELINE_ALONE)]
                    for name, base, query in order if i % 2 else reversed(order):
                        before = {p: c.seconds() for p, c in cpus.items()}
                        started = time.perf_counter()
                        await post(client, f"{base}/graphql", admin, query)
                        if i >= 20:
                            timings[name].append((time.perf_counter() - started) * 1000)
                            for process, counter in cpus.items():
                                spent[name][process] += counter.seconds() - before[process]
    result: dict[str, Any] = {
        name: {"p50_ms": round(percentile(t, 50), 2), "p95_ms": round(percentile(t, 95), 2),
               "cpu_ms_per_request": {p: round(s / requests * 1000, 2)
                                      for p, s in spent[name].items()}}
        for name, t in timings.items()
    }
    result["ratio_p50"] = round(result["gateway"]["p50_ms"] / result["pipeline"]["p50_ms"], 2)
    result["requests"] = requests
    return result


@contextlib.contextmanager
def gateway_process(port: int, nats_url: str, settings: dict[str, str]) -> Any:
    """``python -m gateway`` once its /readyz answers: its CPU."""
    environment = {**os.environ, "CRM_ENVIRONMENT": "test", "CRM_NATS_URL": nats_url,
                   "CRM_JWT_SECRET": DEV_JWT_SECRET, "CRM_LOG_LEVEL": "WARNING", **settings}
    child = subprocess.Popen([sys.executable, "-m", "gateway"], env=environment, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the gateway did not become ready")
            time.sleep(0.2)
        yield ServiceCpu(child.pid)
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    load = os.getloadavg()
    result = asyncio.run(measure(args.requests))
    result["load_before"] = [round(x, 2) for x in load]
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"machine: {machine()}; date: {today()}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""The system scaled out as production runs it, on this machine: a 3-node NATS JetStream
cluster with 3-replica streams, PostgreSQL behind PgBouncer in transaction mode, several
replicas of every service and several gateways; a write burst through the gateways, with
parts killed mid-burst; then the checks that nothing acknowledged was lost and no event was
lost or applied twice. Used by tests/e2e/test_scale_out.py and bench/scale_out."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats

from crm.stack import Stack, run_migrations
from crmkit.auth import mint_dev_token
from crmkit.db import SERVICES, service_database_url
from crmkit.embedded import EmbeddedNatsCluster, EmbeddedPgBouncer, EmbeddedPostgres, free_port
from crmkit.settings import DEV_JWT_SECRET, Settings
from crmkit.testing.plugin import ensure_pgbouncer

CREATE_LEAD = """mutation($input: LeadInput!) { createLead(input: $input, allowDuplicate: true) {
  __typename ... on LeadPayload { lead { id } } } }"""
CREATE_OPPORTUNITY = """mutation($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) {
    __typename ... on OpportunityPayload { opportunity { id } } } }"""
# A read on the pipeline's direct path (its own SQL on the driver connection).
LIST = "{ opportunities(first: 5) { edges { node { id name } } } }"
FUNNEL = """{ salesFunnel { __typename ... on SalesFunnel { stages { name position count
  amounts { byCurrency { currency amount } } } } } }"""


@dataclass
class ScaleOutSystem:
    """Servers plus ``replicas`` stacks of the services; gateway ``i`` routes to stack
    ``i % replicas`` (each gateway stands for a Kubernetes Service's choice of pod)."""

    work: Path
    postgres: EmbeddedPostgres
    bouncer: EmbeddedPgBouncer
    nats: EmbeddedNatsCluster
    stacks: list[Stack] = field(default_factory=list)
    gateways: list[Stack] = field(default_factory=list)

    @property
    def direct_url(self) -> str:
        return self.postgres.url

    def gateway_urls(self) -> list[str]:
        return [f"{g.url('gateway')}/graphql" for g in self.gateways]

    def database_url(self, service: str) -> str:
        """The service's own database on the direct (unpooled) server."""
        return service_database_url(self.direct_url, service)

    def replica_urls(self, service: str) -> list[str]:
        return [stack.url(service) for stack in self.stacks]

    def stop(self) -> None:
        for stack in [*self.gateways, *self.stacks]:
            stack.stop()
        self.nats.stop()
        self.bouncer.stop()
        self.postgres.stop()


@contextlib.contextmanager
def scale_out_system(
    work: Path, *, replicas: int = 2, gateways: int = 2, bouncer: bool = True
) -> Iterator[ScaleOutSystem]:
    """``bouncer=False``: the services reach PostgreSQL directly, with prepared statements
    (to measure what the transaction-mode pooler costs)."""
    ensure_pgbouncer()
    postgres = EmbeddedPostgres(work / "postgres")
    nats_cluster = EmbeddedNatsCluster(work / "nats")
    postgres.start()
    pgbouncer = EmbeddedPgBouncer(work / "pgbouncer", postgres.port, pool_size=20)
    system = ScaleOutSystem(work, postgres, pgbouncer, nats_cluster)
    try:
        pgbouncer.start()
        nats_cluster.start()
        pooled = pgbouncer.url() if bouncer else postgres.url
        # Migrations through the bouncer, as the pods' init containers run them.
        run_migrations(pooled, list(SERVICES))
        settings = Settings(environment="test", jwt_secret=DEV_JWT_SECRET)
        extra = {"CRM_STREAM_REPLICAS": "3",
                 "CRM_DB_PREPARED_STATEMENTS": "false" if bouncer else "true"}
        service_ports = [{s: free_port() for s in SERVICES} for _ in range(replicas)]
        for index in range(replicas):
            # Each replica set is seeded with another NATS server and learns the rest.
            seed = f"nats://127.0.0.1:{nats_cluster.client_ports[index % 3]}"
            stack = Stack(settings, pooled, seed, {**service_ports[index], "gateway": free_port()},
                          work / f"logs-{index}", extra_env=extra)
            stack.start(list(SERVICES))
            system.stacks.append(stack)
        for stack in system.stacks:
            stack.wait_ready(120)
        for index in range(gateways):
            ports = {**service_ports[index % replicas], "gateway": free_port()}
            gateway = Stack(settings, pooled, f"nats://127.0.0.1:{nats_cluster.client_ports[0]}",
                            ports, work / f"logs-gateway-{index}", extra_env=extra)
            gateway.start(["gateway"])
            system.gateways.append(gateway)
        for gateway in system.gateways:
            gateway.wait_ready(60)
        yield system
    finally:
        system.stop()


@dataclass
class Team:
    org: uuid.UUID
    manager: uuid.UUID

    def token(self) -> str:
        return mint_dev_token(secret=DEV_JWT_SECRET, member_id=self.manager, org_id=self.org,
                              roles=["manager"], team="north", groups=["sales"],
                              name="Scale Manager")


@dataclass
class BurstResult:
    seconds: float
    leads: list[str] = field(default_factory=list)
    opportunities: list[tuple[str, Decimal]] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    reads: int = 0

    @property
    def acknowledged(self) -> int:
        return len(self.leads) + len(self.opportunities)

    @property
    def per_second(self) -> float:
        return self.acknowledged / self.seconds


async def burst(
    gateways: list[str],
    team: Team,
    *,
    seconds: float,
    clients: int = 8,
    events: list[tuple[float, Callable[[], None]]] | None = None,
) -> BurstResult:
    """``clients`` concurrent clients, spread over the gateways, each creating a lead and an
    opportunity in turn until ``seconds`` pass; ``events`` run at their second (in a thread,
    so killing and starting processes does not stop the clients)."""
    result = BurstResult(seconds)
    headers = {"Authorization": f"Bearer {team.token()}"}
    close = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    started = time.monotonic()
    deadline = started + seconds

    async def client(number: int, http: httpx.AsyncClient) -> None:
        url = gateways[number % len(gateways)]
        sequence = 0
        while time.monotonic() < deadline:
            sequence += 1
            name = f"c{number}-{sequence}-{uuid.uuid4().hex[:6]}"
            amount = Decimal(100 + sequence)
            for query, variables, field_name in (
                (CREATE_LEAD, {"input": {"company": f"Lead {name}"}}, "createLead"),
                (CREATE_OPPORTUNITY, {"input": {"name": f"Deal {name}", "amount": str(amount),
                                                "currency": "PLN", "expectedCloseDate": close}},
                 "createOpportunity"),
            ):
                try:
                    response = await http.post(url, json={"query": query, "variables": variables},
                                               headers=headers)
                    body = response.json()
                    payload = (body.get("data") or {}).get(field_name) or {}
                except (httpx.HTTPError, ValueError) as error:
                    result.failures[type(error).__name__] += 1
                    await asyncio.sleep(0.05)
                    continue
                if payload.get("__typename") == "LeadPayload":
                    result.leads.append(payload["lead"]["id"])
                elif payload.get("__typename") == "OpportunityPayload":
                    result.opportunities.append((payload["opportunity"]["id"], amount))
                    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, TypeError):
                        listed = await http.post(url, json={"query": LIST}, headers=headers)
                        if listed.json()["data"]["opportunities"]["edges"]:
                            result.reads += 1
                else:
                    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
                    result.failures[f"{response.status_code} {codes or payload}"[:80]] += 1
                    await asyncio.sleep(0.05)

    async def scheduled() -> None:
        for at, action in events or []:
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            await asyncio.to_thread(action)

    limits = httpx.Limits(max_connections=clients * 2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await asyncio.gather(scheduled(), *(client(n, http) for n in range(clients)))
    result.seconds = time.monotonic() - started
    return result


METRIC = re.compile(r'^(\w+)\{([^}]*)\} ([0-9.e+]+)$', re.MULTILINE)


def work_done(base_url: str) -> dict[str, float]:
    """A replica's work so far: GraphQL requests answered, events applied, events published."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    done: Counter[str] = Counter()
    for name, labels, value in METRIC.findall(text):
        if name == "crm_http_requests_total" and 'path="/graphql"' in labels:
            done["requests"] += float(value)
        elif name == "crm_inbox_events_total" and 'outcome="applied"' in labels:
            done["applied"] += float(value)
        elif name == "crm_outbox_published_total":
            done["published"] += float(value)
    return dict(done)


async def wait_settled(system: ScaleOutSystem, team: Team, *, within: float = 120.0
                       ) -> dict[str, Any]:
    """Until every outbox is sent and the consumers have caught up; the state then.
    Caught up means each consumer checked afterwards: reporting's two consumers have every
    event of their producer (the funnel counting every opportunity says nothing of the leads
    consumer, which a loaded machine left minutes behind after an outage) and documents
    every opportunity."""
    deadline = time.monotonic() + within
    while True:
        state = await read_state(system, team)
        applied = state["applied"]
        if state["unsent"] == 0 and state["funnel_count"] == len(state["opportunities"]) and \
                state["documents_seen"] == len(state["opportunities"]) and all(
                    state["produced"][producer] <= applied.get(consumer, {}).keys()
                    for producer, consumer in (("leads", "reporting-leads"),
                                               ("pipeline", "reporting-pipeline"))):
            return state
        if time.monotonic() > deadline:
            return state
        await asyncio.sleep(1)


async def read_state(system: ScaleOutSystem, team: Team) -> dict[str, Any]:
    async def fetch(service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        url = system.database_url(service).replace("+asyncpg", "")
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    org = team.org
    opportunities = {r["id"]: r["amount"] for r in await fetch(
        "pipeline", "SELECT id, amount FROM opportunities WHERE org_id = $1", org)}
    leads = {r["id"] for r in await fetch("leads", "SELECT id FROM leads WHERE org_id = $1", org)}
    unsent = 0
    produced: dict[str, set[uuid.UUID]] = {}
    for service in ("leads", "pipeline"):
        rows = await fetch(service, "SELECT event_id, subject, sent_at FROM outbox "
                                    "WHERE envelope->>'org_id' = $1", str(org))
        unsent += sum(1 for r in rows if r["sent_at"] is None)
        produced[service] = {r["event_id"] for r in rows}
    applied: dict[str, Counter[uuid.UUID]] = {}
    for service in ("reporting", "documents"):
        rows = await fetch(service, "SELECT consumer, event_id FROM inbox")
        for r in rows:
            applied.setdefault(r["consumer"], Counter())[r["event_id"]] += 1
    opportunity_events = {
        r["event_id"] for r in await fetch(
            "pipeline", "SELECT event_id FROM outbox WHERE envelope->>'org_id' = $1 "
                        "AND subject LIKE 'crm.pipeline.opportunity.%'", str(org))
    }
    documents_seen = len({
        r["event_id"] for r in await fetch("documents", "SELECT event_id FROM inbox "
                                           "WHERE consumer = 'documents-opportunities'")
    } & opportunity_events)
    async with httpx.AsyncClient(timeout=30) as http:
        answer = (await http.post(system.gateway_urls()[0], json={"query": FUNNEL},
                                  headers={"Authorization": f"Bearer {team.token()}"})).json()
    funnel = answer["data"]["salesFunnel"]
    stages = sorted(funnel["stages"], key=lambda s: s["position"])
    return {
        "opportunities": opportunities,
        "leads": leads,
        "unsent": unsent,
        "produced": produced,
        "applied": applied,
        "funnel": stages,
        "funnel_count": sum(s["count"] for s in stages),
        "documents_seen": documents_seen,
    }


async def stream_messages(system: ScaleOutSystem) -> int:
    client = await nats.connect(system.nats.url.split(","))
    try:
        info = await client.jetstream().stream_info("CRM")
        return int(info.state.messages)
    finally:
        await client.close()


async def all_outbox_rows(system: ScaleOutSystem) -> int:
    total = 0
    for service in SERVICES:
        url = service_database_url(system.direct_url, service).replace("+asyncpg", "")
        conn = await asyncpg.connect(url)
        try:
            total += int(await conn.fetchval("SELECT count(*) FROM outbox"))
        finally:
            await conn.close()
    return total

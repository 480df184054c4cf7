"""The whole system as processes, as `crm dev` runs it: embedded PostgreSQL and NATS of its
own, migrations, every service and the gateway on free ports."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest
from sqlalchemy.engine import make_url

from crm.reaper import Reaper
from crm.stack import Servers, Stack, available_services, has_gateway, run_migrations
from crmkit.auth import mint_dev_token
from crmkit.db import SERVICES, service_database_url
from crmkit.embedded import free_port
from crmkit.settings import DEV_JWT_SECRET, Settings


@dataclass
class RunningSystem:
    stack: Stack
    servers: Servers
    services: list[str]

    @property
    def gateway(self) -> str:
        return f"{self.stack.url('gateway')}/graphql"

    @property
    def web(self) -> str:
        return self.stack.url("web")

    def service(self, name: str) -> str:
        return f"{self.stack.url(name)}/graphql"

    def wait_for_consumers(self, seconds: float = 120.0) -> None:
        """Until every service's relay has published all its outbox holds and every durable
        consumer of the event stream has applied all it was sent (a test that floods the bus
        leaves the next tests no backlog to wait behind); fails when ``seconds`` pass with no
        progress (how long a backlog takes is the machine's speed, a stall is a fault)."""
        assert self.servers.nats_url is not None and self.servers.database_url is not None
        asyncio.run(_drained(self.servers.nats_url, self.servers.database_url, self.services,
                             seconds))


# Rows not published yet, 0 for a service without an outbox (it publishes nothing).
UNSENT = """SELECT CASE WHEN to_regclass('outbox') IS NULL THEN 0
                    ELSE (SELECT count(*) FROM outbox WHERE sent_at IS NULL) END"""


async def _unsent(database_url: str, service: str) -> int:
    dsn = make_url(service_database_url(database_url, service)).set(drivername="postgresql")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        return int(await connection.fetchval(UNSENT))
    finally:
        await connection.close()


async def _drained(nats_url: str, database_url: str, services: list[str], seconds: float) -> None:
    connection = await nats.connect(nats_url)
    try:
        stream = connection.jetstream()
        deadline = time.monotonic() + seconds
        least: int | None = None
        while True:
            # The outboxes first: consumers that are idle after them have had every event
            # committed before. (Idle consumers alone said nothing of the 20,000 events of an
            # import its relay was still publishing: the next test's events queued behind them.)
            waiting = {s: await _unsent(database_url, s) for s in services}
            consumers = await stream.consumers_info("CRM")
            waiting |= {c.name: c.num_pending + c.num_ack_pending for c in consumers}
            left = sum(waiting.values())
            if not left:
                return
            if least is None or left < least:
                least, deadline = left, time.monotonic() + seconds
            elif time.monotonic() > deadline:
                raise AssertionError(f"no progress in {seconds:g} s: {waiting}")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def system() -> Iterator[RunningSystem]:
    work = Path(tempfile.mkdtemp(prefix="crm-e2e-"))
    reaper = Reaper()  # a test run killed outright leaves no server or service behind
    servers = Servers(work, reaper=reaper)
    servers.start()
    assert servers.database_url is not None and servers.nats_url is not None
    services = available_services()
    ports = {name: free_port() for name in ("gateway", "web", *SERVICES)}
    settings = Settings(environment="test", jwt_secret=DEV_JWT_SECRET)
    stack = Stack(settings, servers.database_url, servers.nats_url, ports, work / "logs",
                  reaper=reaper)
    stopped = False
    try:
        run_migrations(servers.database_url, services)
        stack.start_all(services, gateway=has_gateway(), timeout=90, web=True)
        yield RunningSystem(stack, servers, services)
    finally:
        try:
            stack.stop()
            servers.stop()
            stopped = True
        finally:
            reaper.close(clean=stopped)


@dataclass(frozen=True)
class Member:
    id: uuid.UUID
    org_id: uuid.UUID
    role: str
    team: str | None
    name: str

    @property
    def token(self) -> str:
        return mint_dev_token(
            secret=DEV_JWT_SECRET,
            member_id=self.id,
            org_id=self.org_id,
            roles=[self.role],
            team=self.team,
            groups=["sales"],
            name=self.name,
        )


class Client:
    """GraphQL over HTTP as a frontend would send it."""

    def __init__(self, url: str, member: Member) -> None:
        self.url = url
        self.member = member
        self._http = httpx.Client(timeout=30)

    def raw(self, query: str, variables: dict[str, object] | None = None) -> httpx.Response:
        return self._http.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.member.token}"},
        )

    def __call__(self, query: str, variables: dict[str, object] | None = None) -> dict:  # type: ignore[type-arg]
        response = self.raw(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        data: dict = body["data"]  # type: ignore[type-arg]
        return data

    def close(self) -> None:
        self._http.close()


def new_org_members() -> dict[str, Member]:
    org = uuid.uuid4()
    return {
        "admin": Member(uuid.uuid4(), org, "admin", None, "Ada Admin"),
        "manager": Member(uuid.uuid4(), org, "manager", "north", "Max Manager"),
        "rep": Member(uuid.uuid4(), org, "rep", "north", "Rita Rep"),
        "rep2": Member(uuid.uuid4(), org, "rep", "north", "Rob Rep"),
    }

"""Shared set-up for the leads benchmarks: a fresh, migrated database and the service
in-process (PostgreSQL/NATS from CRM_DATABASE_URL / CRM_NATS_URL, or embedded servers)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from crmkit.auth import mint_dev_token
from crmkit.db import drop_database, ensure_database, with_database
from crmkit.embedded import EmbeddedNats, EmbeddedPostgres
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET
from services.leads.app import create_app, create_runtime
from services.leads.settings import LeadsSettings

MIGRATIONS = Path(__file__).parents[2] / "services" / "leads" / "migrations"

# The embedded PostgreSQL's data directory, to account for its CPU time (``None`` when the
# benchmark runs against an outside server).
_pgdata: Path | None = None


def postgres_cpu_seconds() -> float | None:
    """CPU seconds used so far by the embedded PostgreSQL (postmaster and every backend and
    worker process): on a shared machine, CPU time says more than wall time."""
    if _pgdata is None:
        return None
    postmaster = int((_pgdata / "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(stat.parent.name), int(fields[1])
        if pid == postmaster:  # its own time and that of its exited backends
            total += sum(int(f) for f in fields[11:15])
        elif parent == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def pids_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds used so far by the given (running) processes."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.asynccontextmanager
async def servers() -> AsyncIterator[tuple[str, str]]:
    database_url = os.environ.get("CRM_DATABASE_URL")
    nats_url = os.environ.get("CRM_NATS_URL")
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as work:
        postgres = None if database_url else EmbeddedPostgres(Path(work) / "pg")
        nats = None if nats_url else EmbeddedNats(Path(work) / "nats")
        try:
            if postgres is not None:
                global _pgdata
                postgres.start()
                database_url = postgres.url
                _pgdata = postgres.pgdata
            if nats is not None:
                nats.start()
                nats_url = nats.url
            assert database_url and nats_url
            yield database_url, nats_url
        finally:
            if nats is not None:
                nats.stop()
            if postgres is not None:
                postgres.stop()


@contextlib.asynccontextmanager
async def leads_database() -> AsyncIterator[tuple[str, str, str]]:
    """(PostgreSQL server url, NATS url, leads database url) of a fresh, migrated leads
    database, dropped afterwards."""
    async with servers() as (server_url, nats_url):
        name = f"crm_leads_bench_{uuid.uuid4().hex[:8]}"
        await ensure_database(server_url, name)
        url = with_database(server_url, name)
        try:
            await upgrade(MIGRATIONS, url)
            yield server_url, nats_url, url
        finally:
            await drop_database(server_url, name)


@contextlib.asynccontextmanager
async def leads_service(
    pool_size: int = 20, *, relay: bool = True
) -> AsyncIterator[tuple[Any, Any, str]]:
    """(runtime, httpx client, leads database url) of a fresh leads service; ``relay=False``
    leaves its outbox relay off (as when the relay runs in a process of its own)."""
    async with leads_database() as (server_url, nats_url, url):
        settings = LeadsSettings(
            environment="test", database_url=server_url, nats_url=nats_url,
            db_pool_size=pool_size, default_lead_cap=100_000, leads_database_url=url,
        )
        runtime = create_runtime(settings)
        runtime.run_relay = relay
        app = create_app(settings, runtime=runtime)
        await runtime.start()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://leads",
                                         timeout=120) as client:
                yield runtime, client, url
        finally:
            await runtime.stop()


async def relay_drained(runtime: Any) -> None:
    """Until the outbox relay has published every committed event."""
    for _ in range(10_000):
        async with runtime.engine.connect() as conn:
            unsent = (await conn.execute(
                text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))).scalar_one()
        if unsent == 0:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the outbox relay did not drain")


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def token(org_id: uuid.UUID, role: str = "rep", member_id: uuid.UUID | None = None,
          team: str | None = "alpha") -> str:
    return mint_dev_token(secret=DEV_JWT_SECRET, member_id=member_id or uuid.uuid4(),
                          org_id=org_id, roles=[role], team=team, name="Bench")


async def gql(client: httpx.AsyncClient, bearer: str, query: str, **variables: Any) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {bearer}"})
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def messy_csv(rows: int, *, seed: int = 0) -> str:
    """A realistic export: Polish headers, semicolons, BOM, mixed phone formats."""
    lines = ["\ufeffFirma;Osoba kontaktowa;E-mail;Telefon;Strona WWW;Źródło;Priorytet"]
    for i in range(rows):
        n = seed * 10_000_000 + i
        phone = (f"+48 6{n % 100_000_000:08d}" if i % 3 == 0
                 else f"5{n % 100_000_000:08d}" if i % 3 == 1
                 else f"(22) {n % 10_000_000:07d}")
        lines.append(
            f"Firma {n} Sp. z o.o.;Jan Kowalski {n};jan.{n}@firma{n}.pl;{phone};"
            f"www.firma{n}.pl;targi;{i % 10}"
        )
    return "\n".join(lines) + "\n"

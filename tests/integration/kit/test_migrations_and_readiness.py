"""Migrations run once however many pods start together; a service is ready on its code's
schema only, and with the bus down it stays ready (its writes wait in the outbox)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select, text

from crmkit.app import create_service_app
from crmkit.db import create_engine, drop_database, ensure_database, with_database
from crmkit.embedded import EmbeddedNats
from crmkit.graphql import build_schema
from crmkit.migrations import SchemaCheck, service_migrations, upgrade
from crmkit.runtime import ServiceRuntime
from crmkit.settings import Settings
from crmkit.testing.plugin import Servers
from services.documents.tables import metadata as documents_metadata

from .conftest import KitDb, metadata, outbox
from .test_outbox_inbox import create_widgets, wait_for
from .test_service_app import Query

pytestmark = pytest.mark.integration


async def fresh_database(crm_servers: Servers) -> str:
    name = f"crm_migrate_test_{uuid.uuid4().hex[:8]}"
    await ensure_database(crm_servers.database_url, name)
    return with_database(crm_servers.database_url, name)


MIGRATE = (
    "import asyncio, sys\n"
    "from crmkit.migrations import service_migrations, upgrade\n"
    "asyncio.run(upgrade(service_migrations('reporting'), sys.argv[1]))\n"
)


async def test_concurrent_migrators_apply_each_revision_once(crm_servers: Servers) -> None:
    """Three pods starting at once each migrate (as processes: alembic is one per process)."""
    url = await fresh_database(crm_servers)
    try:
        scripts = service_migrations("reporting")
        migrators = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", MIGRATE, url, stderr=asyncio.subprocess.PIPE
            )
            for _ in range(3)
        ]
        for migrator in migrators:
            _, stderr = await asyncio.wait_for(migrator.communicate(), 120)
            assert migrator.returncode == 0, stderr.decode()
        engine = create_engine(url, pool_size=1)
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert SchemaCheck.of(scripts).is_current({v[0] for v in versions})
            assert len(versions) == 1
        await engine.dispose()
    finally:
        await drop_database(crm_servers.database_url, url.rsplit("/", 1)[-1])


async def test_a_service_is_not_ready_on_a_schema_older_than_its_code(
    crm_servers: Servers, test_settings: Callable[..., Settings]
) -> None:
    url = await fresh_database(crm_servers)
    runtime = ServiceRuntime.create(
        "documents", test_settings(), documents_metadata, lambda session: session,
        database_url=url,
    )
    try:
        assert not await runtime.database_ready()  # nothing migrated yet
        scripts = service_migrations("documents")
        await upgrade(scripts, url, "0001")
        assert not await runtime.database_ready()  # a release behind
        await upgrade(scripts, url)
        assert await runtime.database_ready()
        async with runtime.engine.begin() as conn:
            # A later release migrated already: this code still serves (additive changes).
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        assert await runtime.database_ready()
    finally:
        await runtime.engine.dispose()
        await drop_database(crm_servers.database_url, url.rsplit("/", 1)[-1])


async def test_with_nats_down_a_service_stays_ready_and_its_writes_wait_in_the_outbox(
    clean_db: KitDb, crm_servers: Servers, test_settings: Callable[..., Settings]
) -> None:
    nats = EmbeddedNats(crm_servers.work_dir / f"nats-ready-{uuid.uuid4().hex[:6]}")
    nats.start()
    # The relay's publishing through an outage is test_relay_outage's; here: readiness.
    runtime = ServiceRuntime.create(
        "kitready",
        test_settings(nats_url=nats.url),
        metadata,
        lambda session: session,
        database_url=clean_db.url,
        run_relay=False,
    )
    app = create_service_app(runtime, build_schema(query=Query), state=runtime)
    transport = httpx.ASGITransport(app=app)
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
            ready = await client.get("/readyz")
            assert ready.json() == {"status": "ready", "database": True, "bus": True}
            assert 'crm_bus_connected{service="kitready"} 1.0' in (
                await client.get("/metrics")
            ).text

            nats.kill()

            async def bus_down() -> bool:
                return not runtime.bus_ready()

            await wait_for(bus_down, seconds=10)
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json() == {"status": "ready", "database": True, "bus": False}
            assert 'crm_bus_connected{service="kitready"} 0.0' in (
                await client.get("/metrics")
            ).text
            await create_widgets(clean_db, 3)  # a write commits, its events in the outbox
            async with clean_db.engine.connect() as conn:
                unsent = await conn.scalar(
                    select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
                )
            assert unsent == 3

            nats.start()  # same port, same store

            async def bus_up() -> bool:
                return runtime.bus_ready()

            await wait_for(bus_up, seconds=30)
            assert (await client.get("/readyz")).json()["bus"] is True
    finally:
        await runtime.stop()
        nats.stop()

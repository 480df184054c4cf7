"""The kit's engines work through PgBouncer in transaction mode (production's Pooler), where
consecutive transactions of one client run on whichever server connection is free."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from crmkit.db import create_engine, driver_connection, session_factory
from crmkit.embedded import EmbeddedPgBouncer

from .conftest import KitDb, widgets
from .test_outbox_inbox import create_widgets

pytestmark = pytest.mark.integration

CLIENTS = 16  # against the bouncer's 4 server connections


def through(bouncer: EmbeddedPgBouncer, db: KitDb) -> str:
    database = make_url(db.url).database
    return make_url(bouncer.url()).set(database=database).render_as_string(hide_password=False)


async def workload(engine: AsyncEngine, org: uuid.UUID, rounds: int) -> int:
    """What services do: ORM-level transactions, autocommit reads, driver-level statements."""
    sessions = session_factory(engine)
    readers = session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
    seen = 0
    for _ in range(rounds):
        async with sessions() as session, session.begin():
            seen += await session.scalar(
                select(func.count()).select_from(widgets).where(widgets.c.org_id == org)
            ) or 0
        async with readers() as session:
            await session.execute(select(widgets.c.id).where(widgets.c.org_id == org).limit(5))
        async with driver_connection(engine) as conn:
            await conn.fetch("SELECT id FROM widgets WHERE org_id = $1 LIMIT 5", org)
            async with conn.transaction():
                await conn.fetchval("SELECT count(*) FROM widgets WHERE org_id = $1", org)
    return seen


async def run_clients(engine: AsyncEngine, org: uuid.UUID) -> list[int | BaseException]:
    """Every client runs to its end (a failed one must not leave others holding
    connections), then the first failure is raised."""
    results = await asyncio.gather(
        *(workload(engine, org, 20) for _ in range(CLIENTS)), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


async def test_without_prepared_statements_every_statement_works(
    clean_db: KitDb, crm_pgbouncer: EmbeddedPgBouncer
) -> None:
    org = uuid.uuid4()
    engine = create_engine(through(crm_pgbouncer, clean_db), prepared_statements=False)
    try:
        await create_widgets(clean_db, 3, org_id=org)
        assert set(await run_clients(engine, org)) == {3 * 20}
        async with engine.connect() as conn:
            # Many client connections, few server connections: the bouncer did multiplex.
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()


async def test_with_prepared_statements_transaction_mode_breaks(
    clean_db: KitDb, crm_pgbouncer: EmbeddedPgBouncer
) -> None:
    """The reason for the setting: asyncpg's named statements collide across clients."""
    org = uuid.uuid4()
    engine = create_engine(through(crm_pgbouncer, clean_db), prepared_statements=True)
    try:
        with pytest.raises(Exception) as failure:
            await run_clients(engine, org)
        assert isinstance(failure.value, asyncpg.PostgresError) or "prepared statement" in str(
            failure.value
        )
    finally:
        await engine.dispose()

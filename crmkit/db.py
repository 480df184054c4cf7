"""One PostgreSQL database per service: URLs, creation on demand, engines."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import cast

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

SERVICES = ("leads", "pipeline", "documents", "reporting")


def database_name(service: str) -> str:
    return f"crm_{service}"


def with_database(server_url: str, database: str) -> str:
    """The same server, another database, always through asyncpg."""
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


def service_database_url(server_url: str, service: str) -> str:
    return with_database(server_url, database_name(service))


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(server_url: str, database: str) -> bool:
    """Create ``database`` on the server unless it exists; True when created."""
    conn = await asyncpg.connect(_asyncpg_dsn(with_database(server_url, "postgres")))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists:
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await conn.close()


async def drop_database(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(with_database(server_url, "postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """An engine holding at most ``pool_size`` connections, opened as needed and kept.

    No overflow: SQLAlchemy closes an overflow connection when it is returned to a full pool,
    so a service under steady concurrency above the pool size kept starting PostgreSQL
    backends (measured: PostgreSQL CPU per lead claim 1.8 ms with 10 + 10 overflow, 0.95 ms
    with every connection kept)."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        connect_args={"server_settings": {"application_name": "crm"}},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# Hot paths (the relay, pipeline moves, lead claims and imports) run their statements on the
# asyncpg connection beneath SQLAlchemy: its statement handling cost more than PostgreSQL's
# work there.
@contextlib.asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection's asyncpg connection, outside any transaction (each statement
    commits on its own); dropped from the pool if it broke."""
    async with engine.connect() as pooled:
        raw = await pooled.get_raw_connection()
        conn = cast(asyncpg.Connection, raw.driver_connection)
        try:
            yield conn
        except BaseException:
            if conn.is_closed():
                await pooled.invalidate()
            raise


async def session_driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection of the session's transaction (begun if it was not)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return cast(asyncpg.Connection, raw.driver_connection)

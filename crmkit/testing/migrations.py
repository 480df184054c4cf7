"""A service's database as a deployment held it before a migration: a scratch database
migrated up to a revision, for tests of data migrations (rows written there, then upgraded)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from crmkit.db import create_engine, drop_database, ensure_database, with_database
from crmkit.migrations import service_migrations, upgrade


@dataclass(frozen=True)
class EarlierDatabase:
    service: str
    url: str
    engine: AsyncEngine
    """One connection, over the scratch database."""

    async def upgrade(self, revision: str = "head") -> None:
        await upgrade(service_migrations(self.service), self.url, revision)


@asynccontextmanager
async def database_at(server_url: str, service: str,
                      revision: str) -> AsyncIterator[EarlierDatabase]:
    """A scratch database of ``service`` migrated up to ``revision``, dropped afterwards."""
    name = f"crm_{service}_at_{revision}_{uuid.uuid4().hex[:8]}"
    await ensure_database(server_url, name)
    url = with_database(server_url, name)
    engine = create_engine(url, pool_size=1)
    try:
        await upgrade(service_migrations(service), url, revision)
        yield EarlierDatabase(service, url, engine)
    finally:
        await engine.dispose()
        await drop_database(server_url, name)

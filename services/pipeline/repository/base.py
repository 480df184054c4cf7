"""What every part of the SQL repository holds: the unit of work's session, the process's
pipeline cache, and a connection of its own for the hot paths."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crmkit.db import driver_connection
from services.pipeline.repository.cache import PipelineCache


class SqlBase:
    def __init__(self, session: AsyncSession, cache: PipelineCache) -> None:
        self.session = session
        self.cache = cache

    def _own_connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A pooled asyncpg connection outside the unit of work's transaction (each statement
        commits on its own): the hot paths'."""
        engine = self.session.bind
        assert isinstance(engine, AsyncEngine)
        return driver_connection(engine)

"""Alembic per service: each service keeps ``migrations/`` beside its tables.

``run_env`` is what a service's ``migrations/env.py`` calls; ``upgrade`` applies a service's
migrations to its database (used by ``crm migrate``, ``crm dev`` and the test harness).

Several processes may migrate one database at once (in Kubernetes every pod of a service
runs ``crm migrate --service S`` before it starts, ADR 0011): the migration transaction
first takes a transaction-level advisory lock, so they run one after another and the later
ones find nothing left to do. A transaction-level lock (not a session one) holds through
PgBouncer in transaction mode. ``SchemaCheck`` tells a service whether its database is at
its code's schema yet.
"""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command, context, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from crmkit.db import connect_args

# pg_advisory_xact_lock key of "a migration is running on this database".
MIGRATION_LOCK = 0x43524D5F4D494752  # "CRM_MIGR"


def service_migrations(service: str) -> Path:
    """``services/<service>/migrations`` of the installed code (found, not imported)."""
    spec = importlib.util.find_spec(f"services.{service}")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"no package services.{service}")
    return Path(next(iter(spec.submodule_search_locations))) / "migrations"


def alembic_config(script_location: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("version_table", "alembic_version")
    return config


def _upgrade_sync(script_location: Path, database_url: str, revision: str) -> None:
    command.upgrade(alembic_config(script_location, database_url), revision)


async def upgrade(script_location: Path, database_url: str, revision: str = "head") -> None:
    # Alembic's async env runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(_upgrade_sync, script_location, database_url, revision)


def revision(script_location: Path, database_url: str, message: str) -> None:
    """Autogenerate a revision from the difference between the tables and the database."""
    command.revision(
        alembic_config(script_location, database_url), message=message, autogenerate=True
    )


def run_env(target_metadata: MetaData, **options: Any) -> None:
    """Body of every service's ``migrations/env.py`` (online mode, async engine); ``options``
    go to alembic's ``context.configure`` (e.g. ``include_schemas``)."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set for alembic")

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            compare_server_default=True,
            **options,
        )
        with context.begin_transaction():
            # Before alembic reads the current revision: a second migrator waits here and
            # then reads the revision the first one committed.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK})
            context.run_migrations()

    async def run() -> None:
        # Unnamed statements: migrations may run through PgBouncer in transaction mode.
        engine = create_async_engine(
            url, poolclass=pool.NullPool, connect_args=connect_args(prepared_statements=False)
        )
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run())


def outbox_envelope_as_json() -> None:
    """Migration step: the outbox's envelope column from jsonb to json (ADR 0006)."""
    op.alter_column("outbox", "envelope", type_=postgresql.JSON(),
                    existing_type=postgresql.JSONB(), existing_nullable=False,
                    postgresql_using="envelope::json")


def outbox_envelope_as_jsonb() -> None:
    """The downgrade of :func:`outbox_envelope_as_json`."""
    op.alter_column("outbox", "envelope", type_=postgresql.JSONB(),
                    existing_type=postgresql.JSON(), existing_nullable=False,
                    postgresql_using="envelope::jsonb")


@dataclass(frozen=True)
class SchemaCheck:
    """Whether a database's schema is older than the code's. A revision the code does not
    know is newer (a later release migrated already) and counts as current: releases keep
    their schema changes additive, so the code before one runs on the schema after it."""

    heads: frozenset[str]
    known: frozenset[str]

    @classmethod
    def of(cls, script_location: Path) -> SchemaCheck:
        scripts = ScriptDirectory.from_config(alembic_config(script_location, "postgresql://"))
        return cls(
            heads=frozenset(scripts.get_heads()),
            known=frozenset(r.revision for r in scripts.walk_revisions()),
        )

    def is_current(self, revisions: set[str]) -> bool:
        if not revisions:
            return False
        if revisions - self.known:
            return True
        return self.heads <= revisions

    async def current(self, connection: AsyncConnection) -> bool:
        """Reads ``alembic_version``; False when it is missing or behind."""
        rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
        return self.is_current({row[0] for row in rows})

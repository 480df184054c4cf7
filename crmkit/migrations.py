"""Alembic per service: each service keeps ``migrations/`` beside its tables.

``run_env`` is what a service's ``migrations/env.py`` calls; ``upgrade`` applies a service's
migrations to its database (used by ``crm migrate``, ``crm dev`` and the test harness).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


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


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py`` (online mode, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set for alembic")

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            compare_server_default=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
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

"""Alembic env of reporting: like the kit's ``run_env``, plus the ``reporting`` schema where
the read tables live (``include_schemas`` so autogenerate sees them)."""

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from services.reporting.tables import metadata


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Only the default schema and ``reporting`` (not rebuild leftovers or other schemas)."""
    if type_ == "schema":
        return name in (None, "public", "reporting")
    return True


def migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        include_schemas=True,
        include_name=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set for alembic")
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(migrate)
    await engine.dispose()


asyncio.run(run())

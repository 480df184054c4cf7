"""Every service's migrations build exactly the tables its code declares: the same tables,
columns, types, server defaults, keys and indexes (alembic's autogenerate finds nothing)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData

from crmkit.db import create_engine

pytestmark = pytest.mark.integration

SERVICES = Path(__file__).resolve().parents[2] / "services"


def _differences(connection: Any, metadata: MetaData) -> list[Any]:
    schemas = {None, "public"} | {t.schema for t in metadata.tables.values()}

    def ours(name: str | None, type_: str, parent_names: object) -> bool:
        # Other tests' rebuilds may leave schemas of their own beside the service's.
        return name in schemas if type_ == "schema" else True

    context = MigrationContext.configure(connection, opts={
        "include_schemas": True, "include_name": ours,
        "compare_type": True, "compare_server_default": True,
    })
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize(
    "service", ["documents", "leads", "notifications", "pipeline", "reporting"])
async def test_migrated_database_matches_the_tables(
    service: str, migrated_database: Any
) -> None:
    url = await migrated_database(service, SERVICES / service / "migrations")
    metadata = importlib.import_module(f"services.{service}.tables").metadata
    engine = create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        differences = await conn.run_sync(_differences, metadata)
    await engine.dispose()
    assert differences == []

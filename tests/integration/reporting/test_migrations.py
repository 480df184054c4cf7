"""The migrations build exactly the tables the code declares."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from crmkit.db import create_engine
from services.reporting.tables import metadata

pytestmark = pytest.mark.integration


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    return name in (None, "public", "reporting") if type_ == "schema" else True


async def test_migrated_database_matches_the_tables(reporting_url: str) -> None:
    engine = create_engine(reporting_url, pool_size=1)

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={
            "include_schemas": True, "include_name": _ours, "compare_type": True,
        })
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()
    assert differences == []

"""The migrations build exactly the tables the code declares (the kit's shared columns
included)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from crmkit.db import create_engine
from services.documents.tables import metadata

from .conftest import Api

pytestmark = pytest.mark.integration


async def test_migrated_database_matches_the_tables(api: Api) -> None:
    engine = create_engine(api.runtime.engine.url.render_as_string(hide_password=False),
                           pool_size=1)

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()
    assert differences == []

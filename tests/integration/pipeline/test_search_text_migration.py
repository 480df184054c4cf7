"""The pipeline's migration 0006 fills in the search form of the deals there already are, so
the board's text filter finds them too, not only the ones saved after it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from crmkit.testing.migrations import database_at
from crmkit.testing.plugin import Servers
from services.pipeline.tables import opportunities, pipelines, stages

pytestmark = pytest.mark.integration


async def test_existing_deals_get_their_search_form(crm_servers: Servers) -> None:
    async with database_at(crm_servers.database_url, "pipeline", "0005") as db:
        org, pipeline, stage = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        async with db.engine.begin() as conn:
            await conn.execute(pipelines.insert().values(id=pipeline, org_id=org, name="Sales"))
            await conn.execute(stages.insert().values(
                id=stage, org_id=org, pipeline_id=pipeline, name="Identification",
                position=0, probability=10, kind="open"))
            for deal in ("Wdrożenie ŻABKA", "Vans"):
                # The columns 0005 has (search_text comes with 0006).
                await conn.execute(opportunities.insert().values(
                    id=uuid.uuid4(), org_id=org, name=deal, amount=1, currency="PLN",
                    owner_id=uuid.uuid4(), pipeline_id=pipeline, stage_id=stage,
                    probability=10, status="open", stage_entered_at=text("now()")))
        await db.upgrade()
        async with db.engine.connect() as conn:
            found = (await conn.execute(text(
                "SELECT name, search_text FROM opportunities ORDER BY name"))).all()
    assert [tuple(r) for r in found] == [("Vans", "vans"), ("Wdrożenie ŻABKA", "wdrozenie zabka")]

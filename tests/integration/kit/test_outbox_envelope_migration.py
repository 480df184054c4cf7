"""Every service's migration of the outbox envelope from jsonb to json (ADR 0006) keeps the
events waiting in the outbox, and its downgrade gives them back as jsonb."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from crmkit.db import create_engine, drop_database, ensure_database, with_database
from crmkit.migrations import alembic_config, upgrade
from crmkit.testing.plugin import Servers

pytestmark = pytest.mark.integration

SERVICES = Path(__file__).parents[3] / "services"
# Service -> the revision before its envelope step.
BEFORE_JSON = {"leads": "0001", "pipeline": "0002", "documents": "0001", "reporting": "0003"}


async def _envelope(url: str, event_id: uuid.UUID) -> tuple[str, object]:
    engine = create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT pg_typeof(envelope)::text, envelope::text FROM outbox WHERE event_id = :id"
        ), {"id": event_id})).one()
    await engine.dispose()
    return row[0], json.loads(row[1])


@pytest.mark.parametrize("service", sorted(BEFORE_JSON))
async def test_waiting_events_survive_the_change_both_ways(
    crm_servers: Servers, service: str
) -> None:
    name = f"crm_{service}_envelope_{uuid.uuid4().hex[:8]}"
    await ensure_database(crm_servers.database_url, name)
    url = with_database(crm_servers.database_url, name)
    migrations = SERVICES / service / "migrations"
    try:
        await upgrade(migrations, url, BEFORE_JSON[service])
        event_id = uuid.uuid4()
        envelope = {"id": str(event_id), "type": "crm.test.thing.happened",
                    "payload": {"name": "Zażółć", "tags": ["a"], "n": 1}}
        engine = create_engine(url, pool_size=1)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO outbox (event_id, subject, aggregate_id, envelope) "
                "VALUES (:id, 'crm.test.thing.happened', :id, CAST(:envelope AS jsonb))"
            ), {"id": event_id, "envelope": json.dumps(envelope)})
        await engine.dispose()

        await upgrade(migrations, url)
        assert await _envelope(url, event_id) == ("json", envelope)

        await asyncio.to_thread(
            command.downgrade, alembic_config(migrations, url), BEFORE_JSON[service]
        )
        assert await _envelope(url, event_id) == ("jsonb", envelope)
    finally:
        await drop_database(crm_servers.database_url, name)

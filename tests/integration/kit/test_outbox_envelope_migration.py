"""Every service's migration of the outbox envelope from jsonb to json (ADR 0006) keeps the
events waiting in the outbox, and its downgrade gives them back as jsonb."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crmkit.migrations import alembic_config, service_migrations
from crmkit.testing.migrations import database_at
from crmkit.testing.plugin import Servers

pytestmark = pytest.mark.integration

# Service -> the revision before its envelope step.
BEFORE_JSON = {"leads": "0001", "pipeline": "0002", "documents": "0001", "reporting": "0003"}


async def _envelope(engine: AsyncEngine, event_id: uuid.UUID) -> tuple[str, object]:
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT pg_typeof(envelope)::text, envelope::text FROM outbox WHERE event_id = :id"
        ), {"id": event_id})).one()
    return row[0], json.loads(row[1])


@pytest.mark.parametrize("service", sorted(BEFORE_JSON))
async def test_waiting_events_survive_the_change_both_ways(
    crm_servers: Servers, service: str
) -> None:
    async with database_at(crm_servers.database_url, service, BEFORE_JSON[service]) as db:
        event_id = uuid.uuid4()
        envelope = {"id": str(event_id), "type": "crm.test.thing.happened",
                    "payload": {"name": "Zażółć", "tags": ["a"], "n": 1}}
        async with db.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO outbox (event_id, subject, aggregate_id, envelope) "
                "VALUES (:id, 'crm.test.thing.happened', :id, CAST(:envelope AS jsonb))"
            ), {"id": event_id, "envelope": json.dumps(envelope)})

        await db.upgrade()
        assert await _envelope(db.engine, event_id) == ("json", envelope)

        await asyncio.to_thread(command.downgrade, alembic_config(
            service_migrations(service), db.url), BEFORE_JSON[service])
        assert await _envelope(db.engine, event_id) == ("jsonb", envelope)

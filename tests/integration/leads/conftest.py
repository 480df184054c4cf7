"""The leads service in-process against real PostgreSQL and NATS."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from crmkit.app import create_service_app
from crmkit.contracts import Envelope
from crmkit.settings import DEV_JWT_SECRET
from services.leads.app import create_runtime
from services.leads.schema import LeadsState, schema
from services.leads.settings import LeadsSettings

MIGRATIONS = Path(__file__).parents[3] / "services" / "leads" / "migrations"


@dataclass
class LeadsService:
    client: httpx.AsyncClient
    runtime: Any
    state: LeadsState

    async def gql(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def events(self, org_id: uuid.UUID, event_type: str | None = None) -> list[Envelope]:
        """The org's events in the outbox, in the order they were written."""
        sql = "SELECT envelope::text FROM outbox WHERE envelope->>'org_id' = :org"
        params: dict[str, Any] = {"org": str(org_id)}
        if event_type is not None:
            sql += " AND subject = :type"
            params["type"] = event_type
        async with self.runtime.engine.connect() as conn:
            rows = await conn.execute(text(sql + " ORDER BY seq"), params)
            return [Envelope.from_json(r[0]) for r in rows]

    async def sql(self, statement: str, **params: Any) -> Any:
        async with self.runtime.engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return result.all() if result.returns_rows else None


@pytest.fixture(scope="session")
async def leads_service(migrated_database: Any, crm_servers: Any) -> Any:
    url = await migrated_database("leads", MIGRATIONS)
    settings = LeadsSettings(
        environment="test",
        database_url=crm_servers.database_url,
        nats_url=crm_servers.nats_url,
        jwt_secret=DEV_JWT_SECRET,
        db_pool_size=60,
        default_lead_cap=50,
    )
    runtime, state = create_runtime(settings, database_url=url)
    app = create_service_app(runtime, schema, state=state)
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://leads") as client:
        yield LeadsService(client, runtime, state)
    await runtime.stop()

"""The integration tiers' harness: a service in-process against real PostgreSQL and NATS,
driven over HTTP through its own app, the same for every service::

    @pytest.fixture(scope="session")
    async def documents(crm_servers, migrated_database) -> AsyncIterator[ServiceClient]:
        url = await migrated_database("documents", MIGRATIONS)
        async with service_client(app, service_settings(app, crm_servers, url)) as client:
            yield client

    body = await documents.data(token, "mutation { ... }", name="Offers")
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import httpx
from sqlalchemy import select, text

from crmkit.contracts import Envelope
from crmkit.runtime import ServiceRuntime
from crmkit.serve import ServiceModule
from crmkit.settings import DEV_JWT_SECRET, Settings
from crmkit.testing.plugin import Servers

R = TypeVar("R")


@dataclass
class ServiceClient(Generic[R]):
    """A running service: its runtime, and an HTTP client of its app."""

    runtime: ServiceRuntime[R]
    http: httpx.AsyncClient

    async def post(
        self, token: str, query: str, variables: Mapping[str, Any] | None = None, /,
        **more: Any,
    ) -> httpx.Response:
        """POST one GraphQL operation as the token's member; variables as a mapping and/or
        keywords."""
        return await self.http.post(
            "/graphql",
            json={"query": query, "variables": {**(variables or {}), **more}},
            headers={"Authorization": f"Bearer {token}"},
        )

    async def call(
        self, token: str, query: str, variables: Mapping[str, Any] | None = None, /,
        **more: Any,
    ) -> dict[str, Any]:
        """The whole answer (``data`` and ``errors``); it must be a 200."""
        response = await self.post(token, query, variables, **more)
        assert response.status_code == 200, response.text
        return cast(dict[str, Any], response.json())

    async def data(
        self, token: str, query: str, variables: Mapping[str, Any] | None = None, /,
        **more: Any,
    ) -> dict[str, Any]:
        """The answer's ``data``; it must carry no errors."""
        body = await self.call(token, query, variables, **more)
        assert not body.get("errors"), body["errors"]
        return cast(dict[str, Any], body["data"])

    async def events(
        self,
        *,
        org_id: uuid.UUID | None = None,
        aggregate_id: uuid.UUID | str | None = None,
        type: str | None = None,
    ) -> list[Envelope]:
        """The outbox's events, in the order they were written, of one org, aggregate and/or
        type."""
        outbox = self.runtime.outbox
        query = select(outbox.c.envelope).order_by(outbox.c.seq)
        if org_id is not None:
            query = query.where(outbox.c.envelope["org_id"].astext == str(org_id))
        if aggregate_id is not None:
            query = query.where(outbox.c.aggregate_id == uuid.UUID(str(aggregate_id)))
        if type is not None:
            query = query.where(outbox.c.subject == type)
        async with self.runtime.sessions() as session:
            rows = await session.execute(query)
            return [Envelope.model_validate(r.envelope) for r in rows]

    async def sql(self, statement: str, **params: Any) -> Any:
        """Run SQL in its own transaction: the rows of a query, else the row count."""
        async with self.runtime.engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return result.all() if result.returns_rows else result.rowcount

    async def deliver(self, envelope: Envelope) -> bool:
        """Apply an event through the service's own inbox consumers, as the bus would; False
        when none applied it."""
        return await self.runtime.deliver(envelope)


def service_settings(
    service: ServiceModule, servers: Servers, database_url: str, **overrides: Any
) -> Settings:
    """Test settings of ``service`` on the session's servers, its database at
    ``database_url`` and durable consumers of its own (a shared NATS keeps other runs')."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": servers.database_url,
        "nats_url": servers.nats_url,
        "jwt_secret": DEV_JWT_SECRET,
        f"{service.SERVICE}_database_url": database_url,
        "consumer_suffix": f"-test-{uuid.uuid4().hex[:8]}",
    }
    values.update(overrides)
    return service.SETTINGS(**values)


@asynccontextmanager
async def service_client(
    service: ServiceModule, settings: Settings
) -> AsyncIterator[ServiceClient[Any]]:
    """The service's runtime started and its app behind an HTTP client; stopped after."""
    runtime = service.create_runtime(settings)
    app = service.create_app(settings, runtime=runtime)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{service.SERVICE}"
        ) as http:
            yield ServiceClient(runtime, http)
    finally:
        await runtime.stop()

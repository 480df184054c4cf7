"""The kit's service app: authentication at the edge of every subgraph, org scoping."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import strawberry
from sqlalchemy import insert, select

from crmkit.app import create_service_app
from crmkit.auth import mint_dev_token
from crmkit.graphql import GraphQLContext, build_schema
from crmkit.runtime import ServiceRuntime
from crmkit.settings import Settings
from crmkit.testing.plugin import Org

from .conftest import KitDb, metadata, widgets

pytestmark = pytest.mark.integration


@strawberry.type
class Widget:
    id: strawberry.ID
    name: str


@strawberry.type
class Query:
    @strawberry.field
    async def widgets(self, info: strawberry.Info[GraphQLContext, None]) -> list[Widget]:
        runtime: ServiceRuntime = info.context.state
        async with runtime.sessions() as session:
            rows = await session.execute(
                select(widgets).where(widgets.c.org_id == info.context.caller.org_id)
            )
            return [Widget(id=strawberry.ID(str(r.id)), name=r.name) for r in rows]


@pytest.fixture
async def client(
    clean_db: KitDb, test_settings: Callable[..., Settings]
) -> AsyncIterator[httpx.AsyncClient]:
    runtime = ServiceRuntime.create(
        "kittest", test_settings(), metadata, lambda session: session,
        database_url=clean_db.url, run_relay=False,
    )
    app = create_service_app(runtime, build_schema(query=Query), state=runtime)
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
        yield client
    await runtime.stop()


QUERY = {"query": "{ widgets { id name } }"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Token abc"},
        {
            "Authorization": "Bearer "
            + mint_dev_token(
                secret="y" * 40, member_id=uuid.uuid4(), org_id=uuid.uuid4(), roles=["admin"]
            )
        },
        {
            "Authorization": "Bearer "
            + mint_dev_token(
                secret=Settings().jwt_secret,
                member_id=uuid.uuid4(),
                org_id=uuid.uuid4(),
                roles=["admin"],
                ttl_seconds=-5,
            )
        },
    ],
    ids=["missing", "malformed", "wrong-scheme", "wrong-key", "expired"],
)
async def test_unauthenticated_requests_get_401_with_a_graphql_error(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body


async def test_sdl_is_public_but_nothing_else(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ _service { sdl } }"})
    assert response.status_code == 200
    assert "widgets: [Widget!]\n" in response.json()["data"]["_service"]["sdl"]
    sneaky = await client.post("/graphql", json={"query": "{ _service { sdl } widgets { id } }"})
    assert sneaky.status_code == 401


async def test_an_org_never_reads_another_orgs_rows(
    client: httpx.AsyncClient, clean_db: KitDb, org: Org, other_org: Org
) -> None:
    async with clean_db.engine.begin() as conn:
        await conn.execute(
            insert(widgets),
            [
                {"id": uuid.uuid4(), "org_id": org.id, "name": "ours"},
                {"id": uuid.uuid4(), "org_id": other_org.id, "name": "theirs"},
            ],
        )
    for tenant, expected in ((org, "ours"), (other_org, "theirs")):
        response = await client.post(
            "/graphql",
            json=QUERY,
            headers={"Authorization": f"Bearer {tenant.token('admin')}"},
        )
        assert response.status_code == 200
        assert [w["name"] for w in response.json()["data"]["widgets"]] == [expected]


async def test_health_ready_metrics_and_request_id(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": True, "bus": True}
    response = await client.get("/healthz", headers={"x-request-id": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    metrics = await client.get("/metrics")
    assert "crm_http_requests_total" in metrics.text
    # GraphiQL is a development aid only; this runtime runs as "test".
    graphiql = await client.get("/graphql", headers={"Accept": "text/html"})
    assert graphiql.status_code == 404
    unauthenticated_get = await client.get("/graphql", params={"query": "{ widgets { id } }"})
    assert unauthenticated_get.status_code == 401


async def test_a_dev_service_serves_graphiql_from_its_own_files(
    clean_db: KitDb, test_settings: Callable[..., Settings]
) -> None:
    runtime = ServiceRuntime.create(
        "kittest", test_settings(environment="dev"), metadata, lambda session: session,
        database_url=clean_db.url, run_relay=False,
    )
    app = create_service_app(runtime, build_schema(query=Query), state=runtime,
                             manage_runtime=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/graphiql-assets/") for s in sources)
        for source in sources:
            asset = await client.get(source)
            assert asset.status_code == 200 and len(asset.content) > 1000, source

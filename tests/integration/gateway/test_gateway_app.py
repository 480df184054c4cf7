"""The edge app: bearer tokens, limits, header forwarding, health, readiness and metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from crmkit.auth import TokenVerifier, mint_dev_token
from crmkit.settings import DEV_JWT_SECRET
from gateway.app import create_app
from gateway.engine import Gateway
from gateway.limits import Limits
from tests.integration.gateway.conftest import Shop

pytestmark = pytest.mark.asyncio

GOOD = "good-token"


class InvalidFakeToken(Exception):
    pass


def fake_verify(token: str) -> object:
    if token != GOOD:
        raise InvalidFakeToken("token signature is invalid")
    return {"sub": "u1"}


def _gateway(shop: Shop, *, limits: Limits | None = None, introspection: bool = True) -> Gateway:
    return Gateway(
        shop.gateway.supergraph, shop.gateway.client, limits=limits, introspection=introspection
    )


@pytest.fixture
async def edge(shop_gateway: Shop) -> AsyncIterator[httpx.AsyncClient]:
    limits = Limits(max_depth=4, max_aliases=3, max_operation_bytes=400, max_body_bytes=2000)
    app = create_app(
        _gateway(shop_gateway, limits=limits),
        verify=fake_verify,
        max_body_bytes=limits.max_body_bytes,
        graphiql=True,
    )
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield client


def _auth(token: str = GOOD) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_missing_token_is_401_with_graphql_error(edge: httpx.AsyncClient) -> None:
    response = await edge.post("/graphql", json={"query": "{ me { id } }"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "errors": [
            {"message": "a bearer token is required", "extensions": {"code": "UNAUTHENTICATED"}}
        ]
    }


async def test_invalid_token_is_401(edge: httpx.AsyncClient, shop_gateway: Shop) -> None:
    response = await edge.post("/graphql", json={"query": "{ me { id } }"}, headers=_auth("bad"))

    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error == {
        "message": "token signature is invalid",
        "extensions": {"code": "UNAUTHENTICATED"},
    }
    assert shop_gateway.counts() == {}


async def test_expired_token_is_rejected_by_the_kit_verifier(shop_gateway: Shop) -> None:
    verifier = TokenVerifier(secret=DEV_JWT_SECRET, algorithms=["HS256"])
    app = create_app(_gateway(shop_gateway), verify=verifier.verify)
    member, org = uuid.uuid4(), uuid.uuid4()
    expired = mint_dev_token(
        secret=DEV_JWT_SECRET, member_id=member, org_id=org, roles=["rep"], ttl_seconds=-60
    )
    valid = mint_dev_token(secret=DEV_JWT_SECRET, member_id=member, org_id=org, roles=["rep"])

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c:
        rejected = await c.post("/graphql", json={"query": "{ me { id } }"}, headers=_auth(expired))
        accepted = await c.post("/graphql", json={"query": "{ me { id } }"}, headers=_auth(valid))

    assert rejected.status_code == 401
    assert rejected.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert accepted.status_code == 200
    assert accepted.json() == {"data": {"me": {"id": "u1"}}}


async def test_valid_request_forwards_auth_trace_and_request_id(
    edge: httpx.AsyncClient, shop_gateway: Shop
) -> None:
    headers = {
        **_auth(),
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "cookie": "secret=1",
    }
    response = await edge.post(
        "/graphql",
        json={"query": "query Me { me { username } }", "operationName": "Me"},
        headers=headers,
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"username": "ada"}}}
    received = shop_gateway.controls["accounts"].last_headers
    assert received["authorization"] == f"Bearer {GOOD}"
    assert received["traceparent"] == headers["traceparent"]
    assert received["x-request-id"] == response.headers["x-request-id"]
    assert "cookie" not in received


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ reviews { product { reviews { product { name } } } } }", "QUERY_TOO_DEEP"),
        ("{ a: me { id } b: me { id } c: me { id } d: me { id } }", "TOO_MANY_ALIASES"),
        ("{ me { id } }" + " " * 400, "OPERATION_TOO_LARGE"),
    ],
)
async def test_operation_limits_answer_400_with_a_code(
    edge: httpx.AsyncClient, shop_gateway: Shop, query: str, code: str
) -> None:
    response = await edge.post("/graphql", json={"query": query}, headers=_auth())

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert shop_gateway.counts() == {}


async def test_request_body_limit(edge: httpx.AsyncClient) -> None:
    body = {"query": "{ me { id } }", "variables": {"pad": "x" * 3000}}

    response = await edge.post("/graphql", json=body, headers=_auth())

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    "content",
    [b"not json", b'{"variables": {}}', b'{"query": "{ me { id } }", "variables": [1]}'],
)
async def test_malformed_requests_are_400(edge: httpx.AsyncClient, content: bytes) -> None:
    response = await edge.post("/graphql", content=content, headers=_auth())

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_introspection_can_be_switched_off(shop_gateway: Shop) -> None:
    app = create_app(_gateway(shop_gateway, introspection=False), verify=fake_verify)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c:
        response = await c.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=_auth()
        )
        plain = await c.post("/graphql", json={"query": "{ me { id } }"}, headers=_auth())

    assert response.status_code == 400
    assert "introspection" in response.json()["errors"][0]["message"]
    assert plain.json() == {"data": {"me": {"id": "u1"}}}


async def test_graphiql_is_served_in_dev_only(edge: httpx.AsyncClient, shop_gateway: Shop) -> None:
    page = await edge.get("/graphql")
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    # Every script and style comes from the gateway itself (works offline, no CDN).
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/graphiql-assets/") for s in sources)
    for source in sources:
        asset = await edge.get(source)
        assert asset.status_code == 200 and len(asset.content) > 1000, source

    prod = create_app(_gateway(shop_gateway), verify=fake_verify, graphiql=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(prod), base_url="http://gw") as c:
        assert (await c.get("/graphql")).status_code == 405


async def test_health_and_readiness(edge: httpx.AsyncClient, shop_gateway: Shop) -> None:
    assert (await edge.get("/healthz")).json() == {"status": "ok"}

    ready = await edge.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "subgraphs": ["accounts", "inventory", "products", "reviews"],
    }

    # A subgraph outage fails its fields, not the gateway: still ready, health on /metrics.
    shop_gateway.transports["reviews"].down = True
    assert (await edge.get("/readyz")).status_code == 200
    text = (await edge.get("/metrics")).text
    assert 'gateway_subgraph_up{subgraph="reviews"} 0.0' in text
    assert 'gateway_subgraph_up{subgraph="products"} 1.0' in text
    answer = await edge.post(
        "/graphql",
        json={"query": "{ topProducts(first: 1) { name reviewSummary } }"},
        headers=_auth(),
    )
    body = answer.json()
    assert body["data"] == {"topProducts": [{"name": "Table", "reviewSummary": None}]}
    assert body["errors"][0]["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
    assert body["errors"][0]["extensions"]["serviceName"] == "reviews"


async def test_not_ready_until_the_supergraph_is_loaded(shop_gateway: Shop) -> None:
    async def start() -> Gateway:
        return _gateway(shop_gateway)

    app = create_app(start, verify=fake_verify)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c:
        assert (await c.get("/readyz")).json() == {"status": "starting"}
        async with app.router.lifespan_context(app):
            assert (await c.get("/readyz")).status_code == 200


async def test_metrics_count_requests_by_status(edge: httpx.AsyncClient) -> None:
    await edge.post("/graphql", json={"query": "{ me { id } }"}, headers=_auth())
    await edge.post("/graphql", json={"query": "{ me { id } }"})

    text = (await edge.get("/metrics")).text

    assert 'gateway_requests_total{status="200"} 1.0' in text
    assert 'gateway_requests_total{status="401"} 1.0' in text
    assert "gateway_request_seconds_bucket" in text


async def test_a_huge_repetitive_query_is_refused_in_milliseconds(shop_gateway: Shop) -> None:
    """Validation is quadratic in fields merged into one selection set: the bound is checked
    while parsing. 6,000 ``me { id }`` (60 KB, under the size limit) took seconds before."""
    app = create_app(_gateway(shop_gateway), verify=fake_verify)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        for query, wanted in (
            ("{ " + " ".join(["me { id }"] * 6000) + " } # 1", "more than 3000 tokens"),
            ("{ " + " ".join(["me { id }"] * 31) + " }", "'me' is selected 31 times"),
            ("query { ...A } fragment A on Query { " + " ".join(["me { id }"] * 40) + " }",
             "'me' is selected 40 times"),
        ):
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": query}, headers=_auth())
            elapsed = time.perf_counter() - started
            assert response.status_code == 400
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "OPERATION_TOO_LARGE"
            assert wanted in error["message"]
            assert elapsed < 1.0
        ok = await client.post("/graphql", json={"query": "{ me { id } me { id } }"},
                               headers=_auth())
        assert ok.status_code == 200 and "errors" not in ok.json()
    assert shop_gateway.counts() == {"accounts": 1}

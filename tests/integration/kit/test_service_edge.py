"""The edge of every service: what reaches an operation, and how refusals look (issue 13:
bodies, tokens, bounds, introspection, metrics labels, slow and vanishing clients)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import orjson
import pytest
import strawberry
from sqlalchemy import text
from sqlalchemy.engine import make_url

import crmkit.edge_input
from crmkit.app import create_service_app
from crmkit.graphql import GraphQLContext, build_schema
from crmkit.runtime import ServiceRuntime
from crmkit.settings import MAX_BODY_BYTES, Settings
from crmkit.testing.plugin import Org
from crmkit.testing.proxy import CuttableProxy

from .conftest import KitDb, metadata
from .test_service_app import Query

pytestmark = pytest.mark.integration


def make_app(db: KitDb, settings: Settings) -> Any:
    runtime = ServiceRuntime.create(
        "kitedge", settings, metadata, lambda session: session,
        database_url=db.url, run_relay=False,
    )
    return create_service_app(runtime, build_schema(query=Query), state=runtime,
                              manage_runtime=False), runtime


@pytest.fixture
async def app(clean_db: KitDb, test_settings: Callable[..., Settings]) -> AsyncIterator[Any]:
    made, runtime = make_app(clean_db, test_settings())
    yield made
    await runtime.engine.dispose()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
        yield client


def auth(org: Org) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.token('admin')}"}


def assert_graphql_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code, body
    return body


@pytest.mark.parametrize("body", [b"42", b"[1, 2]", b'"text"', b"null", b"{}",
                                  b'{"query": 1}', b'{"query": "{ widgets { id } }", '
                                  b'"variables": [1]}', b"{not json"])
async def test_a_body_that_is_no_graphql_request_is_a_400_graphql_error(
    client: httpx.AsyncClient, org: Org, body: bytes
) -> None:
    response = await client.post("/graphql", content=body,
                                 headers={**auth(org), "Content-Type": "application/json"})
    assert_graphql_error(response, 400, "BAD_REQUEST")


async def test_variables_nested_100000_deep_are_a_400_graphql_error(
    client: httpx.AsyncClient, org: Org
) -> None:
    deep = b'{"query": "{ widgets { id } }", "variables": {"v": ' + b"[" * 100_000 \
        + b"]" * 100_000 + b"}}"
    response = await client.post("/graphql", content=deep,
                                 headers={**auth(org), "Content-Type": "application/json"})
    assert_graphql_error(response, 400, "BAD_REQUEST")


async def test_refusals_of_the_http_layer_are_json(client: httpx.AsyncClient, org: Org) -> None:
    text = await client.post("/graphql", content=b"{ widgets { id } }",
                             headers={**auth(org), "Content-Type": "text/plain"})
    assert text.status_code in (400, 415)
    assert text.json()["errors"][0]["message"]
    mutation_by_get = await client.get("/graphql", params={"query": "mutation { x }"},
                                       headers=auth(org))
    assert mutation_by_get.status_code in (400, 405)
    assert mutation_by_get.json()["errors"]


async def test_every_operation_needs_a_token_also_by_get_as_html(
    client: httpx.AsyncClient, org: Org
) -> None:
    html = {"Accept": "text/html"}
    query = {"query": "{ widgets { id } }"}
    anonymous = await client.get("/graphql", params=query, headers=html)
    assert_graphql_error(anonymous, 401, "UNAUTHENTICATED")
    entities = {"query": '{ _entities(representations: [{__typename: "Widget", id: "1"}]) '
                         "{ __typename } }"}
    assert (await client.get("/graphql", params=entities, headers=html)).status_code == 401
    assert (await client.post("/graphql", json=entities)).status_code == 401
    signed = await client.get("/graphql", params=query, headers={**html, **auth(org)})
    assert signed.status_code == 200
    assert signed.json() == {"data": {"widgets": []}}


async def test_introspection_is_off_in_prod_only(
    clean_db: KitDb, test_settings: Callable[..., Settings], client: httpx.AsyncClient, org: Org
) -> None:
    introspect = {"query": "{ __schema { types { name } } }"}
    assert "errors" not in (await client.post("/graphql", json=introspect,
                                              headers=auth(org))).json()
    secret = "prod-secret-" + "s" * 32
    prod, runtime = make_app(clean_db, test_settings(
        environment="prod", jwt_secret=secret, jwt_audience="crm", jwt_issuer="https://idp/"))
    claims = {"sub": str(uuid.uuid4()), "org": str(org.id), "roles": ["admin"],
              "aud": "crm", "iss": "https://idp/", "exp": int(time.time()) + 60}
    signed = {"Authorization": "Bearer " + jwt.encode(claims, secret, algorithm="HS256")}
    try:
        transport = httpx.ASGITransport(app=prod)
        async with httpx.AsyncClient(transport=transport, base_url="http://kit") as prod_client:
            refused = await prod_client.post("/graphql", json=introspect, headers=signed)
            assert_graphql_error(refused, 400, "GRAPHQL_VALIDATION_FAILED")
            by_type = await prod_client.post(
                "/graphql", json={"query": '{ widgets { id } t: __type(name: "Widget") '
                                           "{ name } }"}, headers=signed)
            assert by_type.status_code == 400
            typename = await prod_client.post(
                "/graphql", json={"query": "{ __typename widgets { id } }"}, headers=signed)
            assert typename.json() == {"data": {"__typename": "Query", "widgets": []}}
            sdl = await prod_client.post("/graphql", json={"query": "{ _service { sdl } }"})
            assert "Widget" in sdl.json()["data"]["_service"]["sdl"]
    finally:
        await runtime.engine.dispose()


async def test_a_huge_repetitive_query_is_refused_before_validation(
    client: httpx.AsyncClient, org: Org
) -> None:
    repeated = "{ " + " ".join(["widgets { id }"] * 6000) + f" }} # {uuid.uuid4()}"
    started = time.perf_counter()
    response = await client.post("/graphql", json={"query": repeated}, headers=auth(org))
    elapsed = time.perf_counter() - started
    body = assert_graphql_error(response, 400, "OPERATION_TOO_LARGE")
    assert "tokens" in body["errors"][0]["message"]
    assert elapsed < 1.0  # seconds of validation before
    fewer = "{ " + " ".join(["widgets { id }"] * 31) + " }"
    body = assert_graphql_error(
        await client.post("/graphql", json={"query": fewer}, headers=auth(org)),
        400, "OPERATION_TOO_LARGE")
    assert "'widgets' is selected 31 times" in body["errors"][0]["message"]
    inline = "{ " + " ".join(["... on Query { widgets { id } }"] * 40) + " }"
    assert (await client.post("/graphql", json={"query": inline},
                              headers=auth(org))).status_code == 400
    fine = "{ " + " ".join(["widgets { id }"] * 3) + " }"
    assert (await client.post("/graphql", json={"query": fine},
                              headers=auth(org))).json() == {"data": {"widgets": []}}


async def asgi_post(app: Any, chunks: Any, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """POST a body as the given chunks (no content-length: chunked); the answer."""
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        if chunk is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1), "server": ("kit", 80),
    }
    await app(scope, receive, send)
    return answer


async def test_chunked_bodies_are_counted_and_a_tokenless_one_is_not_read(
    app: Any, org: Org
) -> None:
    sent = {"bytes": 0}
    chunk = b" " * (1024 * 1024)

    async def megabytes(count: int) -> AsyncIterator[bytes]:
        for _ in range(count):
            sent["bytes"] += len(chunk)
            yield chunk

    token = [(b"authorization", auth(org)["Authorization"].encode())]
    too_large = await asgi_post(app, megabytes(13), token)
    assert too_large["status"] == 413
    assert orjson.loads(too_large["body"])["errors"][0]["extensions"]["code"] \
        == "PAYLOAD_TOO_LARGE"
    assert sent["bytes"] <= MAX_BODY_BYTES + len(chunk)

    sent["bytes"] = 0
    anonymous = await asgi_post(app, megabytes(100), [])
    assert anonymous["status"] == 401
    assert sent["bytes"] <= len(chunk)  # one chunk, not 100 MiB


async def test_a_stalled_body_times_out_and_a_vanished_client_is_no_error(
    app: Any, org: Org, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = [(b"authorization", auth(org)["Authorization"].encode())]
    monkeypatch.setattr(crmkit.body, "BODY_IDLE_SECONDS", 0.2)

    async def stalls() -> AsyncIterator[bytes]:
        yield b'{"query": '
        await asyncio.sleep(5)
        yield b"}"

    timed_out = await asgi_post(app, stalls(), token)
    assert timed_out["status"] == 408

    async def vanishes() -> AsyncIterator[bytes | None]:
        yield b'{"query": "{ wid'
        yield None  # http.disconnect

    with caplog.at_level(logging.INFO):
        await asgi_post(app, vanishes(), token)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("disconnected" in r.getMessage() for r in caplog.records)


async def test_unknown_paths_share_one_metrics_label(client: httpx.AsyncClient) -> None:
    paths = [f"/probe-{uuid.uuid4().hex}" for _ in range(50)]
    for path in paths:
        assert (await client.get(path)).status_code == 404
    metrics = (await client.get("/metrics")).text
    assert not any(path in metrics for path in paths)
    assert 'crm_http_requests_total{path="other",service="kitedge",status="404"}' in metrics


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"query": "query($n: String) { widgets { id } }", "variables": {"n": "a\x00b"}},
         "variables.n"),
        ({"query": "query($n: [String]) { widgets { id } }",
          "variables": {"n": ["ok", "bell\x07"]}}, "variables.n.1"),
        ({"query": '{ widgets { id } _entities(representations: [{id: "x\\u0000"}]) '
                   "{ __typename } }"}, "argument representations"),
    ],
)
async def test_control_characters_in_any_text_input_are_a_typed_error(
    client: httpx.AsyncClient, org: Org, body: dict[str, Any], where: str
) -> None:
    refused = assert_graphql_error(
        await client.post("/graphql", json=body, headers=auth(org)), 400, "BAD_USER_INPUT")
    assert where in refused["errors"][0]["message"]


def test_tabs_and_line_breaks_are_text() -> None:
    assert crmkit.edge_input.control_character_path({"n": ["a\tb\r\nc", {"d": "é ✓"}]}, "v") is None
    assert crmkit.edge_input.control_character_path({"n": [{"d": "\x1b[31m"}]}, "v") == "v.n.0.d"


async def test_a_database_outage_is_a_retryable_typed_error_without_sql(
    clean_db: KitDb, test_settings: Callable[..., Settings], org: Org
) -> None:
    url = make_url(clean_db.url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    behind_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    app, runtime = make_app(KitDb(behind_proxy, clean_db.engine, clean_db.sessions),
                            test_settings())
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
            query = {"query": "{ widgets { id name } }"}
            assert (await client.post("/graphql", json=query, headers=auth(org))).json() \
                == {"data": {"widgets": []}}
            await proxy.cut()
            for _ in range(2):  # a pooled connection reset, then no connection at all
                response = await client.post("/graphql", json=query, headers=auth(org))
                assert response.status_code == 200
                body = response.json()
                assert body["data"] == {"widgets": None}  # only the failing field
                (error,) = body["errors"]
                assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
                assert error["extensions"]["retryable"] is True
                assert "select" not in response.text.lower()
                assert str(org.id) not in response.text
            await proxy.restore()
            assert (await client.post("/graphql", json=query, headers=auth(org))).json() \
                == {"data": {"widgets": []}}
    finally:
        await runtime.engine.dispose()
        await proxy.stop()


@strawberry.federation.type(keys=["id"])
class Gadget:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Gadget:
        return cls(id=id)


@strawberry.type
class GadgetQuery:
    @strawberry.field
    async def gadget(self) -> Gadget:
        return Gadget(id=strawberry.ID("1"))

    @strawberry.field
    async def new_year(self, info: strawberry.Info[GraphQLContext, None], year: int) -> str:
        runtime: ServiceRuntime[Any] = info.context.state
        async with runtime.sessions() as session:
            made = await session.execute(text("SELECT make_date(:y, 1, 1)::text"), {"y": year})
            return str(made.scalar())


@pytest.fixture
async def gadgets(
    clean_db: KitDb, test_settings: Callable[..., Settings]
) -> AsyncIterator[httpx.AsyncClient]:
    runtime = ServiceRuntime.create("kitedge", test_settings(), metadata,
                                    lambda session: session, database_url=clean_db.url,
                                    run_relay=False)
    app = create_service_app(runtime, build_schema(query=GadgetQuery, types=[Gadget]),
                             state=runtime, manage_runtime=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kit") as client:
        yield client
    await runtime.engine.dispose()


async def test_an_unknown_entity_type_is_a_typed_error(
    gadgets: httpx.AsyncClient, org: Org
) -> None:
    known = {"query": '{ _entities(representations: [{__typename: "Gadget", id: "7"}]) '
                      "{ ... on Gadget { id } } }"}
    assert (await gadgets.post("/graphql", json=known, headers=auth(org))).json() \
        == {"data": {"_entities": [{"id": "7"}]}}
    for representation in ('{__typename: "Opportunity", id: "7"}', '{id: "7"}',
                           '{__typename: "GadgetQuery"}'):
        unknown = {"query": f"{{ _entities(representations: [{representation}]) "
                            "{ __typename } }"}
        response = await gadgets.post("/graphql", json=unknown, headers=auth(org))
        assert response.status_code == 200
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert "internal" not in error["message"]


async def test_a_value_the_database_refuses_is_bad_input_without_its_text(
    gadgets: httpx.AsyncClient, org: Org
) -> None:
    fine = {"query": "{ newYear(year: 2030) }"}
    assert (await gadgets.post("/graphql", json=fine, headers=auth(org))).json() \
        == {"data": {"newYear": "2030-01-01"}}
    response = await gadgets.post("/graphql", json={"query": "{ newYear(year: 2000000000) }"},
                                  headers=auth(org))
    body = response.json()
    assert body["data"] == {"newYear": None}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "out of range" not in response.text and "make_date" not in response.text


async def test_a_variable_the_operation_cannot_take_is_coded_bad_input(
    gadgets: httpx.AsyncClient, org: Org
) -> None:
    """As the gateway codes its own refusal of a variable: a client can tell its input from
    a fault of the service, and show it where it was typed."""
    body = {"query": "query($y: Int!) { newYear(year: $y) }", "variables": {"y": "soon"}}
    response = await gadgets.post("/graphql", json=body, headers=auth(org))
    (error,) = response.json()["errors"]
    assert "$y" in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "variablePath": ["y"]}


async def test_a_list_of_too_many_values_is_a_typed_error(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = {"query": "query($ids: [ID!]) { widgets { id } }",
            "variables": {"ids": [str(uuid.uuid4()) for _ in range(100_000)]}}
    refused = assert_graphql_error(
        await client.post("/graphql", json=body, headers=auth(org)), 400, "BAD_USER_INPUT")
    assert "at most 10000 items (variables.ids)" in refused["errors"][0]["message"]

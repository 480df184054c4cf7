"""The subgraph endpoint's direct executor answers exactly as strawberry's view would, and
leaves everything it does not handle (invalid documents, limits, GET, GraphiQL) to it."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.routing import Route

from crmkit.app import graphql_endpoint
from crmkit.auth import TokenVerifier, mint_dev_token
from crmkit.graphql import DirectExecutor, GraphQLContext, build_schema
from crmkit.settings import DEV_JWT_SECRET


@strawberry.type
class Thing:
    id: strawberry.ID
    size: int
    parent: Thing | None = None


@strawberry.type
class Query:
    @strawberry.field
    def thing(self, size: int = 1) -> Thing:
        return Thing(id=strawberry.ID("t1"), size=size,
                     parent=Thing(id=strawberry.ID("t0"), size=0))

    @strawberry.field
    def whoami(self, info: strawberry.Info[GraphQLContext, None]) -> str:
        return str(info.context.caller.member_id)

    @strawberry.field
    def broken(self) -> int:
        raise RuntimeError("boom")

    @strawberry.field
    def refused(self) -> int:
        raise GraphQLError("not for you", extensions={"code": "FORBIDDEN"})


@strawberry.type
class Mutation:
    @strawberry.mutation
    def grow(self, by: int) -> Thing:
        return Thing(id=strawberry.ID("t1"), size=1 + by)


SCHEMA = build_schema(query=Query, mutation=Mutation, max_depth=3)
MEMBER = uuid.uuid4()
TOKEN = mint_dev_token(secret=DEV_JWT_SECRET, member_id=MEMBER, org_id=uuid.uuid4(),
                       roles=["rep"])


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The queries the direct executor ran."""
    ran: list[str] = []
    execute = DirectExecutor.execute

    async def spy(self: DirectExecutor, document: Any, *args: Any) -> bytes:
        ran.append(document.loc.source.body)
        return await execute(self, document, *args)

    monkeypatch.setattr(DirectExecutor, "execute", spy)
    yield ran


async def post(body: Any, *, method: str = "POST") -> httpx.Response:
    endpoint = graphql_endpoint(
        SCHEMA, TokenVerifier(secret=DEV_JWT_SECRET, algorithms=["HS256"]), None,
        graphiql=False)
    app = Starlette(routes=[Route("/graphql", endpoint, methods=["GET", "POST"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if method == "GET":
            return await client.get("/graphql", params=body, headers=headers)
        return await client.post("/graphql", json=body, headers=headers)


async def strawberry_answer(body: Any, monkeypatch: pytest.MonkeyPatch) -> httpx.Response:
    with monkeypatch.context() as patch:
        patch.setattr(DirectExecutor, "prepare", lambda self, query, name: None)
        return await post(body)


CASES = [
    {"query": "{ thing { id size parent { id size } } }"},
    {"query": "query($s: Int!) { thing(size: $s) { size } }", "variables": {"s": 7}},
    {"query": "{ whoami }"},
    {"query": "{ broken thing { size } }"},
    {"query": "mutation($by: Int!) { grow(by: $by) { size __typename } }",
     "variables": {"by": 2}},
    {"query": "query A { thing { size } } query B { whoami }", "operationName": "B"},
    {"query": "query($s: Int!) { thing(size: $s) { size } }", "variables": {"s": "x"}},
]


@pytest.mark.parametrize("body", CASES)
async def test_valid_operations_run_directly_with_strawberrys_answer(
    body: dict[str, Any], used: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = await post(body)
    assert used == [body["query"]]
    expected = await strawberry_answer(body, monkeypatch)
    assert direct.status_code == expected.status_code == 200
    assert direct.headers["content-type"] == "application/json"
    assert json.loads(direct.content) == json.loads(expected.content)


async def test_the_caller_reaches_resolvers() -> None:
    answer = await post({"query": "{ whoami }"})
    assert answer.json() == {"data": {"whoami": str(MEMBER)}}


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_an_unexpected_error_is_internal_with_its_traceback_in_the_log(
    method: str, caplog: pytest.LogCaptureFixture
) -> None:
    """POST runs on the direct executor, GET on strawberry's view: the same policy."""
    with caplog.at_level(logging.ERROR, logger="crm.graphql"):
        response = await post({"query": "{ broken thing { size } }"}, method=method)
    answer = response.json()
    # Root fields are nullable (crmkit.graphql.allow_partial_answers): only `broken` is lost.
    assert answer["data"] == {"broken": None, "thing": {"size": 1}}
    assert answer["errors"] == [{
        "message": "internal error (request )",
        "path": ["broken"],
        "locations": [{"line": 1, "column": 3}],
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": ""},
    }]
    assert "boom" not in response.text
    logged = [r for r in caplog.records if r.name == "crm.graphql"]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "boom" in str(logged[0].exc_info[1])


async def test_a_deliberate_graphql_error_keeps_its_message_and_code() -> None:
    answer = (await post({"query": "{ refused }"})).json()
    assert answer["errors"][0]["message"] == "not for you"
    assert answer["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


@pytest.mark.parametrize("body", [
    {"query": "{ thing { nope } }"},  # invalid field
    {"query": "{ thing { parent { parent { parent { id } } } } }"},  # deeper than the limit
    {"query": "{ thing { size "},  # does not parse
    {"query": "query A { whoami } query B { whoami }"},  # which one?
    {"query": "{ whoami }", "extensions": {"persistedQuery": {}}},
    {"query": "{ whoami }", "variables": "not a map"},
])
async def test_anything_else_is_strawberrys(
    body: dict[str, Any], used: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = await post(body)
    assert used == []
    expected = await strawberry_answer(body, monkeypatch)
    assert answer.status_code == expected.status_code
    assert answer.content == expected.content


async def test_depth_limit_still_applies() -> None:
    answer = (await post({"query": "{ thing { parent { parent { parent { id } } } } }"})).json()
    assert "exceeds maximum operation depth" in answer["errors"][0]["message"]


async def test_get_is_strawberrys(used: list[str]) -> None:
    answer = await post({"query": "{ whoami }"}, method="GET")
    assert answer.json() == {"data": {"whoami": str(MEMBER)}}
    assert used == []


def test_a_schema_with_other_extensions_is_left_to_strawberry() -> None:
    from strawberry.extensions import MaskErrors

    schema = strawberry.federation.Schema(query=Query, extensions=[MaskErrors])
    assert not DirectExecutor(schema).enabled
    assert DirectExecutor(schema).prepare("{ whoami }", None) is None
    assert DirectExecutor(SCHEMA).prepare("{ whoami }", None) is not None

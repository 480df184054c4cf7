"""The executor runs a plan against subgraphs and merges their answers; the shaper turns the
merged data into the client's response. No IO: the subgraphs are graphql-core executing their
SDL in process (the federation tests' harness), reached through the gateway's own
SubgraphClient over an ASGI transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from graphql import FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, parse
from starlette.types import Receive, Scope, Send

from gateway.collect import FieldCollector
from gateway.compose import compose
from gateway.executor import ExecutionState, FieldError, execute_plan
from gateway.planner import build_plan
from gateway.shaping import Shaper
from gateway.subgraph import Subgraph
from gateway.supergraph import Supergraph, load_supergraph
from gateway.transport import SubgraphClient
from tests.integration.gateway.federation.harness import SubgraphServer, SubgraphSpec

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", '
    'import: ["@key", "@external", "@requires", "@shareable"])\n'
)
SUPERGRAPH: Supergraph = load_supergraph(compose([
    Subgraph("a", "http://a/graphql", LINK + """
        type Query { items: [Item!]! item(id: ID!): Item }
        type Item @key(fields: "id") { id: ID! weight: Int label: String! }"""),
    Subgraph("b", "http://b/graphql", LINK + """
        type Item @key(fields: "id") { id: ID! owner: Person }
        type Person @key(fields: "id") { id: ID! }"""),
    Subgraph("c", "http://c/graphql", LINK + """
        type Person @key(fields: "id") { id: ID! name: String! }"""),
]))

SDL = {
    "a": LINK + """type Query { items: [Item!]! item(id: ID!): Item }
        type Item @key(fields: "id") { id: ID! weight: Int label: String! }""",
    "b": LINK + """type Item @key(fields: "id") { id: ID! owner: Person }
        type Person @key(fields: "id") { id: ID! }""",
    "c": LINK + 'type Person @key(fields: "id") { id: ID! name: String! }',
}


class Subgraphs:
    """The three subgraphs in process (graphql-core executing each one's SDL over its data),
    routed by host; a subgraph given as an HTTP status answers only that, without JSON."""

    def __init__(self, **specs: SubgraphSpec | int) -> None:
        self.specs = specs
        self.servers = {n: SubgraphServer(s) for n, s in specs.items()
                        if isinstance(s, SubgraphSpec)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        graph = dict(scope["headers"])[b"host"].decode()
        status = self.specs[graph]
        if isinstance(status, int):
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b"upstream trouble"})
            return
        await self.servers[graph](scope, receive, send)

    def sent(self, graph: str) -> list[dict[str, Any]]:
        return self.servers[graph].bodies if graph in self.servers else []


async def run(query: str, subgraphs: Subgraphs,
              variables: dict[str, Any] | None = None) -> tuple[ExecutionState, dict[str, Any]]:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    plan = build_plan(SUPERGRAPH, operation, fragments, variables or {})
    urls = {name: f"http://{name}/graphql" for name in ("a", "b", "c")}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=subgraphs)) as http:
        client = SubgraphClient(urls, http=http)
        state = await execute_plan(plan, client, variables or {})
    shaper = Shaper(SUPERGRAPH.api_schema, operation,
                    FieldCollector(SUPERGRAPH, fragments, variables or {}))
    data, errors = shaper.shape(state.data)
    return state, {"data": data, "errors": errors + state.errors}


def items(*rows: dict[str, Any] | None, **more: Any) -> SubgraphSpec:
    by_id = {r["id"]: r for r in rows if r is not None}
    return SubgraphSpec("a", SDL["a"], resolvers={"Query": {
        "items": lambda parent, info: list(rows),
        "item": lambda parent, info, id: more.get("item", by_id.get(id)),
    }}, references={"Item": lambda rep: by_id.get(rep["id"])})


def owners(owner_of: dict[str, str | None]) -> SubgraphSpec:
    return SubgraphSpec("b", SDL["b"], references={"Item": lambda rep: {
        "id": rep["id"], "owner": None if owner_of[rep["id"]] is None
        else {"__typename": "Person", "id": owner_of[rep["id"]]}}})


def names(name_of: Callable[[str], str | None] = lambda i: f"Name {i}") -> SubgraphSpec:
    return SubgraphSpec("c", SDL["c"], references={"Person": lambda rep: {
        "id": rep["id"], "name": name_of(rep["id"])}})


QUERY = "{ items { id weight owner { id name } } }"


def reps(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body["variables"]["_r0"])


async def test_entities_are_fetched_once_per_representation_and_merged_in_place() -> None:
    subgraphs = Subgraphs(
        a=items({"id": "1", "weight": 5, "label": "x"}, {"id": "2", "weight": 7, "label": "y"},
                {"id": "3", "weight": 1, "label": "z"}),
        b=owners({"1": "p1", "2": "p1", "3": None}),
        c=names(),
    )
    _, response = await run(QUERY, subgraphs)
    assert response == {"errors": [], "data": {"items": [
        {"id": "1", "weight": 5, "owner": {"id": "p1", "name": "Name p1"}},
        {"id": "2", "weight": 7, "owner": {"id": "p1", "name": "Name p1"}},
        {"id": "3", "weight": 1, "owner": None},
    ]}}
    assert [len(subgraphs.sent(g)) for g in "abc"] == [1, 1, 1]
    assert reps(subgraphs.sent("b")[0]) == [
        {"__typename": "Item", "id": i} for i in ("1", "2", "3")]
    # Two items share one owner: the person is asked for once.
    assert reps(subgraphs.sent("c")[0]) == [{"__typename": "Person", "id": "p1"}]


async def test_an_entity_subgraph_that_fails_leaves_a_located_error_and_a_null() -> None:
    subgraphs = Subgraphs(a=items({"id": "1", "weight": 5, "label": "x"}), b=502, c=names())
    state, response = await run(QUERY, subgraphs)
    assert response["data"] == {"items": [{"id": "1", "weight": 5, "owner": None}]}
    [error] = response["errors"]
    assert error["path"] == ["items", 0, "owner"]
    assert error["extensions"]["code"] == "SUBGRAPH_BAD_RESPONSE"
    assert subgraphs.sent("c") == []  # nothing to ask it for
    assert isinstance(state.data["items"][0]["owner"], FieldError)


async def test_an_entity_error_is_placed_at_the_client_s_path() -> None:
    def name(person: dict[str, Any], info: Any) -> str:
        if person["id"] == "p2":
            raise GraphQLError("no such person", extensions={"code": "NOT_FOUND"})
        return "Ann"

    subgraphs = Subgraphs(
        a=items({"id": "1", "weight": 5, "label": "x"}, {"id": "2", "weight": 7, "label": "y"}),
        b=owners({"1": "p1", "2": "p2"}),
        c=SubgraphSpec("c", SDL["c"], resolvers={"Person": {"name": name}}),
    )
    _, response = await run(QUERY, subgraphs)
    # p2 has no name (`String!`): its owner, nullable, becomes null, with the error there.
    assert response["data"]["items"] == [
        {"id": "1", "weight": 5, "owner": {"id": "p1", "name": "Ann"}},
        {"id": "2", "weight": 7, "owner": None},
    ]
    [error] = [e for e in response["errors"] if e["message"] == "no such person"]
    assert error["path"] == ["items", 1, "owner", "name"]
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_a_root_subgraph_error_reaches_the_client_with_its_code() -> None:
    def refuse(parent: Any, info: Any, id: str) -> None:
        raise GraphQLError("forbidden", extensions={"code": "FORBIDDEN"})

    spec = SubgraphSpec("a", SDL["a"], resolvers={"Query": {"item": refuse}})
    _, response = await run('{ item(id: "9") { id label } }', Subgraphs(a=spec))
    assert response["data"] == {"item": None}
    [error] = response["errors"]
    assert (error["message"], error["path"], error["extensions"]["code"]) == (
        "forbidden", ["item"], "FORBIDDEN")


# --- shaping --------------------------------------------------------------------------------


async def test_a_null_in_a_non_null_field_nulls_the_nearest_nullable_parent() -> None:
    # The subgraph breaks its own schema's promise (a null label); the gateway keeps it.
    lying = SubgraphSpec("a", SDL["a"].replace("label: String!", "label: String"),
                         resolvers={"Query": {"item": lambda parent, info, id: {
                             "id": id, "label": None}}})
    _, response = await run('{ item(id: "1") { id label } }', Subgraphs(a=lying))
    assert response["data"] == {"item": None}
    [error] = response["errors"]
    assert error["message"] == "Cannot return null for non-nullable field Item.label."
    assert error["path"] == ["item", "label"]
    assert error["locations"] == [{"line": 1, "column": 22}]


async def test_a_null_reaching_the_root_nulls_the_data() -> None:
    lying = SubgraphSpec("a", SDL["a"].replace("[Item!]!", "[Item]!"), resolvers={"Query": {
        "items": lambda parent, info: [{"id": "1"}, None]}})
    _, response = await run("{ items { id } }", Subgraphs(a=lying))  # [Item!]!
    assert response["data"] is None
    assert [e["path"] for e in response["errors"]] == [["items", 1]]


async def test_typename_aliases_fragments_and_keys_the_client_did_not_ask_for() -> None:
    subgraphs = Subgraphs(a=items({"id": "1", "weight": 5, "label": "x"}),
                          b=owners({"1": "p1"}), c=names())
    query = """query { things: items { __typename ... on Item { w: weight }
                 ...Owned } } fragment Owned on Item { owner { name } }"""
    _, response = await run(query, subgraphs)
    # The ids the plan fetched to join the subgraphs are not in the answer.
    assert response == {"errors": [], "data": {"things": [
        {"__typename": "Item", "w": 5, "owner": {"name": "Name p1"}}]}}


async def test_subgraph_data_of_the_wrong_shape_is_an_error_not_a_crash() -> None:
    lying = SubgraphSpec("a", SDL["a"].replace("item(id: ID!): Item", "item(id: ID!): [Item]"),
                         resolvers={"Query": {"item": lambda parent, info, id: [{"id": id}]}})
    _, response = await run('{ item(id: "1") { id } }', Subgraphs(a=lying))
    assert response["data"] == {"item": None}
    [error] = response["errors"]
    assert error["message"] == "Subgraph data for Query.item is not an object."

"""`@interfaceObject` and `@key` on interfaces: an interface held as an object type cannot tell
an object's concrete type, so the gateway asks the subgraph with the entity interface for it
only when the operation needs it (`__typename`, fragments on implementations)."""

from __future__ import annotations

from typing import Any

from tests.integration.gateway.federation.harness import FederationFactory, SubgraphSpec

USERS = {
    "u1": {"id": "u1", "name": "u1-name", "age": 11, "username": "u1-username"},
    "u2": {"id": "u2", "name": "u2-name", "age": 22, "username": "u2-username"},
}
ACCOUNTS: dict[str, dict[str, Any]] = {
    "a1": {"__typename": "Admin", "id": "a1", "name": "Alice", "isMain": True},
    "a2": {"__typename": "Admin", "id": "a2", "name": "Bob", "isMain": False},
    "a3": {"__typename": "Regular", "id": "a3", "name": "Charlie"},
}

_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: {})'


def _user(key: dict[str, Any]) -> dict[str, Any] | None:
    user = USERS.get(key["id"])
    return {"__typename": "User", **user} if user else None


def _account(key: dict[str, Any]) -> dict[str, Any] | None:
    account = ACCOUNTS.get(key["id"])
    return {k: v for k, v in account.items() if k != "name"} if account else None


a = SubgraphSpec(
    "a",
    _LINK.format('["@key"]')
    + """
    type Query { users: [NodeWithName!]! }
    interface NodeWithName @key(fields: "id") { id: ID! name: String }
    type User implements NodeWithName @key(fields: "id") { id: ID! name: String age: Int }
    interface Account @key(fields: "id") { id: ID! }
    type Admin implements Account @key(fields: "id") { id: ID! isMain: Boolean! }
    type Regular implements Account @key(fields: "id") { id: ID! }
    """,
    resolvers={"Query": {"users": lambda *_: [_user(u) for u in USERS.values()]}},
    references={
        "NodeWithName": _user,
        "User": _user,
        "Account": _account,
        "Admin": _account,
        "Regular": _account,
    },
)
b = SubgraphSpec(
    "b",
    _LINK.format('["@key", "@interfaceObject", "@shareable"]')
    + """
    type Query { anotherUsers: [NodeWithName] accounts: [Account] @shareable }
    type Account @key(fields: "id") @interfaceObject { id: ID! name: String! }
    type NodeWithName @key(fields: "id") @interfaceObject { id: ID! username: String }
    """,
    resolvers={
        "Query": {
            # The wrong __typename an interface object may give is never trusted.
            "anotherUsers": lambda *_: [
                {"__typename": "Never", "id": u["id"], "username": u["username"]}
                for u in USERS.values()
            ],
            "accounts": lambda *_: [
                {"__typename": "Never", "id": x["id"], "name": x["name"]} for x in ACCOUNTS.values()
            ],
        }
    },
    references={
        "NodeWithName": lambda k: {"username": USERS[k["id"]]["username"]},
        "Account": lambda k: {"name": ACCOUNTS[k["id"]]["name"]},
    },
)
c = SubgraphSpec(
    "c",
    _LINK.format('["@key", "@interfaceObject"]')
    + """
    type Account @key(fields: "id") @interfaceObject { id: ID! isActive: Boolean! }
    """,
    references={"Account": lambda k: {"isActive": k["id"] != "a3"}},
)

# An interface object's field that requires an interface field of the entity interface.
with_requires_a = SubgraphSpec(
    "ia",
    _LINK.format('["@key"]')
    + """
    type Query { users: [NodeWithName!]! }
    interface NodeWithName @key(fields: "id") { id: ID! name: String }
    type User implements NodeWithName @key(fields: "id") { id: ID! name: String age: Int }
    """,
    resolvers={"Query": {"users": lambda *_: [_user(u) for u in USERS.values()]}},
    references={"NodeWithName": _user, "User": _user},
)


def _username(node: dict[str, Any]) -> str:
    if not node.get("name"):
        raise ValueError("the required name was not provided")
    return str(USERS[node["id"]]["username"])


with_requires_b = SubgraphSpec(
    "ib",
    _LINK.format('["@key", "@interfaceObject", "@external", "@requires"]')
    + """
    type Query { anotherUsers: [NodeWithName] }
    type NodeWithName @key(fields: "id") @interfaceObject {
      id: ID!
      name: String @external
      username: String @requires(fields: "name")
    }
    """,
    resolvers={
        "Query": {"anotherUsers": lambda *_: [{"id": u} for u in USERS]},
        "NodeWithName": {"username": lambda node, _: _username(node)},
    },
    references={"NodeWithName": lambda key: key},
)
# Interfaces known as interface objects only, with non-resolvable keys.
BREADS = {"p1": {"__typename": "Bread", "id": "p1", "name": "Rye"}}
holder = SubgraphSpec(
    "holder",
    _LINK.format('["@key", "@interfaceObject"]')
    + """
    interface Node @key(fields: "id") { id: ID! }
    type Product @key(fields: "id", resolvable: false) @interfaceObject { id: ID! }
    type Query { a: Node product: Product! }
    """,
    resolvers={
        "Query": {
            "a": lambda *_: {"__typename": "Node", "id": "n1"},
            "product": lambda *_: {"id": "p1"},
        }
    },
)
bakery = SubgraphSpec(
    "bakery",
    _LINK.format('["@key", "@interfaceObject"]')
    + """
    type Node @key(fields: "id", resolvable: false) @interfaceObject { id: ID! field: String }
    interface Product @key(fields: "id") { id: ID! }
    type Bread implements Product @key(fields: "id") { id: ID! name: String! }
    type Query { b: Node }
    """,
    resolvers={"Query": {"b": lambda *_: {"id": "n1", "field": "foo"}}},
    references={
        "Product": lambda key: BREADS.get(key["id"]),
        "Bread": lambda key: BREADS.get(key["id"]),
    },
)
CASES = {
    "interface_objects_unresolvable": [holder, bakery],
    "interface_objects": [a, b, c],
    "interface_object_requires": [with_requires_a, with_requires_b],
}


def _fed(federation: FederationFactory) -> Any:
    return federation("interface_objects", CASES["interface_objects"])


async def test_the_issue_example_entity_interface_root(federation: FederationFactory) -> None:
    fed = _fed(federation)

    assert await fed.run("{ users { id } }") == {"data": {"users": [{"id": "u1"}, {"id": "u2"}]}}
    assert fed.counts() == {"a": 1}


async def test_interface_object_fields_added_to_entity_interface(
    federation: FederationFactory,
) -> None:
    fed = _fed(federation)

    body = await fed.run("{ users { id name username } }")

    assert body == {
        "data": {
            "users": [
                {"id": "u1", "name": "u1-name", "username": "u1-username"},
                {"id": "u2", "name": "u2-name", "username": "u2-username"},
            ]
        }
    }
    assert fed.counts() == {"a": 1, "b": 1}
    (representations,) = fed.sent("b")[0]["variables"].values()
    assert representations[0] == {"id": "u1", "__typename": "NodeWithName"}


async def test_interface_fields_from_an_interface_object_root(
    federation: FederationFactory,
) -> None:
    fed = _fed(federation)

    body = await fed.run("{ anotherUsers { id name username } }")

    assert body["data"]["anotherUsers"] == [
        {"id": "u1", "name": "u1-name", "username": "u1-username"},
        {"id": "u2", "name": "u2-name", "username": "u2-username"},
    ]
    assert fed.counts() == {"b": 1, "a": 1}


async def test_fragment_on_an_implementation_resolves_the_type(
    federation: FederationFactory,
) -> None:
    fed = _fed(federation)

    body = await fed.run("{ anotherUsers { ... on User { age } } }")

    assert body == {"data": {"anotherUsers": [{"age": 11}, {"age": 22}]}}
    assert fed.counts() == {"b": 1, "a": 1}

    fed.reset()
    assert await fed.run("{ users { ... on User { age } } }") == {
        "data": {"users": [{"age": 11}, {"age": 22}]}
    }
    assert fed.counts() == {"a": 1}


async def test_interface_object_alone_answers_common_fields(federation: FederationFactory) -> None:
    fed = _fed(federation)

    body = await fed.run("{ accounts { name } }")

    assert body == {"data": {"accounts": [{"name": "Alice"}, {"name": "Bob"}, {"name": "Charlie"}]}}
    assert fed.counts() == {"b": 1}


async def test_typename_comes_from_the_entity_interface(federation: FederationFactory) -> None:
    fed = _fed(federation)

    body = await fed.run("{ accounts { name __typename } }")

    assert body == {
        "data": {
            "accounts": [
                {"name": "Alice", "__typename": "Admin"},
                {"name": "Bob", "__typename": "Admin"},
                {"name": "Charlie", "__typename": "Regular"},
            ]
        }
    }
    assert fed.counts() == {"b": 1, "a": 1}
    (representations,) = fed.sent("a")[0]["variables"].values()
    assert {r["__typename"] for r in representations} == {"Account"}

    fed.reset()
    body = await fed.run("{ accounts { ... on Admin { __typename } } }")
    assert body == {"data": {"accounts": [{"__typename": "Admin"}, {"__typename": "Admin"}, {}]}}
    assert fed.counts() == {"b": 1, "a": 1}


async def test_interface_object_field_on_one_implementation(
    federation: FederationFactory,
) -> None:
    fed = _fed(federation)

    body = await fed.run("{ accounts { ... on Admin { name } } }")

    assert body == {"data": {"accounts": [{"name": "Alice"}, {"name": "Bob"}, {}]}}
    # b lists the accounts, a tells which are admins, b gives the admins' names.
    assert fed.counts() == {"b": 2, "a": 1}
    (admins,) = fed.sent("b")[1]["variables"].values()
    assert admins == [
        {"id": "a1", "__typename": "Account"},
        {"id": "a2", "__typename": "Account"},
    ]


async def test_fields_of_two_interface_objects(federation: FederationFactory) -> None:
    fed = _fed(federation)

    body = await fed.run("{ accounts { id isActive ... on Admin { isMain } } }")

    assert body == {
        "data": {
            "accounts": [
                {"id": "a1", "isActive": True, "isMain": True},
                {"id": "a2", "isActive": True, "isMain": False},
                {"id": "a3", "isActive": False},
            ]
        }
    }
    assert fed.counts() == {"b": 1, "c": 1, "a": 1}


async def test_interface_object_requires_from_its_own_root(federation: FederationFactory) -> None:
    fed = federation("interface_object_requires", CASES["interface_object_requires"])

    body = await fed.run("{ anotherUsers { id name username } }")

    assert body == {
        "data": {
            "anotherUsers": [
                {"id": "u1", "name": "u1-name", "username": "u1-username"},
                {"id": "u2", "name": "u2-name", "username": "u2-username"},
            ]
        }
    }
    assert fed.counts() == {"ib": 2, "ia": 1}
    (representations,) = fed.sent("ib")[1]["variables"].values()
    assert representations[0] == {"id": "u1", "name": "u1-name", "__typename": "NodeWithName"}


async def test_interface_object_requires_from_the_entity_interface(
    federation: FederationFactory,
) -> None:
    fed = federation("interface_object_requires", CASES["interface_object_requires"])

    body = await fed.run("{ users { id name username } }")

    assert body["data"]["users"][1] == {"id": "u2", "name": "u2-name", "username": "u2-username"}
    assert fed.counts() == {"ia": 1, "ib": 1}


async def test_interface_object_requires_under_a_fragment(federation: FederationFactory) -> None:
    fed = federation("interface_object_requires", CASES["interface_object_requires"])

    body = await fed.run("{ anotherUsers { ... on User { age id name username } id name } }")

    assert body["data"]["anotherUsers"] == [
        {"age": 11, "id": "u1", "name": "u1-name", "username": "u1-username"},
        {"age": 22, "id": "u2", "name": "u2-name", "username": "u2-username"},
    ]
    assert "errors" not in body
    assert fed.counts() == {"ib": 2, "ia": 1}


async def test_interface_object_without_implementations(federation: FederationFactory) -> None:
    fed = federation("interface_objects_unresolvable", CASES["interface_objects_unresolvable"])

    assert await fed.run("{ b { id field } }") == {"data": {"b": {"id": "n1", "field": "foo"}}}
    assert fed.counts() == {"bakery": 1}


async def test_non_resolvable_interface_object_typed_by_the_entity_interface(
    federation: FederationFactory,
) -> None:
    fed = federation("interface_objects_unresolvable", CASES["interface_objects_unresolvable"])

    assert await fed.run("{ product { id } }") == {"data": {"product": {"id": "p1"}}}
    assert fed.counts() == {"holder": 1}

    fed.reset()
    body = await fed.run("{ product { ... on Bread { id name } } }")
    assert body == {"data": {"product": {"id": "p1", "name": "Rye"}}}
    assert fed.counts() == {"holder": 1, "bakery": 1}


async def test_interface_no_subgraph_implements_is_null(federation: FederationFactory) -> None:
    fed = federation("interface_objects_unresolvable", CASES["interface_objects_unresolvable"])

    body = await fed.run("{ a { id } }")

    assert body["data"] == {"a": None}
    assert body["errors"]

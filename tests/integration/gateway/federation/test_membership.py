"""Per-subgraph membership of abstract types (`join__implements`, `join__unionMember`) and
fields whose types differ between sibling fragments in one subgraph (aliased, then renamed)."""

from __future__ import annotations

from typing import Any

from tests.integration.gateway.federation.harness import FederationFactory, SubgraphSpec

_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: {})'

# ------------------------------------------------------------------------- membership
TOASTERS = {"t1": {"__typename": "Toaster", "id": "t1", "name": "Toasty", "warranty": 2}}
OVENS = {"o1": {"__typename": "Oven", "id": "o1", "name": "Hot"}}

kitchen = SubgraphSpec(
    "kitchen",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Query { nodes: [Node] items: [Item] products: [Product] }
    interface Node { id: ID! }
    union Item = Toaster
    union Product = Oven | Toaster
    type Oven @key(fields: "id") { id: ID! }
    type Toaster implements Node @key(fields: "id") { id: ID! name: String @shareable }
    """,
    resolvers={
        "Query": {
            "nodes": lambda *_: [
                {k: v for k, v in t.items() if k != "warranty"} for t in TOASTERS.values()
            ],
            "items": lambda *_: [{"__typename": "Toaster", "id": "t1", "name": "Toasty"}],
            "products": lambda *_: [
                {"__typename": "Oven", "id": "o1"},
                {"__typename": "Toaster", "id": "t1", "name": "Toasty"},
            ],
        }
    },
)
shop = SubgraphSpec(
    "shop",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Query { ovens: [Oven] }
    interface Node { id: ID! }
    union Item = Oven | Toaster
    type Oven implements Node @key(fields: "id") { id: ID! name: String @shareable }
    type Toaster @key(fields: "id") { id: ID! warranty: Int }
    """,
    resolvers={"Query": {"ovens": lambda *_: list(OVENS.values())}},
    references={"Toaster": lambda key: TOASTERS[key["id"]], "Oven": lambda key: OVENS[key["id"]]},
)

# --------------------------------------------------------------- conflicting field types
USERS = [{"__typename": "User", "id": "u1", "name": "u1-name"}]


def _accounts(*_: Any) -> list[dict[str, Any]]:
    return [*USERS, {"__typename": "Admin", "id": "a1", "name": "a1-name"}]


users_a = SubgraphSpec(
    "users_a",
    _LINK.format('["@shareable"]')
    + """
    type User { id: ID @shareable }
    type Query { users: [User!]! }
    """,
    resolvers={"Query": {"users": lambda *_: [{"id": u["id"]} for u in USERS]}},
)
users_b = SubgraphSpec(
    "users_b",
    _LINK.format('["@shareable", "@key"]')
    + """
    union Account = User | Admin
    type User @key(fields: "id") { id: ID! name: String similarAccounts: [Account!]! }
    type Admin { id: ID name: String @shareable similarAccounts: [Account!]! }
    type Query { accounts: [Account!]! }
    """,
    resolvers={
        "Query": {"accounts": _accounts},
        "User": {"similarAccounts": _accounts},
        "Admin": {"similarAccounts": _accounts},
    },
    references={"User": lambda key: next(u for u in USERS if u["id"] == key["id"])},
)

CASES = {"membership": [kitchen, shop], "type_conflicts": [users_a, users_b]}


async def test_fragments_reach_only_the_members_of_each_subgraph(
    federation: FederationFactory,
) -> None:
    fed = federation("membership", CASES["membership"])

    body = await fed.run("{ nodes { id ... on Toaster { name warranty } ... on Oven { name } } }")

    assert body == {"data": {"nodes": [{"id": "t1", "name": "Toasty", "warranty": 2}]}}
    assert fed.counts() == {"kitchen": 1, "shop": 1}
    # The kitchen subgraph knows no Oven: asking it `... on Oven` would be invalid there.
    assert "Oven" not in fed.sent("kitchen")[0]["query"]


async def test_union_members_per_subgraph(federation: FederationFactory) -> None:
    fed = federation("membership", CASES["membership"])

    body = await fed.run("{ items { ... on Oven { name } ... on Toaster { name warranty } } }")

    assert body == {"data": {"items": [{"name": "Toasty", "warranty": 2}]}}
    assert fed.counts() == {"kitchen": 1, "shop": 1}
    assert "Oven" not in fed.sent("kitchen")[0]["query"]


async def test_interface_fragment_on_a_union_of_a_subgraph_without_it(
    federation: FederationFactory,
) -> None:
    fed = federation("membership", CASES["membership"])

    body = await fed.run("{ products { ... on Node { id } } }")

    # Oven is a Node in the supergraph (shop says so), not in kitchen; kitchen still knows
    # its `id`, asked as `... on Oven`, never as `... on Node`.
    assert body == {"data": {"products": [{"id": "o1"}, {"id": "t1"}]}}
    assert fed.counts() == {"kitchen": 1}
    assert "Node" not in fed.sent("kitchen")[0]["query"]


async def test_implementation_known_to_another_subgraph_only(
    federation: FederationFactory,
) -> None:
    fed = federation("membership", CASES["membership"])

    body = await fed.run("{ ovens { id name } }")

    assert body == {"data": {"ovens": [{"id": "o1", "name": "Hot"}]}}
    assert fed.counts() == {"shop": 1}


async def test_sibling_fragments_with_conflicting_types(federation: FederationFactory) -> None:
    fed = federation("type_conflicts", CASES["type_conflicts"])

    body = await fed.run(
        """
        {
          users { id name }
          accounts { ... on User { id name } ... on Admin { id name } }
        }
        """
    )

    assert body == {
        "data": {
            "users": [{"id": "u1", "name": "u1-name"}],
            "accounts": [{"id": "u1", "name": "u1-name"}, {"id": "a1", "name": "a1-name"}],
        }
    }
    assert fed.counts() == {"users_a": 1, "users_b": 2}


async def test_nested_conflicting_types(federation: FederationFactory) -> None:
    fed = federation("type_conflicts", CASES["type_conflicts"])

    body = await fed.run(
        """
        {
          accounts {
            ... on User { id similarAccounts { ... on User { id } ... on Admin { id name } } }
            ... on Admin { id similarAccounts { ... on User { id name } ... on Admin { id } } }
          }
        }
        """
    )

    assert body == {
        "data": {
            "accounts": [
                {"id": "u1", "similarAccounts": [{"id": "u1"}, {"id": "a1", "name": "a1-name"}]},
                {"id": "a1", "similarAccounts": [{"id": "u1", "name": "u1-name"}, {"id": "a1"}]},
            ]
        }
    }
    assert fed.counts() == {"users_b": 1}

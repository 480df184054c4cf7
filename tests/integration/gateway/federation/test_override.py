"""`@override`, plain and progressive: `percent(N)` labels are drawn per request, any other
label is active when the operator enables it (`CRM_GATEWAY_OVERRIDE_LABELS`)."""

from __future__ import annotations

from tests.integration.gateway.federation.harness import FederationFactory, SubgraphSpec

_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: {})'

old = SubgraphSpec(
    "old",
    _LINK.format('["@key"]')
    + """
    type Query { order: Order }
    type Order @key(fields: "id") {
      id: ID! status: String shipping: String price: Int rating: Int total: Int
    }
    """,
    resolvers={
        "Query": {
            "order": lambda *_: {
                "id": "o1",
                "status": "old-status",
                "shipping": "old-shipping",
                "price": 1,
                "rating": 1,
                "total": 1,
            }
        }
    },
    references={"Order": lambda key: {"id": key["id"], "status": "old-status", "rating": 1}},
)
new = SubgraphSpec(
    "new",
    _LINK.format('["@key", "@override"]')
    + """
    type Order @key(fields: "id") {
      id: ID!
      status: String @override(from: "old")
      shipping: String @override(from: "old", label: "new-shipping")
      price: Int @override(from: "old", label: "percent(100)")
      rating: Int @override(from: "old", label: "percent(0)")
    }
    """,
    references={
        "Order": lambda key: {
            "id": key["id"],
            "status": "new-status",
            "shipping": "new-shipping",
            "price": 2,
            "rating": 2,
        }
    },
)
CASES = {"override": [old, new]}


async def test_labels_off_route_to_the_original(federation: FederationFactory) -> None:
    fed = federation("override", CASES["override"])

    body = await fed.run("{ order { shipping rating total } }")

    assert body == {"data": {"order": {"shipping": "old-shipping", "rating": 1, "total": 1}}}
    assert fed.counts() == {"old": 1}


async def test_plain_and_percent_100_overrides_route_to_the_new(
    federation: FederationFactory,
) -> None:
    fed = federation("override", CASES["override"])

    body = await fed.run("{ order { status price total } }")

    assert body == {"data": {"order": {"status": "new-status", "price": 2, "total": 1}}}
    assert fed.counts() == {"old": 1, "new": 1}


async def test_enabled_label_routes_to_the_new(federation: FederationFactory) -> None:
    fed = federation("override", CASES["override"], override_labels=frozenset({"new-shipping"}))

    body = await fed.run("{ order { shipping rating } }")

    assert body == {"data": {"order": {"shipping": "new-shipping", "rating": 1}}}
    assert fed.counts() == {"old": 1, "new": 1}

"""`@requires`: inputs fetched before the requiring subgraph is called, also when the parent
object comes from that very subgraph; field sets with arguments and with fragments; a
requirement below the subgraph's own field whose subfield lives elsewhere."""

from __future__ import annotations

from typing import Any

from tests.integration.gateway.federation.harness import FederationFactory, SubgraphSpec

_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: {})'

# ----------------------------------------------------------------- parent from the requirer
PLACES = {
    "p1": {"id": "p1", "address": {"id": "ad1", "street": "Długa 1"}},
    "p2": {"id": "p2", "address": {"id": "ad2", "street": "Krótka 2"}},
}
CITIES = {"ad1": "Gdańsk", "ad2": "Kraków"}


def _city(place: dict[str, Any]) -> str:
    if "address" not in place:
        raise ValueError("address was not provided")
    return CITIES[place["address"]["id"]]


places = SubgraphSpec(
    "places",
    _LINK.format('["@key", "@external", "@requires", "@shareable"]')
    + """
    type Query { a: Place places: [Place] }
    type Place @key(fields: "id") {
      id: ID!
      address: Address @external
      city: String @requires(fields: "address { id }")
    }
    type Address @shareable { id: ID! }
    """,
    resolvers={
        "Query": {
            "a": lambda *_: {"id": "p1"},
            "places": lambda *_: [{"id": p} for p in PLACES],
        },
        "Place": {"city": lambda place, _: _city(place)},
    },
    references={"Place": lambda key: key},
)
addresses = SubgraphSpec(
    "addresses",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Place @key(fields: "id") { id: ID! address: Address }
    type Address @shareable { id: ID! street: String }
    """,
    references={"Place": lambda key: PLACES[key["id"]]},
)

# --------------------------------------------------------------------------- with arguments
RATES = {"USD": 1.0, "EUR": 0.9, "PLN": 4.0}
GOODS = {
    "g1": {"upc": "g1", "base": 100, "weight": 3},
    "g2": {"upc": "g2", "base": 10, "weight": 1},
}


def _estimate(product: dict[str, Any]) -> int:
    return int(product["price"]) + 2 * int(product["weight"])


catalog = SubgraphSpec(
    "catalog",
    _LINK.format('["@key"]')
    + """
    type Query { goods: [Product] }
    type Product @key(fields: "upc") { upc: String! price(currency: String!): Int weight: Int }
    """,
    resolvers={
        "Query": {"goods": lambda *_: list(GOODS.values())},
        "Product": {"price": lambda p, _, currency: round(p["base"] * RATES[currency])},
    },
    references={"Product": lambda key: GOODS[key["upc"]]},
)
shipping = SubgraphSpec(
    "shipping",
    _LINK.format('["@key", "@external", "@requires"]')
    + """
    type Product @key(fields: "upc") {
      upc: String!
      price(currency: String!): Int @external
      weight: Int @external
      estimateUsd: Int @requires(fields: "price(currency: \\"USD\\") weight")
      estimateEur: Int @requires(fields: "price(currency: \\"EUR\\") weight")
    }
    """,
    resolvers={
        "Product": {
            "estimateUsd": lambda p, _: _estimate(p),
            "estimateEur": lambda p, _: _estimate(p),
        }
    },
    references={"Product": lambda key: key},
)

# ---------------------------------------------------------------------------- with fragments
DATA: dict[str, dict[str, Any]] = {
    "e1": {"__typename": "Baz", "foo": "e1-foo", "bar": "e1-bar", "baz": "e1-baz"},
    "e2": {"__typename": "Qux", "foo": "e2-foo", "bar": "e2-bar", "qux": "e2-qux"},
}
_FOO = """
    interface Foo { foo: String! }
    interface Bar implements Foo { foo: String! bar: String! }
    type Baz implements Foo & Bar @shareable { foo: String! bar: String! baz: String! }
    type Qux implements Foo & Bar @shareable { foo: String! bar: String! qux: String! }
"""


def _requirer(entity: dict[str, Any]) -> str:
    data = entity["data"]
    detail = data.get("baz") or data.get("qux")
    return f"{data['foo']}/{data['bar']}/{detail}"


holder = SubgraphSpec(
    "holder",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Query @shareable { a: Entity }
    type Entity @key(fields: "id") { id: ID! data: Foo }
    """
    + _FOO,
    resolvers={"Query": {"a": lambda *_: {"id": "e2", "data": DATA["e2"]}}},
    references={"Entity": lambda key: {"id": key["id"], "data": DATA[key["id"]]}},
)
requirer = SubgraphSpec(
    "requirer",
    _LINK.format('["@key", "@shareable", "@external", "@requires"]')
    + '''
    type Query @shareable { b: Entity }
    type Entity @key(fields: "id") {
      id: ID!
      data: Foo @external
      requirer: String! @requires(fields: """
        data { foo ... on Baz { bar baz } ... on Qux { bar qux } }
      """)
    }
    '''
    + _FOO,
    resolvers={
        "Query": {"b": lambda *_: {"id": "e1"}},
        "Entity": {"requirer": lambda entity, _: _requirer(entity)},
    },
    references={"Entity": lambda key: key},
)

# -------------------------------------------------------- own field, external subfield
SECRETS = {"i1": "s3cr3t"}
owner = SubgraphSpec(
    "owner",
    _LINK.format('["@key", "@external", "@requires"]')
    + """
    type Query { record: Record }
    type Record @key(fields: "id") {
      id: ID!
      info: Info
      digest: String @requires(fields: "info { secret }")
    }
    type Info @key(fields: "id") { id: ID! secret: String @external }
    """,
    resolvers={
        "Query": {"record": lambda *_: {"id": "r1", "info": {"id": "i1"}}},
        "Record": {"digest": lambda record, _: record["info"]["secret"][::-1]},
    },
    references={"Record": lambda key: key},
)
vault = SubgraphSpec(
    "vault",
    _LINK.format('["@key"]') + 'type Info @key(fields: "id") { id: ID! secret: String }',
    references={"Info": lambda key: {"id": key["id"], "secret": SECRETS[key["id"]]}},
)

# -------------------------------------------------------- a requirement of a requirement
PRICES = {"p1": 699.99, "p2": 15.0}
pricing = SubgraphSpec(
    "pricing",
    _LINK.format('["@key", "@inaccessible"]')
    + 'type Product @key(fields: "id") { id: ID! price: Float! @inaccessible }',
    references={"Product": lambda key: {"id": key["id"], "price": PRICES[key["id"]]}},
)
shelf = SubgraphSpec(
    "shelf",
    _LINK.format('["@key"]')
    + """
    type Query { product: Product products: [Product] }
    type Product @key(fields: "id") { id: ID! }
    """,
    resolvers={
        "Query": {
            "product": lambda *_: {"id": "p1"},
            "products": lambda *_: [{"id": p} for p in PRICES],
        }
    },
)
verdict = SubgraphSpec(
    "verdict",
    _LINK.format('["@key", "@external", "@requires"]')
    + """
    type Product @key(fields: "id") {
      id: ID!
      price: Float! @external
      isExpensive: Boolean! @requires(fields: "price")
    }
    """,
    references={"Product": lambda key: {**key, "isExpensive": key["price"] > 500}},
)
wallet = SubgraphSpec(
    "wallet",
    _LINK.format('["@key", "@external", "@requires"]')
    + """
    type Product @key(fields: "id") {
      id: ID!
      isExpensive: Boolean! @external
      canAfford: Boolean! @requires(fields: "isExpensive")
    }
    """,
    references={"Product": lambda key: {**key, "canAfford": not key["isExpensive"]}},
)

# ------------------------------------------------------------- requires after a mutation
ADDED: list[dict[str, Any]] = []


def _add_product(*_: Any, input: dict[str, Any]) -> dict[str, Any]:
    product = {"id": f"n{len(ADDED) + 1}", **input}
    ADDED.append(product)
    return product


def _never(key: dict[str, Any]) -> dict[str, Any]:
    raise ValueError("the mutation's own answer carries every field: no entity call is due")


store = SubgraphSpec(
    "store",
    _LINK.format('["@key"]')
    + """
    type Mutation { addProduct(input: AddProductInput!): Product! }
    type Query { products: [Product!]! }
    input AddProductInput { name: String! price: Float! }
    type Product @key(fields: "id") { id: ID! name: String! price: Float! }
    """,
    resolvers={
        "Mutation": {"addProduct": _add_product},
        "Query": {"products": lambda *_: ADDED},
    },
    references={"Product": _never},
)
stock = SubgraphSpec(
    "stock",
    _LINK.format('["@key", "@external", "@requires"]')
    + """
    type Product @key(fields: "id") {
      id: ID!
      price: Float! @external
      isExpensive: Boolean! @requires(fields: "price")
      isAvailable: Boolean!
    }
    """,
    references={
        "Product": lambda key: {**key, "isExpensive": key["price"] > 100, "isAvailable": True}
    },
)

CASES = {
    "requires_after_mutation": [store, stock],
    "requires_chain": [pricing, shelf, verdict, wallet],
    "requires_parent": [places, addresses],
    "requires_arguments": [catalog, shipping],
    "requires_fragments": [holder, requirer],
    "requires_own_field": [owner, vault],
}


async def test_the_issue_example_requires_under_own_parent(federation: FederationFactory) -> None:
    fed = federation("requires_parent", CASES["requires_parent"])

    assert await fed.run("{ a { city } }") == {"data": {"a": {"city": "Gdańsk"}}}
    # places lists, addresses gives the address, places computes the city from it.
    assert fed.counts() == {"places": 2, "addresses": 1}
    (representation,) = fed.sent("places")[1]["variables"]["_r0"]
    assert representation == {"id": "p1", "address": {"id": "ad1"}, "__typename": "Place"}


async def test_requires_with_other_fields_of_the_input(federation: FederationFactory) -> None:
    fed = federation("requires_parent", CASES["requires_parent"])

    body = await fed.run("{ places { id city address { street } } }")

    assert body == {
        "data": {
            "places": [
                {"id": "p1", "city": "Gdańsk", "address": {"street": "Długa 1"}},
                {"id": "p2", "city": "Kraków", "address": {"street": "Krótka 2"}},
            ]
        }
    }
    assert fed.counts() == {"places": 2, "addresses": 1}


async def test_requires_with_arguments_keeps_them(federation: FederationFactory) -> None:
    fed = federation("requires_arguments", CASES["requires_arguments"])

    body = await fed.run("{ goods { upc estimateUsd } }")

    assert body == {
        "data": {"goods": [{"upc": "g1", "estimateUsd": 106}, {"upc": "g2", "estimateUsd": 12}]}
    }
    assert fed.counts() == {"catalog": 1, "shipping": 1}
    assert 'price(currency: "USD")' in fed.sent("catalog")[0]["query"]


async def test_two_requirements_with_different_arguments(federation: FederationFactory) -> None:
    fed = federation("requires_arguments", CASES["requires_arguments"])

    body = await fed.run('{ goods { price(currency: "PLN") estimateUsd estimateEur } }')

    assert body == {
        "data": {
            "goods": [
                {"price": 400, "estimateUsd": 106, "estimateEur": 96},
                {"price": 40, "estimateUsd": 12, "estimateEur": 11},
            ]
        }
    }
    # One request each: two `_entities` calls, since `price` differs per representation.
    assert fed.counts() == {"catalog": 1, "shipping": 1}
    sent = fed.sent("shipping")[0]["variables"]
    assert sorted(reps[0]["price"] for reps in sent.values()) == [90, 100]


async def test_requires_with_fragments_from_the_root(federation: FederationFactory) -> None:
    fed = federation("requires_fragments", CASES["requires_fragments"])

    body = await fed.run("{ a { data { __typename } requirer } }")

    assert body == {
        "data": {"a": {"data": {"__typename": "Qux"}, "requirer": "e2-foo/e2-bar/e2-qux"}}
    }
    assert fed.counts() == {"holder": 1, "requirer": 1}
    (representation,) = fed.sent("requirer")[0]["variables"]["_r0"]
    assert representation["data"] == {
        "foo": "e2-foo",
        "bar": "e2-bar",
        "qux": "e2-qux",
        "__typename": "Qux",
    }


async def test_requires_with_fragments_through_an_entity(federation: FederationFactory) -> None:
    fed = federation("requires_fragments", CASES["requires_fragments"])

    body = await fed.run("{ b { id requirer } }")

    assert body == {"data": {"b": {"id": "e1", "requirer": "e1-foo/e1-bar/e1-baz"}}}
    assert fed.counts() == {"requirer": 2, "holder": 1}


async def test_requirement_below_own_field(federation: FederationFactory) -> None:
    fed = federation("requires_own_field", CASES["requires_own_field"])

    body = await fed.run("{ record { id digest } }")

    assert body == {"data": {"record": {"id": "r1", "digest": "t3rc3s"}}}
    assert fed.counts() == {"owner": 2, "vault": 1}


async def test_a_requirement_that_itself_requires(federation: FederationFactory) -> None:
    fed = federation("requires_chain", CASES["requires_chain"])

    body = await fed.run("{ products { id canAfford } }")

    assert body == {
        "data": {"products": [{"id": "p1", "canAfford": False}, {"id": "p2", "canAfford": True}]}
    }
    # shelf, then pricing (an @inaccessible field is still fetched to satisfy @requires),
    # then verdict, then wallet: one request each, one after another.
    assert fed.counts() == {"shelf": 1, "pricing": 1, "verdict": 1, "wallet": 1}


async def test_both_links_of_the_chain_asked(federation: FederationFactory) -> None:
    fed = federation("requires_chain", CASES["requires_chain"])

    body = await fed.run("{ product { isExpensive canAfford } }")

    assert body == {"data": {"product": {"isExpensive": True, "canAfford": False}}}
    assert fed.counts() == {"shelf": 1, "pricing": 1, "verdict": 1, "wallet": 1}


async def test_an_inaccessible_field_cannot_be_asked(federation: FederationFactory) -> None:
    fed = federation("requires_chain", CASES["requires_chain"])

    body = await fed.run("{ product { price } }")

    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert fed.counts() == {}


async def test_requires_on_a_mutation_result(federation: FederationFactory) -> None:
    fed = federation("requires_after_mutation", CASES["requires_after_mutation"])
    ADDED.clear()

    body = await fed.run(
        """
        mutation {
          addProduct(input: { name: "new", price: 599.99 }) {
            name price isExpensive isAvailable
          }
        }
        """
    )

    assert body == {
        "data": {
            "addProduct": {
                "name": "new",
                "price": 599.99,
                "isExpensive": True,
                "isAvailable": True,
            }
        }
    }
    # The mutation runs once; its answer holds the key and the required price.
    assert fed.counts() == {"store": 1, "stock": 1}
    assert len(ADDED) == 1

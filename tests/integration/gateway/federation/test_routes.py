"""Routes between subgraphs: `@provides` on interfaces and unions, `@external` key fields,
a shareable root sent to the subgraph that provides the fields, value types fetched through
their parent entity, and shareable roots of types without keys split across subgraphs."""

from __future__ import annotations

from typing import Any

from tests.integration.gateway.federation.harness import FederationFactory, SubgraphSpec

_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: {})'

# ------------------------------------------------------------------ @provides on interfaces
ANIMALS: dict[str, dict[str, Any]] = {
    "a1": {"__typename": "Dog", "id": "a1", "name": "Fido", "age": 3},
    "a2": {"__typename": "Cat", "id": "a2", "name": "Whiskers", "age": 6},
}
BOOK = {"__typename": "Book", "id": "m1", "animals": ["a1", "a2"]}


def _animals(fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in ANIMALS[a].items() if k in ("__typename", *fields)}
        for a in BOOK["animals"]
    ]


media_a = SubgraphSpec(
    "media_a",
    _LINK.format('["@key", "@shareable", "@external", "@provides"]')
    + """
    type Query {
      media: Media @shareable
      book: Book @provides(fields: "animals { ... on Dog { name } }")
    }
    interface Media { id: ID! }
    interface Animal { id: ID! }
    type Book implements Media @key(fields: "id") { id: ID! animals: [Animal] @shareable }
    type Dog implements Animal @key(fields: "id") { id: ID! @external name: String @external }
    type Cat implements Animal @key(fields: "id") { id: ID! @external }
    """,
    resolvers={
        "Query": {
            "media": lambda *_: {**BOOK, "animals": _animals(("id",))},
            "book": lambda *_: {
                **BOOK,
                "animals": [
                    {k: v for k, v in x.items() if k != "name" or x["__typename"] == "Dog"}
                    for x in _animals(("id", "name"))
                ],
            },
        }
    },
)
media_b = SubgraphSpec(
    "media_b",
    _LINK.format('["@key", "@shareable", "@provides", "@external"]')
    + """
    type Query { media: Media @shareable @provides(fields: "animals { id name }") }
    interface Media { id: ID! animals: [Animal] }
    interface Animal { id: ID! name: String }
    type Book implements Media { id: ID! @shareable animals: [Animal] @external }
    type Dog implements Animal { id: ID! @external name: String @external }
    type Cat implements Animal { id: ID! @external name: String @external }
    """,
    resolvers={"Query": {"media": lambda *_: {**BOOK, "animals": _animals(("id", "name"))}}},
)
media_c = SubgraphSpec(
    "media_c",
    _LINK.format('["@key", "@shareable"]')
    + """
    interface Media { id: ID! animals: [Animal] }
    interface Animal { id: ID! name: String }
    type Book implements Media @key(fields: "id") { id: ID! animals: [Animal] @shareable }
    type Dog implements Animal @key(fields: "id") { id: ID! name: String @shareable age: Int }
    type Cat implements Animal @key(fields: "id") { id: ID! name: String @shareable age: Int }
    """,
    references={
        "Book": lambda key: {**BOOK, "animals": _animals(("id", "name", "age"))},
        "Dog": lambda key: ANIMALS[key["id"]],
        "Cat": lambda key: ANIMALS[key["id"]],
    },
)

# ------------------------------------------------------------------- @external key field
chats_a = SubgraphSpec(
    "chats_a",
    # A Federation 1 subgraph (no @link): it extends Chat, whose key field is @external.
    """
    type Query { chats: [Chat] }
    extend type Chat @key(fields: "id") { id: ID! @external topic: String }
    """,
    resolvers={
        "Query": {
            "chats": lambda *_: [{"id": "c1", "topic": "Pricing"}, {"id": "c2", "topic": "NDA"}]
        }
    },
)
chats_b = SubgraphSpec(
    "chats_b",
    _LINK.format('["@key"]') + 'type Chat @key(fields: "id") { id: ID! messages: Int }',
    references={"Chat": lambda key: {"id": key["id"], "messages": int(key["id"][1:]) * 10}},
)

# ------------------------------------------------------ a shareable root and its provider
catalog = SubgraphSpec(
    "catalog",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Query { topProducts: [Product] @shareable }
    type Product @key(fields: "id") { id: ID! price: Int }
    """,
    resolvers={"Query": {"topProducts": lambda *_: [{"id": "p1", "price": 5}]}},
    references={"Product": lambda key: {"id": key["id"], "price": 5}},
)
listing = SubgraphSpec(
    "listing",
    _LINK.format('["@key", "@shareable", "@provides", "@external"]')
    + """
    type Query { topProducts: [Product] @shareable @provides(fields: "name") }
    type Product @key(fields: "id") { id: ID! name: String @external }
    """,
    resolvers={"Query": {"topProducts": lambda *_: [{"id": "p1", "name": "Desk"}]}},
)
names = SubgraphSpec(
    "names",
    _LINK.format('["@key"]') + 'type Product @key(fields: "id") { id: ID! name: String }',
    references={"Product": lambda key: {"id": key["id"], "name": "Desk"}},
)

# --------------------------------------------------- a value type through its parent entity
SHOP = {"s1": {"id": "s1", "category": {"id": "c1", "name": "Office", "details": "Desks"}}}
parent_a = SubgraphSpec(
    "parent_a",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Query { shopItems: [Item] }
    type Item @key(fields: "id") { id: ID! category: Category @shareable }
    type Category @shareable { id: ID! name: String }
    """,
    resolvers={"Query": {"shopItems": lambda *_: list(SHOP.values())}},
)
parent_b = SubgraphSpec(
    "parent_b",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Item @key(fields: "id") { id: ID! category: Category @shareable }
    type Category @shareable { id: ID! details: String }
    """,
    references={"Item": lambda key: SHOP[key["id"]]},
)

# -------------------------------------------------------- shareable roots without keys
ROWS = [{"id": "r1", "name": "Lamp", "price": 20}, {"id": "r2", "name": "Desk", "price": 200}]
root_names = SubgraphSpec(
    "root_names",
    _LINK.format('["@shareable"]')
    + """
    type Query { rows: [Row] @shareable }
    type Row { id: ID! @shareable name: String }
    """,
    resolvers={"Query": {"rows": lambda *_: [{"id": r["id"], "name": r["name"]} for r in ROWS]}},
)
root_prices = SubgraphSpec(
    "root_prices",
    _LINK.format('["@shareable"]')
    + """
    type Query { rows: [Row] @shareable }
    type Row { id: ID! @shareable price: Int }
    """,
    resolvers={"Query": {"rows": lambda *_: [{"id": r["id"], "price": r["price"]} for r in ROWS]}},
)

# ------------------------------------------------------------------ nested @provides
CATEGORIES: dict[str, dict[str, Any]] = {
    "c1": {"id": "c1", "name": "Category 1", "sub": ["c2"]},
    "c2": {"id": "c2", "name": "Category 2", "sub": ["c3"]},
    "c3": {"id": "c3", "name": "Category 3", "sub": ["c1"]},
}
ITEMS = {"p1": ["c1", "c2"], "p2": ["c3", "c2"]}


def _category(cid: str, depth: int) -> dict[str, Any]:
    category = CATEGORIES[cid]
    found: dict[str, Any] = {"id": cid, "name": category["name"]}
    if depth:
        found["subCategories"] = [_category(s, depth - 1) for s in category["sub"]]
    return found


all_products = SubgraphSpec(
    "all_products",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Query { products: [Product] @shareable }
    type Product @key(fields: "id") { id: ID! }
    """,
    resolvers={"Query": {"products": lambda *_: [{"id": p} for p in ITEMS]}},
)
provider = SubgraphSpec(
    "provider",
    _LINK.format('["@key", "@shareable", "@external", "@provides"]')
    + """
    type Query {
      products: [Product]
        @shareable
        @provides(fields: "categories { id name subCategories { id name } }")
    }
    type Product @key(fields: "id") { id: ID! categories: [Category] @external }
    type Category @key(fields: "id") {
      id: ID!
      name: String @shareable
      subCategories: [Category] @external
    }
    """,
    resolvers={
        "Query": {
            "products": lambda *_: [
                {"id": p, "categories": [_category(c, 1) for c in cs]} for p, cs in ITEMS.items()
            ]
        }
    },
)
subcategories = SubgraphSpec(
    "subcategories",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Product @key(fields: "id") { id: ID! categories: [Category] @shareable }
    type Category @key(fields: "id") {
      id: ID!
      name: String @shareable
      subCategories: [Category] @shareable
    }
    """,
    references={
        "Product": lambda key: {
            "id": key["id"],
            "categories": [_category(c, 2) for c in ITEMS[key["id"]]],
        },
        "Category": lambda key: _category(key["id"], 2),
    },
)
CASES = {
    "nested_provides": [all_products, provider, subcategories],
    "provides_interface": [media_a, media_b, media_c],
    "external_key": [chats_a, chats_b],
    "shareable_root_provider": [catalog, listing, names],
    "parent_value_type": [parent_a, parent_b],
    "shared_root": [root_names, root_prices],
}


async def test_provides_on_an_interface_is_used(federation: FederationFactory) -> None:
    fed = federation("provides_interface", CASES["provides_interface"])

    body = await fed.run("{ media { id animals { id name } } }")

    assert body == {
        "data": {
            "media": {
                "id": "m1",
                "animals": [{"id": "a1", "name": "Fido"}, {"id": "a2", "name": "Whiskers"}],
            }
        }
    }
    assert fed.counts() == {"media_b": 1}


async def test_provided_objects_hop_for_the_rest(federation: FederationFactory) -> None:
    fed = federation("provides_interface", CASES["provides_interface"])

    body = await fed.run("{ media { id animals { id name ... on Cat { age } } } }")

    assert body["data"]["media"]["animals"] == [
        {"id": "a1", "name": "Fido"},
        {"id": "a2", "name": "Whiskers", "age": 6},
    ]
    assert fed.counts() == {"media_b": 1, "media_c": 1}


async def test_provides_with_a_fragment(federation: FederationFactory) -> None:
    fed = federation("provides_interface", CASES["provides_interface"])

    body = await fed.run("{ book { animals { id ... on Dog { name } } } }")

    assert body == {"data": {"book": {"animals": [{"id": "a1", "name": "Fido"}, {"id": "a2"}]}}}
    assert fed.counts() == {"media_a": 1}


async def test_external_key_field_is_known_where_declared(federation: FederationFactory) -> None:
    fed = federation("external_key", CASES["external_key"])

    body = await fed.run("{ chats { id topic messages } }")

    assert body == {
        "data": {
            "chats": [
                {"id": "c1", "topic": "Pricing", "messages": 10},
                {"id": "c2", "topic": "NDA", "messages": 20},
            ]
        }
    }
    assert fed.counts() == {"chats_a": 1, "chats_b": 1}


async def test_shareable_root_goes_to_the_provider(federation: FederationFactory) -> None:
    fed = federation("shareable_root_provider", CASES["shareable_root_provider"])

    body = await fed.run("{ topProducts { id name } }")

    assert body == {"data": {"topProducts": [{"id": "p1", "name": "Desk"}]}}
    assert fed.counts() == {"listing": 1}

    fed.reset()
    body = await fed.run("{ topProducts { name price } }")
    assert body == {"data": {"topProducts": [{"name": "Desk", "price": 5}]}}
    # Either root subgraph, then one entity fetch for the other field.
    assert sum(fed.counts().values()) == 2


async def test_value_type_through_its_parent_entity(federation: FederationFactory) -> None:
    fed = federation("parent_value_type", CASES["parent_value_type"])

    body = await fed.run("{ shopItems { category { name details } } }")

    assert body == {"data": {"shopItems": [{"category": {"name": "Office", "details": "Desks"}}]}}
    assert fed.counts() == {"parent_a": 1, "parent_b": 1}
    (items,) = fed.sent("parent_b")[0]["variables"].values()
    assert items == [{"id": "s1", "__typename": "Item"}]


async def test_shared_root_split_across_subgraphs(federation: FederationFactory) -> None:
    fed = federation("shared_root", CASES["shared_root"])

    body = await fed.run("{ rows { id name price } }")

    assert body == {
        "data": {
            "rows": [
                {"id": "r1", "name": "Lamp", "price": 20},
                {"id": "r2", "name": "Desk", "price": 200},
            ]
        }
    }
    assert fed.counts() == {"root_names": 1, "root_prices": 1}

    fed.reset()
    assert await fed.run("{ rows { price } }") == {
        "data": {"rows": [{"price": 20}, {"price": 200}]}
    }
    assert fed.counts() == {"root_prices": 1}


async def test_nested_provides_answer_in_one_request(federation: FederationFactory) -> None:
    fed = federation("nested_provides", CASES["nested_provides"])

    body = await fed.run("{ products { id categories { id name subCategories { id name } } } }")

    assert body["data"]["products"][0] == {
        "id": "p1",
        "categories": [
            {
                "id": "c1",
                "name": "Category 1",
                "subCategories": [{"id": "c2", "name": "Category 2"}],
            },
            {
                "id": "c2",
                "name": "Category 2",
                "subCategories": [{"id": "c3", "name": "Category 3"}],
            },
        ],
    }
    # all_products comes first, but only provider provides the categories.
    assert fed.counts() == {"provider": 1}

"""Values a subgraph sends that the client must not get as they are: `@inaccessible` enum
values (a field error, null propagated per the spec), entities whose key is null (never sent
as representations), and composite keys whose fields come from different subgraphs."""

from __future__ import annotations

from tests.integration.gateway.federation.harness import FederationFactory, SubgraphSpec

_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: {})'

paints = SubgraphSpec(
    "paints",
    _LINK.format('["@inaccessible"]')
    + """
    enum Color { RED GREEN BLUE @inaccessible }
    type Query { colors: [Color] favourite: Color paint: Paint }
    type Paint { color: Color! name: String }
    """,
    resolvers={
        "Query": {
            "colors": lambda *_: ["RED", "BLUE", "GREEN"],
            "favourite": lambda *_: "BLUE",
            "paint": lambda *_: {"color": "BLUE", "name": "Navy"},
        }
    },
)

BOOKS = [
    {"id": "b1", "upc": "u1"},
    {"id": "b2", "upc": None},
    {"id": "b3", "upc": "u3"},
]
books = SubgraphSpec(
    "books",
    _LINK.format('["@key", "@shareable"]')
    + """
    type Query { books: [Book] }
    type Book @key(fields: "id") { id: ID! upc: String @shareable }
    """,
    resolvers={"Query": {"books": lambda *_: BOOKS}},
)
authors = SubgraphSpec(
    "authors",
    _LINK.format('["@key"]') + 'type Book @key(fields: "upc") { upc: String! author: String }',
    references={"Book": lambda key: {"upc": key["upc"], "author": f"author of {key['upc']}"}},
)

listing = SubgraphSpec(
    "listing",
    _LINK.format('["@key"]')
    + """
    type Query { products: [Product] }
    type Product @key(fields: "id") { id: ID! }
    """,
    resolvers={"Query": {"products": lambda *_: [{"id": "1"}, {"id": "2"}]}},
)
ids = SubgraphSpec(
    "ids",
    _LINK.format('["@key", "@shareable"]')
    + 'type Product @key(fields: "id") { id: ID! pid: ID! @shareable }',
    references={"Product": lambda key: {"id": key["id"], "pid": f"p{key['id']}"}},
)
prices = SubgraphSpec(
    "prices",
    _LINK.format('["@key"]')
    + 'type Product @key(fields: "id pid") { id: ID! pid: ID! price: Int }',
    references={"Product": lambda key: {**key, "price": int(key["id"]) * 100}},
)

CASES = {
    "inaccessible_enum": [paints],
    "null_keys": [books, authors],
    "composite_key": [listing, ids, prices],
}


async def test_inaccessible_enum_value_is_an_error(federation: FederationFactory) -> None:
    fed = federation("inaccessible_enum", CASES["inaccessible_enum"])

    body = await fed.run("{ colors favourite }")

    assert body["data"] == {"colors": ["RED", None, "GREEN"], "favourite": None}
    paths = sorted(str(e["path"]) for e in body["errors"])
    assert paths == ["['colors', 1]", "['favourite']"]
    assert all("Color" in e["message"] for e in body["errors"])


async def test_inaccessible_enum_value_in_a_non_null_field(federation: FederationFactory) -> None:
    fed = federation("inaccessible_enum", CASES["inaccessible_enum"])

    body = await fed.run("{ paint { name color } }")

    assert body["data"] == {"paint": None}
    assert [e["path"] for e in body["errors"]] == [["paint", "color"]]


async def test_null_key_is_not_sent(federation: FederationFactory) -> None:
    fed = federation("null_keys", CASES["null_keys"])

    body = await fed.run("{ books { id author } }")

    assert body == {
        "data": {
            "books": [
                {"id": "b1", "author": "author of u1"},
                {"id": "b2", "author": None},
                {"id": "b3", "author": "author of u3"},
            ]
        }
    }
    assert fed.counts() == {"books": 1, "authors": 1}
    (representations,) = fed.sent("authors")[0]["variables"].values()
    assert representations == [
        {"upc": "u1", "__typename": "Book"},
        {"upc": "u3", "__typename": "Book"},
    ]


async def test_composite_key_gathered_from_two_subgraphs(federation: FederationFactory) -> None:
    fed = federation("composite_key", CASES["composite_key"])

    body = await fed.run("{ products { id price } }")

    assert body == {"data": {"products": [{"id": "1", "price": 100}, {"id": "2", "price": 200}]}}
    assert fed.counts() == {"listing": 1, "ids": 1, "prices": 1}
    assert "pid" not in fed.sent("listing")[0]["query"]
    (representations,) = fed.sent("prices")[0]["variables"].values()
    assert representations[0] == {"id": "1", "pid": "p1", "__typename": "Product"}

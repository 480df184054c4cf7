"""Keys made of lists and nested objects whose fields come from several subgraphs (a product
list keyed by its products' `id pid`, a product keyed with its category's `id tag`)."""

from __future__ import annotations

from typing import Any

from tests.integration.gateway.federation.harness import FederationFactory, SubgraphSpec

_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: {})'
PRODUCTS: dict[str, dict[str, Any]] = {
    "1": {"id": "1", "pid": "p1", "category": "c1", "price": 100.0},
    "2": {"id": "2", "pid": "p2", "category": "c2", "price": 200.0},
}
CATEGORIES = {
    "c1": {"id": "c1", "tag": "t1", "main": "1"},
    "c2": {"id": "c2", "tag": "t2", "main": "2"},
}


def _matching(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        p
        for p in PRODUCTS.values()
        if any(k["id"] == p["id"] and k["pid"] == p["pid"] for k in keys)
    ]


products = SubgraphSpec(
    "products",
    _LINK.format('["@key", "@external", "@extends", "@shareable"]')
    + """
    type Query { topProducts: ProductList! }
    type ProductList @key(fields: "products{id}") { products: [Product!]! }
    type Product @extends @key(fields: "id") {
      id: String! @external
      category: Category @shareable
    }
    type Category @key(fields: "id") {
      mainProduct: Product! @shareable
      id: String!
      tag: String @shareable
    }
    """,
    resolvers={
        "Query": {"topProducts": lambda *_: {"products": list(PRODUCTS.values())}},
        "Product": {"category": lambda p, _: CATEGORIES[PRODUCTS[p["id"]]["category"]]},
        "Category": {"mainProduct": lambda c, _: PRODUCTS[c["main"]]},
    },
)
listing = SubgraphSpec(
    "list",
    _LINK.format('["@key", "@shareable"]')
    + """
    type ProductList @key(fields: "products{id pid}") {
      products: [Product!]!
      first: Product @shareable
      selected: Product @shareable
    }
    type Product @key(fields: "id pid") { id: String! pid: String }
    """,
    references={
        "ProductList": lambda key: {
            "products": _matching(key["products"]),
            "first": _matching(key["products"])[0],
            "selected": _matching(key["products"])[1],
        },
        "Product": lambda key: _matching([key])[0],
    },
)
link = SubgraphSpec(
    "link",
    _LINK.format('["@key"]')
    + 'type Product @key(fields: "id") @key(fields: "id pid") { id: String! pid: String! }',
    references={"Product": lambda key: PRODUCTS[key["id"]]},
)


def _priced(key: dict[str, Any]) -> dict[str, Any] | None:
    product = PRODUCTS[key["id"]]
    category = CATEGORIES[product["category"]]
    if key["category"] != {"id": category["id"], "tag": category["tag"]}:
        return None
    return product


price = SubgraphSpec(
    "price",
    _LINK.format('["@key", "@shareable"]')
    + """
    type ProductList @key(fields: "products{id pid category{id tag}} selected{id}") {
      products: [Product!]!
      first: Product @shareable
      selected: Product @shareable
    }
    type Product @key(fields: "id pid category{id tag}") {
      id: String!
      price: Price
      pid: String
      category: Category
    }
    type Category @key(fields: "id tag") { id: String! tag: String }
    type Price { price: Float! }
    """,
    resolvers={
        "Product": {
            "price": lambda p, _: {"price": p["price"]},
            "category": lambda p, _: CATEGORIES[p["category"]],
        }
    },
    references={"Product": _priced, "Category": lambda key: CATEGORIES[key["id"]]},
)
CASES = {"complex_keys": [products, listing, link, price]}


async def test_list_and_nested_keys_from_four_subgraphs(federation: FederationFactory) -> None:
    fed = federation("complex_keys", CASES["complex_keys"])

    body = await fed.run(
        """
        { topProducts {
            products { id pid price { price } category { mainProduct { id } id tag } }
            selected { id }
            first { id }
        } }
        """
    )

    assert body == {
        "data": {
            "topProducts": {
                "products": [
                    {
                        "id": "1",
                        "pid": "p1",
                        "price": {"price": 100.0},
                        "category": {"mainProduct": {"id": "1"}, "id": "c1", "tag": "t1"},
                    },
                    {
                        "id": "2",
                        "pid": "p2",
                        "price": {"price": 200.0},
                        "category": {"mainProduct": {"id": "2"}, "id": "c2", "tag": "t2"},
                    },
                ],
                "selected": {"id": "2"},
                "first": {"id": "1"},
            }
        }
    }
    assert fed.counts() == {"products": 1, "link": 1, "price": 1, "list": 1}
    (product_lists,) = fed.sent("list")[0]["variables"].values()
    assert product_lists == [
        {
            "products": [{"id": "1", "pid": "p1"}, {"id": "2", "pid": "p2"}],
            "__typename": "ProductList",
        }
    ]


async def test_nested_key_of_one_product(federation: FederationFactory) -> None:
    fed = federation("complex_keys", CASES["complex_keys"])

    body = await fed.run("{ topProducts { products { price { price } } } }")

    assert body == {
        "data": {
            "topProducts": {"products": [{"price": {"price": 100.0}}, {"price": {"price": 200.0}}]}
        }
    }
    assert fed.counts() == {"products": 1, "link": 1, "price": 1}

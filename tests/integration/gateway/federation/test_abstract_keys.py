"""Entity keys under every abstract branch: each branch that hops to another subgraph carries
the key of its own objects (a key fetched for one branch only left the others' fields null)."""

from __future__ import annotations

from typing import Any

from tests.integration.gateway.federation.harness import FederationFactory, SubgraphSpec

PRODUCTS: dict[str, dict[str, Any]] = {
    "b1": {"__typename": "Book", "id": "b1", "sku": "sku-b1", "title": "Book 1"},
    "m1": {"__typename": "Magazine", "id": "m1", "sku": "sku-m1", "title": "Magazine 1"},
    "b2": {"__typename": "Book", "id": "b2", "sku": "sku-b2", "title": "Book 2"},
    "m2": {"__typename": "Magazine", "id": "m2", "sku": "sku-m2", "title": "Magazine 2"},
}
REVIEWS = [
    {"id": 1, "product": "b1"},
    {"id": 2, "product": "b1"},
    {"id": 3, "product": "m1"},
]


def _reviewed(product_id: str) -> dict[str, Any]:
    typename = PRODUCTS[product_id]["__typename"]
    reviews = [
        {"id": r["id"], "product": {"__typename": typename, "id": product_id}}
        for r in REVIEWS
        if r["product"] == product_id
    ]
    return {"id": product_id, "reviews": reviews}


products = SubgraphSpec(
    "products",
    """
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Query { products: [Product] }
    interface Product { id: ID! sku: String }
    type Book implements Product @key(fields: "id") { id: ID! sku: String title: String }
    type Magazine implements Product @key(fields: "id") { id: ID! sku: String title: String }
    """,
    resolvers={"Query": {"products": lambda *_: list(PRODUCTS.values())}},
    references={
        "Book": lambda r: PRODUCTS.get(r["id"]),
        "Magazine": lambda r: PRODUCTS.get(r["id"]),
    },
)
reviews = SubgraphSpec(
    "reviews",
    """
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Review { id: Int! product: Product }
    interface Product { id: ID! reviews: [Review] }
    type Book implements Product @key(fields: "id") {
      id: ID!
      reviews: [Review]
      reviewsCount: Int
    }
    type Magazine implements Product @key(fields: "id") { id: ID! reviews: [Review] }
    """,
    resolvers={
        "Book": {"reviewsCount": lambda book, _: sum(r["product"] == book["id"] for r in REVIEWS)}
    },
    references={"Book": lambda r: _reviewed(r["id"]), "Magazine": lambda r: _reviewed(r["id"])},
)
CASES = {"abstract_keys": [products, reviews]}


async def test_the_issue_example_keys_the_second_branch(federation: FederationFactory) -> None:
    fed = federation("abstract_keys", CASES["abstract_keys"])

    body = await fed.run("{ products { id reviews { product { id ... on Magazine { sku } } } } }")

    book_review = {"product": {"id": "b1"}}
    assert body == {
        "data": {
            "products": [
                {"id": "b1", "reviews": [book_review, book_review]},
                {"id": "m1", "reviews": [{"product": {"id": "m1", "sku": "sku-m1"}}]},
                {"id": "b2", "reviews": []},
                {"id": "m2", "reviews": []},
            ]
        }
    }
    # products, then reviews for both branches at once, then Magazine.sku back in products.
    assert fed.counts() == {"products": 2, "reviews": 1}
    magazines = fed.sent("products")[1]["variables"]["_r0"]
    assert magazines == [{"id": "m1", "__typename": "Magazine"}]


async def test_fields_of_each_branch_from_both_subgraphs(federation: FederationFactory) -> None:
    fed = federation("abstract_keys", CASES["abstract_keys"])

    body = await fed.run(
        """
        { products { reviews { product {
            sku
            ... on Magazine { title }
            ... on Book { reviewsCount }
        } } } }
        """
    )

    book = {"product": {"sku": "sku-b1", "reviewsCount": 2}}
    assert body["data"]["products"] == [
        {"reviews": [book, book]},
        {"reviews": [{"product": {"sku": "sku-m1", "title": "Magazine 1"}}]},
        {"reviews": []},
        {"reviews": []},
    ]
    assert "errors" not in body
    assert fed.counts() == {"products": 2, "reviews": 1}
    # Book.reviewsCount comes with the reviews; the products subgraph gets both types' keys.
    later = fed.sent("products")[1]["variables"]
    assert sorted(r["__typename"] for reps in later.values() for r in reps) == ["Book", "Magazine"]


async def test_include_on_one_branch_decides_the_plan(federation: FederationFactory) -> None:
    fed = federation("abstract_keys", CASES["abstract_keys"])
    query = """
      query ($title: Boolean!) {
        products { id reviews { product {
          id
          ... on Book @include(if: $title) { title }
          ... on Magazine { sku }
        } } }
      }
    """

    with_title = await fed.run(query, {"title": True})
    assert with_title["data"]["products"][0]["reviews"][0] == {
        "product": {"id": "b1", "title": "Book 1"}
    }
    assert with_title["data"]["products"][1]["reviews"][0] == {
        "product": {"id": "m1", "sku": "sku-m1"}
    }
    assert fed.counts() == {"products": 2, "reviews": 1}

    fed.reset()
    without = await fed.run(query, {"title": False})
    assert without["data"]["products"][0]["reviews"][0] == {"product": {"id": "b1"}}
    assert without["data"]["products"][1]["reviews"][0] == {
        "product": {"id": "m1", "sku": "sku-m1"}
    }
    assert fed.counts() == {"products": 2, "reviews": 1}
    (second,) = fed.sent("products")[1]["variables"].values()
    assert second == [{"id": "m1", "__typename": "Magazine"}]


async def test_one_branch_only_needs_no_extra_fetch(federation: FederationFactory) -> None:
    fed = federation("abstract_keys", CASES["abstract_keys"])

    body = await fed.run("{ products { sku ... on Book { reviewsCount } } }")

    assert body == {
        "data": {
            "products": [
                {"sku": "sku-b1", "reviewsCount": 2},
                {"sku": "sku-m1"},
                {"sku": "sku-b2", "reviewsCount": 0},
                {"sku": "sku-m2"},
            ]
        }
    }
    assert fed.counts() == {"products": 1, "reviews": 1}
    (books,) = fed.sent("reviews")[0]["variables"].values()
    assert books == [{"id": "b1", "__typename": "Book"}, {"id": "b2", "__typename": "Book"}]

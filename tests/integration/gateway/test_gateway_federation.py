"""The gateway against four in-process strawberry subgraphs: results and requests per subgraph."""

from __future__ import annotations

import time

import pytest

from tests.integration.gateway import shop
from tests.integration.gateway.conftest import Shop

pytestmark = pytest.mark.asyncio


async def test_single_subgraph_query_sends_one_request(shop_gateway: Shop) -> None:
    body = await shop_gateway.run("{ topProducts(first: 2) { upc name price } }")

    assert body == {
        "data": {
            "topProducts": [
                {"upc": "p1", "name": "Table", "price": 100},
                {"upc": "p2", "name": "Chair", "price": 50},
            ]
        }
    }
    assert shop_gateway.counts() == {"products": 1}


async def test_aliases_and_only_used_variables_are_forwarded(shop_gateway: Shop) -> None:
    query = """
      query Top($n: Int, $upc: String!) {
        first: topProducts(first: $n) { label: name cost: price }
        one: product(upc: $upc) { name opinions: reviews { text: body } }
      }
    """
    body = await shop_gateway.run(query, {"n": 1, "upc": "p2"})

    assert body == {
        "data": {
            "first": [{"label": "Table", "cost": 100}],
            "one": {"name": "Chair", "opinions": [{"text": "Comfy"}]},
        }
    }
    assert shop_gateway.counts() == {"products": 1, "reviews": 1}
    (to_products,) = shop_gateway.sent("products")
    assert to_products["variables"] == {"n": 1, "upc": "p2"}
    (to_reviews,) = shop_gateway.sent("reviews")
    assert set(to_reviews["variables"]) == {"_r0"}
    assert "$n" not in to_reviews["query"]


async def test_provides_lets_the_providing_subgraph_answer(shop_gateway: Shop) -> None:
    body = await shop_gateway.run("{ reviews { body product { name } } }")

    assert body["data"]["reviews"][0] == {"body": "Solid", "product": {"name": "Table (cached)"}}
    assert shop_gateway.counts() == {"reviews": 1}


async def test_requires_and_composite_key_reach_a_third_subgraph(shop_gateway: Shop) -> None:
    body = await shop_gateway.run("{ reviews { id product { upc inStock shippingEstimate } } }")

    assert body == {
        "data": {
            "reviews": [
                {"id": "r1", "product": {"upc": "p1", "inStock": True, "shippingEstimate": 0}},
                {"id": "r2", "product": {"upc": "p1", "inStock": True, "shippingEstimate": 0}},
                {"id": "r3", "product": {"upc": "p2", "inStock": False, "shippingEstimate": 8}},
            ]
        }
    }
    # reviews only knows `upc`; products turns it into inventory's `sku variant { id }` key
    # and supplies the @requires fields price and weight.
    assert shop_gateway.counts() == {"reviews": 1, "products": 1, "inventory": 1}
    (to_products,) = shop_gateway.sent("products")
    assert to_products["variables"]["_r0"] == [
        {"upc": "p1", "__typename": "Product"},
        {"upc": "p2", "__typename": "Product"},
    ]
    (to_inventory,) = shop_gateway.sent("inventory")
    assert to_inventory["variables"]["_r0"][1] == {
        "sku": "S2",
        "variant": {"id": "V2"},
        "price": 50,
        "weight": 4,
        "__typename": "Product",
    }


async def test_nested_hops_across_three_subgraphs_batch_and_dedupe(shop_gateway: Shop) -> None:
    body = await shop_gateway.run(
        "{ topProducts { name reviews { body author { id username } } } }"
    )

    assert body == {
        "data": {
            "topProducts": [
                {
                    "name": "Table",
                    "reviews": [
                        {"body": "Solid", "author": {"id": "u1", "username": "ada"}},
                        {"body": "Wobbly", "author": {"id": "u2", "username": "grace"}},
                    ],
                },
                {
                    "name": "Chair",
                    "reviews": [{"body": "Comfy", "author": {"id": "u1", "username": "ada"}}],
                },
                {"name": "Lamp", "reviews": []},
            ]
        }
    }
    assert shop_gateway.counts() == {"products": 1, "reviews": 1, "accounts": 1}
    (to_accounts,) = shop_gateway.sent("accounts")
    # ada wrote two reviews: one representation.
    assert to_accounts["variables"]["_r0"] == [
        {"id": "u1", "__typename": "User"},
        {"id": "u2", "__typename": "User"},
    ]


async def test_entity_fields_at_two_paths_share_one_request_per_step(shop_gateway: Shop) -> None:
    body = await shop_gateway.run(
        '{ topProducts(first: 2) { inStock } product(upc: "p3") { inStock } }'
    )

    assert body == {
        "data": {
            "topProducts": [{"inStock": True}, {"inStock": False}],
            "product": {"inStock": True},
        }
    }
    assert shop_gateway.counts() == {"products": 1, "inventory": 1}
    (to_inventory,) = shop_gateway.sent("inventory")
    assert len(to_inventory["variables"]["_r0"]) == 2
    assert len(to_inventory["variables"]["_r1"]) == 1


async def test_variables_used_in_entity_fields_are_forwarded(shop_gateway: Shop) -> None:
    query = """
      query($prefix: String, $first: Int) {
        topProducts(first: $first) { reviewSummary(prefix: $prefix) }
      }
    """
    body = await shop_gateway.run(query, {"prefix": "~", "first": 1})

    assert body == {"data": {"topProducts": [{"reviewSummary": "~2 reviews"}]}}
    (to_products,) = shop_gateway.sent("products")
    assert to_products["variables"] == {"first": 1}
    (to_reviews,) = shop_gateway.sent("reviews")
    assert to_reviews["variables"]["prefix"] == "~"
    assert "first" not in to_reviews["variables"]


async def test_override_routes_to_the_new_owner(shop_gateway: Shop) -> None:
    body = await shop_gateway.run("{ reviews { author { username } } }")

    assert [r["author"]["username"] for r in body["data"]["reviews"]] == ["ada", "grace", "ada"]
    assert shop_gateway.counts() == {"reviews": 1, "accounts": 1}


async def test_shareable_value_type_is_resolved_where_it_is(shop_gateway: Shop) -> None:
    body = await shop_gateway.run('{ product(upc: "p2") { variant { id } name } }')

    assert body == {"data": {"product": {"variant": {"id": "V2"}, "name": "Chair"}}}
    assert shop_gateway.counts() == {"products": 1}


async def test_inaccessible_field_is_not_queryable(shop_gateway: Shop) -> None:
    body = await shop_gateway.run("{ topProducts { internalCode } }")

    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "internalCode" in body["errors"][0]["message"]
    assert "data" not in body
    assert shop_gateway.counts() == {}


async def test_interface_fragments_with_entity_fields(shop_gateway: Shop) -> None:
    query = """
      fragment Titled on Media { id title }
      {
        media {
          __typename
          ...Titled
          ... on Book { pages reviewCount }
          ... on Movie { minutes }
        }
      }
    """
    body = await shop_gateway.run(query)

    assert body == {
        "data": {
            "media": [
                {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412, "reviewCount": 7},
                {"__typename": "Movie", "id": "m1", "title": "Alien", "minutes": 117},
            ]
        }
    }
    assert shop_gateway.counts() == {"products": 1, "reviews": 1}


async def test_union_members_with_fields_from_other_subgraphs(shop_gateway: Shop) -> None:
    query = """
      query Search($text: String!) {
        search(text: $text) {
          kind: __typename
          ... on Product { name inStock }
          ... on Book { title reviewCount }
        }
      }
    """
    body = await shop_gateway.run(query, {"text": "a"})

    assert body == {
        "data": {
            "search": [
                {"kind": "Product", "name": "Table", "inStock": True},
                {"kind": "Product", "name": "Chair", "inStock": False},
                {"kind": "Product", "name": "Lamp", "inStock": True},
            ]
        }
    }
    assert shop_gateway.counts() == {"products": 1, "inventory": 1}


async def test_skip_and_include_follow_variables(shop_gateway: Shop) -> None:
    query = """
      query($withReviews: Boolean!, $hideName: Boolean!) {
        product(upc: "p2") {
          name @skip(if: $hideName)
          reviews @include(if: $withReviews) { body }
        }
      }
    """
    without = await shop_gateway.run(query, {"withReviews": False, "hideName": True})
    assert without == {"data": {"product": {}}}
    assert shop_gateway.counts() == {"products": 1}

    shop_gateway.reset()
    with_reviews = await shop_gateway.run(query, {"withReviews": True, "hideName": False})
    assert with_reviews == {"data": {"product": {"name": "Chair", "reviews": [{"body": "Comfy"}]}}}
    assert shop_gateway.counts() == {"products": 1, "reviews": 1}


async def test_typename_at_root_and_nested(shop_gateway: Shop) -> None:
    body = await shop_gateway.run('{ __typename product(upc: "p1") { __typename upc } }')

    assert body == {
        "data": {"__typename": "Query", "product": {"__typename": "Product", "upc": "p1"}}
    }
    assert shop_gateway.counts() == {"products": 1}


async def test_introspection_shows_the_public_schema_only(shop_gateway: Shop) -> None:
    body = await shop_gateway.run(
        '{ __schema { types { name } } __type(name: "Product") { fields { name } } }'
    )

    type_names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Product", "Review", "User", "Media", "SearchResult"} <= type_names
    assert not any(
        n.startswith(("join__", "link__", "_")) and not n.startswith("__") for n in type_names
    )
    fields = {f["name"] for f in body["data"]["__type"]["fields"]}
    assert "internalCode" not in fields
    assert {"inStock", "reviews", "shippingEstimate"} <= fields
    assert shop_gateway.counts() == {}


async def test_nullable_root_field_error_keeps_other_data(shop_gateway: Shop) -> None:
    body = await shop_gateway.run('{ failing product(upc: "p3") { name } }')

    assert body["data"] == {"failing": None, "product": {"name": "Lamp"}}
    (error,) = body["errors"]
    assert error["message"] == "products failed on purpose"
    assert error["path"] == ["failing"]
    assert shop_gateway.counts() == {"products": 1}


async def test_non_null_root_error_nulls_the_data(shop_gateway: Shop) -> None:
    body = await shop_gateway.run('{ mustNotFail product(upc: "p3") { name } }')

    assert body["data"] is None
    assert [e["path"] for e in body["errors"]] == [["mustNotFail"]]


async def test_entity_error_path_is_rewritten_to_the_client_path(shop_gateway: Shop) -> None:
    body = await shop_gateway.run("{ topProducts { name reviewSummary } }")

    assert body["data"] == {
        "topProducts": [
            {"name": "Table", "reviewSummary": "2 reviews"},
            {"name": "Chair", "reviewSummary": None},
            {"name": "Lamp", "reviewSummary": "0 reviews"},
        ]
    }
    (error,) = body["errors"]
    assert error["message"] == "no summary for p2"
    assert error["path"] == ["topProducts", 1, "reviewSummary"]
    assert error["extensions"]["serviceName"] == "reviews"
    assert shop_gateway.counts() == {"products": 1, "reviews": 1}


async def test_null_in_non_null_entity_field_bubbles_to_nullable_parent(
    shop_gateway: Shop,
) -> None:
    body = await shop_gateway.run('{ product(upc: "p1") { name reviews { id rating } } }')

    # Review.rating is Int!, Product.reviews is [Review!]!: the null bubbles to `product`.
    assert body["data"] == {"product": None}
    (error,) = body["errors"]
    assert error["message"] == "rating unavailable for r2"
    assert error["path"] == ["product", "reviews", 1, "rating"]


async def test_down_subgraph_fails_only_its_fields(shop_gateway: Shop) -> None:
    shop_gateway.transports["inventory"].down = True

    body = await shop_gateway.run("{ topProducts(first: 2) { name inStock } warehouseCount }")

    assert body["data"] == {
        "topProducts": [{"name": "Table", "inStock": None}, {"name": "Chair", "inStock": None}],
        "warehouseCount": None,
    }
    paths = sorted(str(e["path"]) for e in body["errors"])
    assert paths == sorted(
        str(p)
        for p in (["topProducts", 0, "inStock"], ["topProducts", 1, "inStock"], ["warehouseCount"])
    )
    assert {e["extensions"]["code"] for e in body["errors"]} == {"SUBGRAPH_UNAVAILABLE"}
    assert shop_gateway.counts() == {"products": 1}


async def test_slow_subgraph_times_out_without_hanging(shop_gateway: Shop) -> None:
    # The timeout holds for every subgraph: long enough that the fast one always answers on
    # a busy two-core machine (0.2 s did not, once, under the whole suite), and the slow one
    # far slower, so the answer comes at the timeout, long before the slow subgraph.
    shop_gateway.gateway.client.timeout = 0.6
    shop_gateway.controls["inventory"].delay = 4.0

    started = time.perf_counter()
    body = await shop_gateway.run('{ product(upc: "p1") { name inStock } }')
    elapsed = time.perf_counter() - started

    assert elapsed < 2.5
    assert body["data"] == {"product": {"name": "Table", "inStock": None}}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "SUBGRAPH_TIMEOUT"
    assert error["path"] == ["product", "inStock"]


async def test_mutation_root_fields_run_serially_in_order(shop_gateway: Shop) -> None:
    query = """
      mutation {
        first: addReview(upc: "p1", body: "one") { body }
        rename: renameProduct(upc: "p1", name: "Desk") { name }
        second: addReview(upc: "p1", body: "two") { body product { name } }
      }
    """
    body = await shop_gateway.run(query)

    assert body == {
        "data": {
            "first": {"body": "one"},
            "rename": {"name": "Desk"},
            "second": {"body": "two", "product": {"name": "Desk (cached)"}},
        }
    }
    assert shop.MUTATION_LOG == ["reviews.add:one", "products.rename:Desk", "reviews.add:two"]
    assert shop_gateway.counts() == {"reviews": 2, "products": 1}


async def test_adjacent_mutations_on_one_subgraph_share_a_request(shop_gateway: Shop) -> None:
    body = await shop_gateway.run(
        'mutation { a: addReview(upc: "p2", body: "x") { body } '
        'b: addReview(upc: "p2", body: "y") { body } }'
    )

    assert body == {"data": {"a": {"body": "x"}, "b": {"body": "y"}}}
    assert shop.MUTATION_LOG == ["reviews.add:x", "reviews.add:y"]
    assert shop_gateway.counts() == {"reviews": 1}


async def test_headers_are_forwarded_to_every_subgraph(shop_gateway: Shop) -> None:
    headers = {
        "authorization": "Bearer abc",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "x-request-id": "req-1",
    }
    await shop_gateway.run("{ topProducts(first: 1) { reviews { body } } }", headers=headers)

    for name in ("products", "reviews"):
        received = shop_gateway.controls[name].last_headers
        assert {k: received[k] for k in headers} == headers


async def test_plans_are_cached_per_document_and_operation(shop_gateway: Shop) -> None:
    query = "query A { topProducts { name } } query B { reviews { body } }"
    await shop_gateway.run(query, operation_name="A")
    await shop_gateway.run(query, operation_name="A")
    await shop_gateway.run(query, operation_name="B")

    assert len(shop_gateway.gateway.plans) == 2
    assert shop_gateway.gateway.plans.hits == 1


async def test_operation_name_is_required_with_several_operations(shop_gateway: Shop) -> None:
    response = await shop_gateway.gateway.execute("query A { me { id } } query B { me { id } }")

    assert response.status == 400
    assert response.body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_bad_variables_are_rejected_before_any_fetch(shop_gateway: Shop) -> None:
    response = await shop_gateway.gateway.execute(
        "query($n: Int!) { topProducts(first: $n) { name } }", {"n": "many"}
    )

    assert response.status == 400
    error = response.body["errors"][0]
    assert "$n" in error["message"]
    # The caller's input, coded as the services code theirs, naming the variable.
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "variablePath": ["n"]}
    assert shop_gateway.counts() == {}

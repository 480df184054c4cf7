"""The fast shaper agrees with graphql-core's executor on the same merged subgraph data."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.collect import FieldCollector
from gateway.executor import execute_plan
from gateway.planner import build_plan
from gateway.shaping import Shaper, shape_with_introspection
from tests.integration.gateway.conftest import Shop

pytestmark = pytest.mark.asyncio

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("{ topProducts { upc name price variant { id } } }", {}),
    ("{ t: topProducts(first: 2) { n: name reviews { body author { username } } } }", {}),
    ("{ reviews { id product { name inStock shippingEstimate } } }", {}),
    (
        "fragment M on Media { title } { media { __typename ...M ... on Book { reviewCount } } }",
        {},
    ),
    (
        "query($t: String!) { search(text: $t) { ... on Product { name } ... on Book { title } } }",
        {"t": "a"},
    ),
    ('{ failing product(upc: "p1") { brokenPrice } }', {}),
    ("{ mustNotFail topProducts { name } }", {}),
    ("{ topProducts { name reviewSummary } }", {}),
    ('{ product(upc: "p1") { name reviews { id rating } } }', {}),
    ("{ reviews { rating } }", {}),
    (
        'query($on: Boolean!) { product(upc: "p2") { name @include(if: $on) upc } }',
        {"on": False},
    ),
]


@pytest.mark.parametrize(("query", "variables"), QUERIES)
async def test_fast_shaper_matches_graphql_core(
    shop_gateway: Shop, query: str, variables: dict[str, Any]
) -> None:
    gateway = shop_gateway.gateway
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    plan = build_plan(gateway.supergraph, operation, fragments, variables)
    state = await execute_plan(plan, gateway.client, variables)
    merged = copy.deepcopy(state.data)
    collector = FieldCollector(gateway.supergraph, fragments, variables)

    fast = Shaper(gateway.supergraph.api_schema, operation, collector).shape(state.data)
    reference = shape_with_introspection(
        gateway.supergraph.api_schema, document, merged, variables, None
    )

    assert fast == reference

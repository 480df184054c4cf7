"""Routing decisions in plans (no HTTP): which subgraph gets which selection, in which step."""

from __future__ import annotations

from graphql import OperationDefinitionNode, parse

from gateway.plan import Selection, conflict_alias, fragment_conflicts, internal_key
from gateway.planner import build_plan
from tests.integration.gateway.federation.harness import supergraph_of


def _requests(case: str, query: str, labels: frozenset[str] = frozenset()) -> list[list[str]]:
    """Per step, `graph: operation` of each request."""
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    plan = build_plan(supergraph_of(case), operation, {}, {}, labels)
    (phase,) = plan.phases
    return [[f"{r.graph}: {r.operation}" for r in step] for step in phase.steps]


def test_each_abstract_branch_carries_its_own_key() -> None:
    steps = _requests(
        "abstract_keys", "{ products { id reviews { product { id ... on Magazine { sku } } } } }"
    )

    assert len(steps) == 3
    (reviews,) = steps[1]
    # The client's own `id` of each branch is the key (no internal copy needed).
    assert "... on Book { id } ... on Magazine { id }" in reviews
    (products,) = steps[2]
    assert products.startswith("products: ")
    assert "... on Magazine { sku }" in products


def test_interface_object_root_asks_no_typename() -> None:
    steps = _requests("interface_objects", "{ accounts { name } }")

    assert steps == [["b: query { accounts { name } }"]]


def test_typename_resolution_goes_to_the_entity_interface() -> None:
    steps = _requests("interface_objects", "{ accounts { ... on Admin { isMain } } }")

    assert steps[0] == ["b: query { accounts { _k_id: id } }"]
    (resolve,) = steps[1]
    assert resolve.startswith("a: ")
    assert "... on Account { __typename ... on Admin { isMain } }" in resolve


def test_requires_under_the_requiring_subgraph_is_a_second_fetch() -> None:
    steps = _requests("requires_parent", "{ a { city } }")

    assert [len(step) for step in steps] == [1, 1, 1]
    assert steps[0][0].startswith("places: ")
    assert steps[1][0].startswith("addresses: ")
    assert "city" in steps[2][0] and steps[2][0].startswith("places: ")


def test_requires_arguments_get_their_own_internal_keys() -> None:
    steps = _requests("requires_arguments", "{ goods { estimateUsd estimateEur } }")

    (catalog,) = steps[0]
    for currency in ("USD", "EUR"):
        arguments = f'(currency: "{currency}")'
        assert f"{internal_key('price', arguments)}: price{arguments}" in catalog
    (shipping,) = steps[1]
    assert shipping.count("_entities") == 2


def test_shared_root_without_keys_is_split_by_subgraph() -> None:
    steps = _requests("shared_root", "{ rows { name price } }")

    assert sorted(steps[0]) == [
        "root_names: query { rows { name } }",
        "root_prices: query { rows { price } }",
    ]


def test_value_type_is_reached_through_its_parent() -> None:
    steps = _requests("parent_value_type", "{ shopItems { category { details } } }")

    (entity,) = steps[1]
    assert "... on Item { category { details } }" in entity


def test_progressive_label_changes_the_route() -> None:
    off = _requests("override", "{ order { shipping } }")
    on = _requests("override", "{ order { shipping } }", frozenset({"new-shipping"}))

    assert off == [["old: query { order { shipping } }"]]
    assert [len(step) for step in on] == [1, 1]
    assert on[1][0].startswith("new: ")


def test_conflicting_types_under_fragments_are_aliased() -> None:
    selection = Selection()
    selection.fragment("User").add("id", "id", "", "ID!", composite=False)
    selection.fragment("Admin").add("id", "id", "", "ID", composite=False)
    selection.fragment("Admin").add("name", "name", "", "String", composite=False)

    renamed = fragment_conflicts(selection)

    assert renamed == {"id"}
    rendered = selection.render(renamed)
    assert f"{conflict_alias('id', 'ID!')}: id" in rendered
    assert f"{conflict_alias('id', 'ID')}: id name" in rendered


def test_same_types_under_fragments_are_left_alone() -> None:
    selection = Selection()
    selection.fragment("User").add("id", "id", "", "ID!", composite=False)
    selection.fragment("Admin").add("id", "id", "", "ID!", composite=False)

    assert fragment_conflicts(selection) == frozenset()

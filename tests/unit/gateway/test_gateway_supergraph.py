"""Supergraph loading: the routing model of federation features, and refusals at load time
that name the type, field and directive the gateway cannot execute."""

from __future__ import annotations

import pytest

from gateway.errors import SupergraphError
from gateway.override import OverrideLabels
from gateway.supergraph import load_supergraph
from tests.integration.gateway.federation.harness import CASES

INTERFACE_OBJECTS = (CASES / "interface_objects.graphql").read_text()
OVERRIDE = (CASES / "override.graphql").read_text()
MEMBERSHIP = (CASES / "membership.graphql").read_text()


def test_interface_objects_and_entity_interfaces_are_read() -> None:
    supergraph = load_supergraph(INTERFACE_OBJECTS)

    account = supergraph.types["Account"]
    assert account.interface_objects == {"b", "c"}
    assert account.keys == {"a": ["id"], "b": ["id"], "c": ["id"]}
    assert set(account.possible_types) == {"Admin", "Regular"}
    assert "b" not in account.graph_possible  # b cannot tell the implementations apart
    # Added by the interface object to every implementation, resolved by no one directly.
    assert supergraph.types["Admin"].fields["name"].owners == ()
    assert account.fields["name"].owners == ("b",)


def test_membership_is_per_subgraph() -> None:
    supergraph = load_supergraph(MEMBERSHIP)

    assert supergraph.types["Node"].graph_possible == {"kitchen": ("Toaster",), "shop": ("Oven",)}
    assert supergraph.types["Item"].graph_possible == {
        "kitchen": ("Toaster",),
        "shop": ("Toaster", "Oven"),
    }


def test_progressive_override_owners_follow_the_labels() -> None:
    supergraph = load_supergraph(OVERRIDE)
    shipping = supergraph.types["Order"].fields["shipping"]

    assert supergraph.labels == {"new-shipping", "percent(100)", "percent(0)"}
    assert shipping.owners_for(frozenset()) == ("old",)
    assert shipping.owners_for(frozenset({"new-shipping"})) == ("new",)
    assert supergraph.types["Order"].fields["status"].owners == ("new",)


def test_override_labels_draw_percentages_and_honour_enabled_ones() -> None:
    labels = OverrideLabels(
        frozenset({"percent(100)", "percent(0)", "flag", "other"}), frozenset({"flag"})
    )

    for _ in range(50):
        assert labels.active() == {"percent(100)", "flag"}


def test_half_and_half_is_drawn_per_request() -> None:
    labels = OverrideLabels(frozenset({"percent(50)"}), frozenset())

    drawn = [bool(labels.active()) for _ in range(400)]

    assert 100 < sum(drawn) < 300


def _with_schema_link(sdl: str, link: str) -> str:
    return sdl.replace("schema @link(", f"schema {link} @link(", 1)


def test_security_spec_it_cannot_enforce_is_refused() -> None:
    sdl = _with_schema_link(
        OVERRIDE, '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)'
    )
    sdl = sdl.replace("total: Int", "total: Int @authenticated", 1)

    with pytest.raises(SupergraphError) as refused:
        load_supergraph(sdl)

    message = str(refused.value)
    assert "Order.total" in message
    assert "@authenticated" in message
    assert "for: SECURITY" in message


def test_from_context_is_refused() -> None:
    sdl = OVERRIDE.replace(
        "total: Int",
        'total: Int @join__field(graph: OLD, contextArguments: [{context: "c", name: "n", '
        'type: "String", selection: "x"}])',
        1,
    )

    with pytest.raises(SupergraphError, match=r"Order\.total uses @fromContext"):
        load_supergraph(sdl)


def test_join_directive_is_refused() -> None:
    sdl = OVERRIDE.replace(
        "total: Int",
        'total: Int @join__directive(graphs: [OLD], name: "connect", args: {})',
        1,
    )

    with pytest.raises(SupergraphError, match=r"Order\.total uses @connect"):
        load_supergraph(sdl)


def test_execution_spec_linked_but_unused_is_refused_all_the_same() -> None:
    sdl = _with_schema_link(
        OVERRIDE, '@link(url: "https://specs.apollo.dev/connect/v0.1", for: EXECUTION)'
    )

    with pytest.raises(SupergraphError, match="the schema links @connect"):
        load_supergraph(sdl)


def test_specs_without_a_purpose_are_ignored() -> None:
    sdl = _with_schema_link(OVERRIDE, '@link(url: "https://specs.apollo.dev/tag/v0.3")')

    assert load_supergraph(sdl).types["Order"].fields["total"].owners == ("old",)

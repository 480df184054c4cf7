"""Representations built from merged objects, and conflict aliases undone in answers."""

from __future__ import annotations

from typing import Any

from gateway.executor import FieldError, _collect_targets, _rename
from gateway.plan import (
    Fetch,
    RepresentationField,
    Selection,
    conflict_alias,
    merge_representation,
)

KEY = RepresentationField("_k_id", "id", key=True)


def _fetch(**changes: Any) -> Fetch:
    fields = changes.pop("representation", {"id": KEY})
    return Fetch(
        "b", Selection(), "Book", ("items",), is_entity=True, representation=fields, **changes
    )


def test_null_or_failed_keys_are_left_out() -> None:
    data = {
        "items": [
            {"__typename": "Book", "_k_id": "b1"},
            {"__typename": "Book", "_k_id": None},
            {"__typename": "Book", "_k_id": FieldError("down")},
            {"__typename": "Book", "_k_id": "b1"},
        ]
    }

    targets = _collect_targets(data, _fetch())

    assert targets.representations == [{"id": "b1", "__typename": "Book"}]
    assert [path for path, _ in targets.objects[0]] == [("items", 0), ("items", 3)]


def test_matches_select_the_objects_of_the_fetch() -> None:
    data = {"items": [{"__typename": "Book", "_k_id": "b1"}, {"__typename": "Film", "_k_id": "f1"}]}

    assert len(_collect_targets(data, _fetch(matches=frozenset({"Book"}))).representations) == 1
    # None: the objects' type is not known (an interface object): every object goes.
    assert len(_collect_targets(data, _fetch(matches=None)).representations) == 2


def test_requires_fields_may_be_null_and_follow_fragments() -> None:
    data_field = RepresentationField(
        "_k_data",
        "data",
        (
            RepresentationField("_k_foo", "foo"),
            RepresentationField("_k_baz", "baz", types=frozenset({"Baz"})),
            RepresentationField("_k_qux", "qux", types=frozenset({"Qux"})),
        ),
        typename=True,
    )
    fetch = _fetch(
        representation={
            "id": KEY,
            "data": data_field,
            "note": RepresentationField("_k_note", "note"),
        }
    )
    data = {
        "items": [
            {
                "__typename": "Book",
                "_k_id": "b1",
                "_k_note": None,
                "_k_data": {"__typename": "Qux", "_k_foo": "f", "_k_qux": "q", "_k_baz": "x"},
            }
        ]
    }

    (representation,) = _collect_targets(data, fetch).representations

    assert representation == {
        "id": "b1",
        "data": {"foo": "f", "qux": "q", "__typename": "Qux"},
        "note": None,
        "__typename": "Book",
    }


def test_merged_representation_fields_unite_their_children() -> None:
    first = RepresentationField("_k_a", "a", (RepresentationField("_k_x", "x"),))
    second = RepresentationField("_k_a", "a", (RepresentationField("_k_y", "y"),), key=True)

    merged = merge_representation(first, second)

    assert [c.name for c in merged.children] == ["x", "y"]
    assert merged.key


def test_conflict_aliases_are_renamed_back() -> None:
    answer = {
        "accounts": [
            {"__typename": "User", conflict_alias("id", "ID!"): "u1"},
            {"__typename": "Admin", conflict_alias("id", "ID"): "a1", "x__t_other": 1},
        ]
    }

    _rename(answer, frozenset({"id"}))

    assert answer == {
        "accounts": [
            {"__typename": "User", "id": "u1"},
            {"__typename": "Admin", "id": "a1", "x__t_other": 1},
        ]
    }


def test_a_key_the_client_selected_is_read_under_its_own_name() -> None:
    data = {"items": [{"__typename": "Book", "id": "b1"}, {"__typename": "Book", "_k_id": "b2"}]}

    targets = _collect_targets(data, _fetch())

    assert targets.representations == [
        {"id": "b1", "__typename": "Book"},
        {"id": "b2", "__typename": "Book"},
    ]

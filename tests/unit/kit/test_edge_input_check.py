"""The edge walks a request's variables for control characters and over-long lists only when
their JSON text could hold one: the quick look at the text never misses what the walk
refuses, however the client wrote its JSON."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from crmkit.app import MAX_LIST_ITEMS, _may_hold_input_problem, input_problem

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


def encodings(value: Any) -> list[bytes]:
    """The same value as different clients write it."""
    return [
        orjson.dumps(value),
        json.dumps(value).encode(),
        json.dumps(value, ensure_ascii=False).encode(),
        json.dumps(value, indent=1).encode(),
    ]


@given(values)
def test_text_that_passes_the_quick_look_holds_nothing_to_refuse(value: Any) -> None:
    for raw in encodings({"variables": value}):
        if not _may_hold_input_problem(raw):
            assert input_problem(orjson.loads(raw), "v") is None


def test_each_kind_of_control_character_and_a_long_list_is_seen() -> None:
    for text in ["a\x00", "\x07", "\b", "\f", "\x1b[31m", "\x7f", "x\x0bx"]:
        for raw in encodings({"n": text}):
            assert _may_hold_input_problem(raw), raw
    for raw in encodings({"ids": list(range(MAX_LIST_ITEMS + 1))}):
        assert _may_hold_input_problem(raw)
    assert not _may_hold_input_problem(orjson.dumps({"n": "a\tb\r\nc é ✓", "ids": [1, 2]}))

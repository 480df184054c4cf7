"""The edge walks a request's variables for control characters and over-long lists only when
their JSON text could hold one: the quick look at the text never misses what the walk
refuses, however the client wrote its JSON. Control characters are the kit's one rule
(:mod:`crmkit.control_characters`): C0 but tab and line breaks, DEL, C1, lone surrogates."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.app import _decode
from crmkit.edge_input import MAX_LIST_ITEMS, input_problem
from crmkit.edge_input import may_hold_input_problem as _may_hold_input_problem

# Any code point, surrogates included, and the ones at the rule's edges more often.
characters = st.characters(exclude_categories=()) | st.sampled_from(
    "\x00\x07\x08\x0b\x0c\x1f\x7f\x80\x85\x9f\xa0\xc2\t\n\r\\\"é\u0100\ud7ff\ud800\udbff"
    "\udc00\udfff\ue000\U0001f600"
)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(characters),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


def encodings(value: Any) -> list[bytes]:
    """The same value as different clients write it (those that can: a lone surrogate has no
    UTF-8 form, and orjson refuses it)."""
    found = []
    for encode in (
        orjson.dumps,
        lambda v: json.dumps(v).encode(),
        lambda v: json.dumps(v, ensure_ascii=False).encode(),
        lambda v: json.dumps(v, indent=1).encode(),
        lambda v: every_character_escaped(v).encode(),
    ):
        with contextlib.suppress(TypeError, UnicodeEncodeError):
            found.append(encode(value))
    return found


def every_character_escaped(value: Any) -> str:
    """JSON with every character of every string but letters and digits written as
    ``\\uXXXX`` with capital hex digits, as some clients do."""
    if isinstance(value, str):
        units = value.encode("utf-16-be", "surrogatepass")
        return '"' + "".join(
            chr(unit) if chr(unit).isascii() and chr(unit).isalnum() else f"\\u{unit:04X}"
            for unit in (int.from_bytes(units[i:i + 2], "big") for i in range(0, len(units), 2))
        ) + '"'
    if isinstance(value, dict):
        return "{" + ",".join(f"{every_character_escaped(k)}:{every_character_escaped(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(every_character_escaped(item) for item in value) + "]"
    return json.dumps(value)


@given(values)
def test_text_that_passes_the_quick_look_holds_nothing_to_refuse(value: Any) -> None:
    for raw in encodings({"variables": value}):
        if not _may_hold_input_problem(raw):
            body = _decode(raw)  # what the edge reads: refused whole when not valid JSON
            assert body.invalid is not None or input_problem(body.payload, "v") is None, raw


@pytest.mark.parametrize("text", [
    "a\x00", "\x07", "\b", "\f", "\x1b[31m", "\x7f", "x\x0bx", "\x80", "next line \x85", "\x9f",
])
def test_each_kind_of_control_character_is_seen(text: str) -> None:
    for raw in encodings({"n": text}):
        assert _may_hold_input_problem(raw), raw
        assert input_problem(orjson.loads(raw), "v") is not None


def test_a_lone_surrogate_written_as_an_escape_is_no_json_to_the_edge() -> None:
    """So the quick look need not look for \\ud800-\\udfff (a pair, an emoji escaped, is
    common and fine)."""
    for text in ["\ud800", "a\udbff", "\udc00", "\udfffb"]:
        raw = json.dumps({"n": text}).encode()
        assert _decode(raw).invalid is not None, raw
    assert _decode(json.dumps({"n": "\U0001f600"}).encode()).payload == {"n": "\U0001f600"}


def test_a_long_list_is_seen_and_plain_text_is_not() -> None:
    for raw in encodings({"ids": list(range(MAX_LIST_ITEMS + 1))}):
        assert _may_hold_input_problem(raw)
    for raw in encodings({"n": "a\tb\r\nc é ✓ Zażółć \xa0 ©«»", "ids": [1, 2]}):
        if raw.isascii():
            continue  # \u00e9 escaped: a false alarm, only a walk
        assert not _may_hold_input_problem(raw), raw

from __future__ import annotations

import pytest

from crmkit import errors
from crmkit.graphql import (
    NotFound,
    ValidationError,
    VersionConflict,
    error_result,
    parse_uuid,
)
from crmkit.paging import decode_cursor, encode_cursor, page_size


def test_cursor_round_trip_and_tampering() -> None:
    cursor = encode_cursor("2026-01-01", "abc")
    assert decode_cursor(cursor, 2) == ["2026-01-01", "abc"]
    with pytest.raises(errors.InvalidInput):
        decode_cursor(cursor, 3)
    with pytest.raises(errors.InvalidInput):
        decode_cursor("%%%not-base64", 2)


def test_page_size_bounds() -> None:
    assert page_size(None) == 50
    assert page_size(0) == 0
    with pytest.raises(errors.InvalidInput):
        page_size(-1)
    with pytest.raises(errors.InvalidInput):
        page_size(10_000)


def test_parse_uuid_gives_a_field_error() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        parse_uuid("nope", "input.accountId")
    assert caught.value.problems[0].path == ("input", "accountId")


def test_kit_errors_map_to_graphql_types() -> None:
    collector = errors.ProblemCollector()
    collector.add("input.name", "must not be empty")
    collector.add("input.amount", "must be >= 0")
    with pytest.raises(errors.InvalidInput) as caught:
        collector.raise_if_any()
    result = error_result(caught.value)
    assert isinstance(result, ValidationError)
    assert [f.path for f in result.fields] == [["input", "name"], ["input", "amount"]]
    assert isinstance(error_result(errors.NotFoundError("Lead", "x")), NotFound)
    conflict = error_result(errors.VersionConflictError("Opportunity", 1, 4))
    assert isinstance(conflict, VersionConflict) and conflict.current_version == 4

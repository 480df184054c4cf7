"""A query's variable the API refused whole (a control character typed into a search box) is
a field error on the box it came from, not a failure of the CRM service (the page itself:
tests/e2e/web/test_pages.py)."""

from __future__ import annotations

from typing import Any

import pytest

from web.api import InvalidInput, _invalid_input, _not_found
from web.errors import refused_input


def test_a_refused_variable_is_a_field_error_on_its_box() -> None:
    invalid = _invalid_input([{
        "message": "text must not contain control characters (variables.filter.search)",
        "extensions": {"code": "BAD_USER_INPUT", "variablePath": ["filter", "search"],
                       "serviceName": "leads"}}])
    assert invalid is not None and invalid.path == ["filter", "search"]
    problem = refused_input(invalid, {"search": "q"})
    assert problem.fields == {"q": "text must not contain control characters"}
    assert refused_input(InvalidInput("too many", ["f", "tags", "3"])).fields == {
        "tags": "too many"}


def test_a_refused_argument_or_variable_is_the_callers_input() -> None:
    """A resolver's refusal names its fields; the gateway's refusal of a variable's value
    names the variable (an unknown status in an address was an error of the service)."""
    argument = _invalid_input([{
        "message": "after: is not a valid cursor",
        "extensions": {"code": "BAD_USER_INPUT",
                       "fields": [{"path": ["after"], "message": "is not a valid cursor"}]}}])
    assert argument is not None
    assert (argument.path, argument.problem) == (["after"], "is not a valid cursor")
    variable = _invalid_input([{
        "message": "Variable '$status' got invalid value 'x'; Value 'x' does not exist in "
                   "'LeadStatus' enum.",
        "extensions": {"code": "BAD_USER_INPUT", "variablePath": ["status"]}}])
    assert variable is not None and variable.path == ["status"]
    assert _not_found([{"message": "no such endpoint", "extensions": {"code": "NOT_FOUND"}}])
    assert not _not_found([{"message": "x", "extensions": {"code": "FORBIDDEN"}}])


@pytest.mark.parametrize("errors", [
    [{"message": "boom", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
    [{"message": "x", "extensions": {"code": "BAD_USER_INPUT", "fields": []}}],
    [{"message": "x (argument search)", "extensions": {"code": "BAD_USER_INPUT"}}],
    [{"message": "x", "extensions": {"code": "BAD_USER_INPUT", "variablePath": []}}],
    ["not an object"],
    [],
    None,
])
def test_anything_else_is_still_a_service_failure(errors: Any) -> None:
    assert _invalid_input(errors) is None

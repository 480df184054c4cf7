"""The bounds on an operation's text, checked while parsing (gateway and services)."""

from __future__ import annotations

import pytest
from graphql import GraphQLError

from crmkit.query_limits import MAX_REPEATS, OperationTooLarge, parse_bounded


def repeated(field: str, times: int) -> str:
    return " ".join([field] * times)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ " + repeated("me { id }", 6000) + " }", "more than 3000 tokens"),
        ("{ " + repeated("me { id }", MAX_REPEATS + 1) + " }", "'me' is selected 31 times"),
        # Inline fragments merge into their set, and the selections of one name merge too.
        ("{ " + repeated("... on Query { me { id } }", 40) + " }", "'me' is selected 40"),
        ("{ " + repeated("me { " + repeated("a", 10) + " }", 10) + " }", "'a' is selected 100"),
        ("{ ...F ...G } fragment F on Query { " + repeated("me { id }", 20)
         + " } fragment G on Query { " + repeated("me { id }", 20) + " }", "'me' is selected 40"),
    ],
)
def test_an_operation_past_a_bound_is_refused(query: str, message: str) -> None:
    with pytest.raises(OperationTooLarge, match=message):
        parse_bounded(query)


def test_ordinary_operations_pass() -> None:
    union = " ".join(f"... on E{n} {{ message }}" for n in range(12))
    parse_bounded("mutation { convertLead(id: 1) { __typename " + union + " } }")
    parse_bounded("{ me { id } me { name } ...F } fragment F on Query { me { id } }")


def test_a_fragment_inside_itself_ends_and_is_left_to_validation() -> None:
    parse_bounded("{ ...F } fragment F on Query { me { ...F } }")


def test_a_syntax_error_stays_a_syntax_error() -> None:
    with pytest.raises(GraphQLError):
        parse_bounded("{ me { id }")

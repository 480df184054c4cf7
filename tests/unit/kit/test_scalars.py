"""Every subgraph's ``Date`` and ``DateTime``: the texts strawberry's own scalars take, parsed
alike; a text they refuse answered with what is expected, not the parser's own words."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import strawberry

from crmkit.graphql import build_schema

pytestmark = pytest.mark.asyncio


@strawberry.type
class Query:
    @strawberry.field
    def moment(self, at: datetime) -> str:
        return at.isoformat()

    @strawberry.field
    def day(self, on: date) -> str:
        return on.isoformat()


SCHEMA = build_schema(query=Query)
PLAIN = strawberry.federation.Schema(query=Query)


@pytest.mark.parametrize("text", [
    "2026-12-07T09:30:00+01:00", "2026-12-07T09:30:00Z", "2026-12-07T09:30:00",
    "2026-12-07", "20261207T093000+0100"])
async def test_a_date_and_time_is_taken_as_strawberry_takes_it(text: str) -> None:
    query = "query($at: DateTime!) { moment(at: $at) }"
    ours = await SCHEMA.execute(query, variable_values={"at": text})
    theirs = await PLAIN.execute(query, variable_values={"at": text})
    assert ours.errors is None and ours.data == theirs.data


@pytest.mark.parametrize(("query", "value", "expected"), [
    ("query($v: DateTime!) { moment(at: $v) }", "sqlalchemy.url",
     "Expected a date and time with its offset such as 2026-12-07T09:30:00+01:00."),
    ("query($v: DateTime!) { moment(at: $v) }", 20261207,
     "Expected a date and time with its offset such as 2026-12-07T09:30:00+01:00."),
    ("query($v: Date!) { day(on: $v) }", "7.12.2026", "Expected a date such as 2026-12-07."),
])
async def test_a_text_that_is_none_says_what_is_expected(
    query: str, value: object, expected: str
) -> None:
    result = await SCHEMA.execute(query, variable_values={"v": value})
    assert result.errors is not None and len(result.errors) == 1
    message = result.errors[0].message
    assert expected in message and "int()" not in message and "isoformat" not in message

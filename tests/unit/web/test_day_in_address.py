"""A date in a page's address: one the API takes, else none (the page's default)."""

from __future__ import annotations

import datetime as dt

import pytest

from web.context import day_in_address


def test_a_date_the_api_takes_is_read() -> None:
    assert day_in_address("2026-12-07") == dt.date(2026, 12, 7)
    assert day_in_address("1970-01-01") == dt.date(1970, 1, 1)
    assert day_in_address("9000-12-31") == dt.date(9000, 12, 31)


@pytest.mark.parametrize("raw", [None, "", "7.12.2026", "2026-13-01", "0001-01-01",
                                 "1969-12-31", "9001-01-01", "9999-12-31"])
def test_anything_else_is_no_date(raw: str | None) -> None:
    assert day_in_address(raw) is None

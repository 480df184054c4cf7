"""Keyset pages: one cursor format and one PageInfo meaning for every connection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crmkit.errors import InvalidInput
from crmkit.graphql import PageInfo
from crmkit.paging import (
    MAX_PAGE_SIZE,
    Keyset,
    PageRequest,
    decode_keyset,
    keyset_cursor,
    page_of,
    page_request,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
ROWS: list[Keyset] = [(START + timedelta(minutes=i), uuid.uuid4()) for i in range(5)]


def test_a_cursor_names_its_row_key() -> None:
    assert decode_keyset(keyset_cursor(ROWS[2])) == ROWS[2]


def test_the_first_page_has_nothing_before_it() -> None:
    request = page_request(2, None)
    page = page_of(ROWS[: request.fetch], request, key=lambda row: row)
    assert page.items == ROWS[:2]
    assert PageInfo.of(page) == PageInfo(
        has_next_page=True, has_previous_page=False,
        start_cursor=keyset_cursor(ROWS[0]), end_cursor=keyset_cursor(ROWS[1]),
    )
    assert page.edges(lambda cursor, row: (cursor, row)) == [
        (keyset_cursor(ROWS[0]), ROWS[0]), (keyset_cursor(ROWS[1]), ROWS[1])]


def test_a_page_after_a_cursor_has_rows_before_it_and_the_last_has_none_after() -> None:
    request = page_request(3, keyset_cursor(ROWS[1]))
    assert request == PageRequest(first=3, after=ROWS[1])
    page = page_of(ROWS[2:], request, key=lambda row: row)  # 3 rows: exactly the rest
    assert (page.has_next_page, page.has_previous_page) == (False, True)


def test_an_empty_page_has_no_cursors() -> None:
    page = page_of([], page_request(0, None), key=lambda row: row)
    assert PageInfo.of(page) == PageInfo(
        has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None)


def test_bad_arguments_are_all_refused_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        page_request(MAX_PAGE_SIZE + 1, "garbage!")
    assert {p.path for p in caught.value.problems} == {("first",), ("after",)}
    with pytest.raises(InvalidInput):
        page_request(-1, None)
    with pytest.raises(InvalidInput):
        page_request(None, keyset_cursor(ROWS[0])[:-4] + "AAAA")

"""In-memory keyset pages (``crmkit.testing.paging``), as fake repositories read them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from crmkit.paging import Keyset, PageRequest
from crmkit.testing.paging import keyset_page

START = datetime(2026, 1, 1, tzinfo=UTC)
KEYS: list[Keyset] = [(START + timedelta(minutes=i % 3), uuid.UUID(int=i)) for i in range(7)]


def _key(k: Keyset) -> Keyset:
    return k


def test_oldest_first_pages_walk_every_row_once_in_key_order() -> None:
    seen: list[Keyset] = []
    after: Keyset | None = None
    while True:
        rows = keyset_page(reversed(KEYS), _key, PageRequest(first=2, after=after))
        seen += rows[:2]
        if len(rows) <= 2:
            break
        after = rows[1]
    assert seen == sorted(KEYS)


def test_newest_first_pages_start_after_the_cursor_going_back() -> None:
    ordered = sorted(KEYS, reverse=True)
    assert keyset_page(KEYS, _key, PageRequest(first=2), newest_first=True) == ordered[:3]
    page = keyset_page(KEYS, _key, PageRequest(first=2, after=ordered[2]), newest_first=True)
    assert page == ordered[3:6]


def test_a_page_of_none_still_reads_one_row_to_tell_whether_more_follow() -> None:
    assert keyset_page(KEYS, _key, PageRequest(first=0)) == [min(KEYS)]

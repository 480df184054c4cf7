"""Keyset pages of in-memory rows, read as the SQL repositories read theirs: in the
connection's key order, strictly after ``page.after``, ``page.fetch`` rows (one more than the
page, so the caller knows whether more follow). Fake repositories page with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from crmkit.paging import Keyset, PageRequest

T = TypeVar("T")


def keyset_page(
    rows: Iterable[T], key: Callable[[T], Keyset], page: PageRequest, *,
    newest_first: bool = False,
) -> list[T]:
    """``rows`` ordered by ``key`` (descending when ``newest_first``), those after
    ``page.after`` in that order, at most ``page.fetch`` of them."""
    ordered = sorted(rows, key=key, reverse=newest_first)
    after = page.after
    if after is not None:
        ordered = [r for r in ordered if (key(r) < after if newest_first else key(r) > after)]
    return ordered[: page.fetch]

"""Keyset pages for every Relay connection: one cursor format and one ``PageInfo`` meaning.

A connection lists rows in a keyset order ``(timestamp, id)`` ascending (``created_at`` of
documents and leads, ``due_at`` of activities...). A cursor names a row's key; ``after`` asks
for the rows strictly after it. ``PageInfo``:

- ``hasNextPage``: rows follow this page (the repository fetches ``first + 1`` to know);
- ``hasPreviousPage``: the page was asked ``after`` a cursor (rows come before it);
- ``startCursor`` / ``endCursor``: the first and last edge's cursor, null on an empty page.

Handlers turn the arguments into a :class:`PageRequest` (:func:`page_request`, which refuses
a bad ``first`` or a tampered ``after`` with ``InvalidInput``), repositories read
``request.fetch`` rows after ``request.after``, and :func:`page_of` cuts them into a
:class:`Page`. The GraphQL layer maps its items to edges with :meth:`Page.edges` and its
``pageInfo`` with :meth:`crmkit.graphql.PageInfo.of`. No IO and no GraphQL here: handlers
use it.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from crmkit import errors

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

Keyset = tuple[datetime, uuid.UUID]
"""A row's place in a connection's order: ``(timestamp, id)``."""

T = TypeVar("T")
E = TypeVar("E")


def encode_cursor(*parts: object) -> str:
    raw = "|".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, arity: int) -> list[str]:
    """Parts of a cursor made by :func:`encode_cursor`; ``InvalidInput`` when tampered with."""
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise errors.InvalidInput.field("after", "is not a valid cursor") from None
    if len(parts) != arity:
        raise errors.InvalidInput.field("after", "is not a valid cursor")
    return parts


def keyset_cursor(key: Keyset) -> str:
    return encode_cursor(key[0].isoformat(), key[1])


def decode_keyset(cursor: str) -> Keyset:
    """The key a cursor of :func:`keyset_cursor` names; ``InvalidInput`` when tampered with."""
    at, raw_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(raw_id)
    except ValueError:
        raise errors.InvalidInput.field("after", "is not a valid cursor") from None


def page_size(first: int | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    size = default if first is None else first
    if size < 0 or size > MAX_PAGE_SIZE:
        raise errors.InvalidInput.field("first", f"must be between 0 and {MAX_PAGE_SIZE}")
    return size


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``first`` rows after the key ``after`` (None: from the start)."""

    first: int
    after: Keyset | None = None

    @property
    def fetch(self) -> int:
        """How many rows a repository reads: one more than the page, to know whether more
        follow."""
        return self.first + 1


def page_request(
    first: int | None, after: str | None, *, default: int = DEFAULT_PAGE_SIZE
) -> PageRequest:
    """The request the connection arguments make; every problem as ``InvalidInput``."""
    problems = errors.ProblemCollector()
    size: int | None = None
    key: Keyset | None = None
    try:
        size = page_size(first, default)
    except errors.InvalidInput as error:
        problems.problems.extend(error.problems)
    if after is not None:
        try:
            key = decode_keyset(after)
        except errors.InvalidInput as error:
            problems.problems.extend(error.problems)
    problems.raise_if_any()
    assert size is not None
    return PageRequest(first=size, after=key)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a connection: its items, each item's cursor, and what lies around it."""

    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None

    def edges(self, edge: Callable[[str, T], E]) -> list[E]:
        """``edge(cursor, item)`` for every item, in order."""
        return [edge(c, i) for c, i in zip(self.cursors, self.items, strict=True)]


def page_of(rows: Sequence[T], request: PageRequest, key: Callable[[T], Keyset]) -> Page[T]:
    """The page ``rows`` (read with ``request.fetch``) make."""
    items = list(rows[: request.first])
    cursors = [keyset_cursor(key(item)) for item in items]
    return Page(
        items=items,
        cursors=cursors,
        has_next_page=len(rows) > request.first,
        has_previous_page=request.after is not None,
    )

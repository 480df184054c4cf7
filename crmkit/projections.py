"""Read models of other services' events, kept in a service's own tables.

Each row holds the aggregate version of the newest event written into it. Events of one
aggregate may arrive out of order (a redelivery after a later event), so a write is an upsert
that an older event loses: it changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert, insert


def upsert_newer(
    table: Table, values: Mapping[str, Any], key: Sequence[str], *,
    version: str = "version", or_same: bool = False,
) -> Insert:
    """Insert the row ``values``, or overwrite the one held (all but its ``key`` columns) when
    ``values[version]`` is newer than its version; ``or_same``: or equal, so that a
    redelivered event writes its row again."""
    statement = insert(table).values(dict(values))
    held, incoming = table.c[version], statement.excluded[version]
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: statement.excluded[name] for name in values if name not in key},
        where=held <= incoming if or_same else held < incoming,
    )

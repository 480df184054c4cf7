"""Control characters in text: no field of the CRM takes them, and none reaches a handler or
a database.

One rule (:data:`CONTROL_CHARACTERS`), answered in two ways:

- a mutation whose result union holds ``ValidationError`` answers that member, naming each
  argument path that holds one, like any other invalid input of that mutation, before its
  resolver runs (:func:`crmkit.graphql.answer_control_characters`, on every schema the kit
  builds);
- everything else (queries, mutations with no such member, arguments of fields below a
  mutation's root field, variables not only used by such a mutation's arguments) is refused
  whole at the service edge with a ``BAD_USER_INPUT`` error before anything runs
  (:mod:`crmkit.app`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# NUL and the other control characters but tab, line feed and carriage return: PostgreSQL
# refuses NUL in text (its error held the SQL and the parameters), and no field of the CRM
# takes the others.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

MESSAGE = "text must not contain control characters"


def paths_holding_control_characters(
    value: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """The path of every string in ``value`` (argument values as GraphQL coerced them:
    strings, lists, input objects as dicts keyed by their GraphQL field names) holding a
    control character, in order: ``("input", "tags", "1")``."""
    if isinstance(value, str):
        if CONTROL_CHARACTERS.search(value):
            yield path
        return
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield from paths_holding_control_characters(item, (*path, str(key)))

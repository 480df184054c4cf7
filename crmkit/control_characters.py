"""Control characters in text: no field of the CRM takes them, and none reaches a handler or
a database.

One rule, defined here and nowhere else: :data:`CONTROL_CHARACTERS` (text that may span
lines: tab, line feed and carriage return allowed) and :data:`CONTROL_CHARACTERS_ONE_LINE`
(those refused too). :func:`crmkit.values.clean_text` applies it to every text value a
domain keeps; before that it is answered in two ways:

- a mutation whose result union holds ``ValidationError`` answers that member, naming each
  argument path that holds one, like any other invalid input of that mutation, before its
  resolver runs (:func:`crmkit.graphql.answer_control_characters`, on every schema the kit
  builds);
- everything else (queries, mutations with no such member, arguments of fields below a
  mutation's root field, variables not only used by such a mutation's arguments) is refused
  whole at the service edge with a ``BAD_USER_INPUT`` error before anything runs
  (:mod:`crmkit.edge_input`), which looks at a request's JSON text first
  (:func:`json_may_hold_control_characters`) to walk its variables only when they may hold
  one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# C0 controls but tab, line feed and carriage return (PostgreSQL refuses NUL in text, and its
# error held the SQL and the parameters), DEL, C1 controls, and lone surrogates (no UTF-8
# form: PostgreSQL and every JSON encoder of ours refuse them). No field of the CRM takes any.
_REFUSED = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
CONTROL_CHARACTERS = re.compile(f"[{_REFUSED}]")
"""What no text holds; tab, line feed and carriage return are allowed (multi-line text)."""
CONTROL_CHARACTERS_ONE_LINE = re.compile(f"[\\t\\n\\r{_REFUSED}]")
"""What no one-line text holds: :data:`CONTROL_CHARACTERS`, tab and line breaks."""

MESSAGE = "text must not contain control characters"

# The same rule in JSON text. A JSON string cannot hold U+0000-U+001F as themselves: they
# are escaped, as \u00XX, \b or \f (\t, \n, \r are allowed anyway). DEL and the C1 controls
# may stand as themselves (C1 in UTF-8: \xc2\x80-\xc2\x9f, \xc2 being only ever a lead byte)
# or as \u00XX. A lone surrogate can only be written as an escape (\ud800-\udfff), and the
# edge's parser (orjson) refuses such a body whole. A false alarm (\u00e9, an escaped
# backslash before b or f) only costs a walk over the values.
_ESCAPED = re.compile(rb"\\(?:u00|[bf])")
_C1 = re.compile(b"\xc2[\x80-\x9f]")


def json_may_hold_control_characters(raw: bytes) -> bool:
    """Whether JSON text (as the edge's parser accepts it) may hold a string with a control
    character; False means none of its strings does. Each regular expression runs only when
    the byte it starts with is there at all (most bodies hold neither). ``find``, not ``in``:
    ``in`` on bytes first tries its operand as an integer, raising and dropping a TypeError
    each time."""
    return (
        raw.find(b"\x7f") >= 0
        or (raw.find(b"\\") >= 0 and _ESCAPED.search(raw) is not None)
        or (raw.find(b"\xc2") >= 0 and _C1.search(raw) is not None)
    )


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

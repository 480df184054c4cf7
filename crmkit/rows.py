"""Values built from the same-named attributes of another: a domain record from its database
row, an event from the record it announces, a read-model record from an event.

The target's own fields are the one list of names; a mapping names only what differs (a
converted value, a renamed column). Every field must be found: a field neither given nor on
the source is an error naming it, never a default taken silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


_FIELDS: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """The names ``cls`` is built from: a dataclass's ``__init__`` fields or a pydantic
    model's fields (read once per class)."""
    names = _FIELDS.get(cls)
    if names is None:
        if dataclasses.is_dataclass(cls):
            names = tuple(f.name for f in dataclasses.fields(cls) if f.init)
        elif isinstance(fields := getattr(cls, "model_fields", None), Mapping):
            names = tuple(fields)
        else:
            raise TypeError(f"{cls.__name__} is neither a dataclass nor a pydantic model")
        _FIELDS[cls] = names
    return names


def build(cls: type[T], source: object, /, **given: Any) -> T:
    """``cls`` with each field from ``given``, else from the attribute of ``source`` of the
    same name (a row's column, another record's field)."""
    return _made(cls, given, lambda name: getattr(source, name), type(source).__name__)


class Columns(Protocol):
    """A row read by column name: ``row._mapping`` of SQLAlchemy, an asyncpg record, a dict."""

    def __getitem__(self, key: str, /) -> Any: ...


def from_columns(cls: type[T], row: Columns, /, **given: Any) -> T:
    """``cls`` with each field from ``given``, else from the column of ``row`` of the same
    name (for rows read by name only, such as asyncpg's records)."""
    return _made(cls, given, row.__getitem__, "the row")


def _made(cls: type[T], given: dict[str, Any], read: Callable[[str], Any], source: str) -> T:
    names = field_names(cls)
    unknown = given.keys() - set(names) if given else ()
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    values = dict(given)
    missing = []
    for name in names:
        if name not in values:
            try:
                values[name] = read(name)
            except (AttributeError, KeyError):
                missing.append(name)
    if missing:
        raise TypeError(f"{cls.__name__}: {source} has no {', '.join(missing)}")
    return cls(**values)


def values_of(
    record: object, /, *, omit: Iterable[str] = (), **given: Any
) -> dict[str, Any]:
    """A record's fields by name (a row's values to write), but those in ``omit``, with
    ``given`` in place of (or beside) the record's own."""
    left_out = set(omit)
    values = {name: getattr(record, name) for name in field_names(type(record))
              if name not in left_out}
    values.update(given)
    return values

"""Hypothesis strategies for the shared value types and the event contracts.

:func:`events` draws events a producer may build: every field within its contract's rules
(names within their bounds, any ISO 4217 currency with an amount of its decimal places, any
literal, optional fields sometimes absent). Consumers must accept every one of them.
"""

from __future__ import annotations

import datetime as dt
import types
import uuid
from collections.abc import Sequence
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, StringConstraints
from pydantic.fields import FieldInfo

from crmkit.contracts import Envelope, Event
from crmkit.values import CURRENCIES, MAX_AMOUNT, Currency, amount, clean_text, currency_code

currencies = st.sampled_from(sorted(CURRENCIES)).map(Currency.of)

# Printable text with the awkward parts: Polish letters, emoji, spaces around it.
_letters = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
# Any text PostgreSQL stores: everything but NUL (UTF-8 has no lone surrogates).
_storable = st.characters(codec="utf-8", exclude_characters="\x00")


def texts(max_length: int) -> st.SearchStrategy[str]:
    """Text :func:`crmkit.values.clean_text` accepts with this bound."""
    return st.text(_letters, min_size=1, max_size=max_length).map(str.strip).filter(bool)


def amounts(currency: Currency) -> st.SearchStrategy[Decimal]:
    """Amounts of ``currency``: non-negative, below 10^15, with its decimal places."""
    return st.decimals(
        min_value=0, max_value=MAX_AMOUNT - 1, places=currency.places,
        allow_nan=False, allow_infinity=False,
    ).map(amount)


def _constrained(base: Any, metadata: Sequence[Any]) -> st.SearchStrategy[Any]:
    """A strategy for ``base`` within the constraints pydantic keeps as ``metadata``."""
    for meta in metadata:
        check = meta.func if isinstance(meta, AfterValidator) else None
        if isinstance(check, partial) and check.func is clean_text:
            return texts(check.keywords["max_length"])
        if check is currency_code:
            return currencies.map(str)
        if check is amount:
            return st.decimals(min_value=0, max_value=MAX_AMOUNT - 1, places=2).map(amount)
        if isinstance(meta, StringConstraints) and meta.max_length is not None:
            return st.text(_storable, max_size=min(meta.max_length, 40))
    low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
    if isinstance(low, int) or isinstance(high, int):
        assert isinstance(low, int | None) and isinstance(high, int | None)
        return st.integers(min_value=low, max_value=high)
    return _for_type(base)


def _for_type(annotation: Any) -> st.SearchStrategy[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        return _constrained(base, _flatten(metadata))
    if origin in (Union, types.UnionType):
        return st.one_of(*(_for_type(a) for a in get_args(annotation)))
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin is list:
        return st.lists(_for_type(get_args(annotation)[0]), max_size=3)
    if origin is dict:
        key, value = get_args(annotation)
        return st.dictionaries(_for_type(key), _for_type(value), max_size=3)
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return models(annotation)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        uuid.UUID: st.uuids(),
        str: st.text(_storable, max_size=40),
        int: st.integers(min_value=0, max_value=10_000),
        bool: st.booleans(),
        dt.datetime: st.datetimes(timezones=st.just(dt.UTC)),
        dt.date: st.dates(),
        Decimal: st.decimals(min_value=0, max_value=10**9, places=2),
    }
    return simple[annotation]


def _flatten(metadata: Sequence[Any]) -> list[Any]:
    """``Field(ge=..)`` inside ``Annotated`` carries its constraints in its own metadata."""
    flat: list[Any] = []
    for meta in metadata:
        flat += list(meta.metadata) if isinstance(meta, FieldInfo) else [meta]
    return flat


def _for_field(field: FieldInfo) -> st.SearchStrategy[Any]:
    if not field.metadata:
        return _for_type(field.annotation)
    value = _constrained(field.annotation, field.metadata)
    if type(None) in get_args(field.annotation):
        return st.none() | value
    return value


@st.composite
def models(draw: st.DrawFn, model: type[BaseModel]) -> BaseModel:
    """A valid instance of ``model``: every field drawn within its rules, money fields as
    pairs of one currency (sometimes both absent where they are optional)."""
    values: dict[str, Any] = {}
    pairs: tuple[tuple[str, str], ...] = getattr(model, "MONEY", ())
    for amount_field, currency_field in pairs:
        optional = not model.model_fields[amount_field].is_required()
        if optional and draw(st.booleans()):
            values[amount_field] = values[currency_field] = None
            continue
        currency = draw(currencies)
        values[currency_field] = currency.code
        values[amount_field] = draw(amounts(currency))
    for name, field in model.model_fields.items():
        if name in values:
            continue
        if not field.is_required() and draw(st.booleans()):
            continue  # the producer left it out: the default applies
        values[name] = draw(_for_field(field))
    return model.model_validate(values)


def events(event_type: type[Event]) -> st.SearchStrategy[Envelope]:
    """Envelopes of ``event_type`` a producer may publish."""
    return st.builds(
        lambda event, org, aggregate, version: Envelope.wrap(
            event, org_id=org, aggregate_id=aggregate, aggregate_version=version
        ),
        models(event_type),
        st.uuids(),
        st.uuids(),
        st.integers(min_value=1, max_value=1_000),
    )

"""Values every service and every event contract share: currencies, money, clean text, ids,
instants.

One rule each, used by the GraphQL input of the service that accepts a value, by the event
contract that carries it and by every consumer that reads it: what a producer accepts, its
consumers accept (ADR 0008). Plain Python, no IO: domain modules use these directly, and the
``Annotated`` forms at the end make pydantic (the contracts) apply the same rules.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import iso4217
from pydantic import AfterValidator

from crmkit.control_characters import CONTROL_CHARACTERS, CONTROL_CHARACTERS_ONE_LINE


class InvalidValue(ValueError):
    """A value its type refuses. ``problems`` are ``(part, message)`` pairs: ``part`` names the
    piece at fault (``"amount"`` or ``"currency"`` of money, ``""`` for the whole value) and
    ``message`` is safe to show to the person who typed it."""

    def __init__(self, problems: list[tuple[str, str]] | str) -> None:
        self.problems = [("", problems)] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(f"{p}: {m}" if p else m for p, m in self.problems))


DEFAULT_TIME_ZONE = "Europe/Warsaw"
"""Where "today" is for a member who chose no time zone of their own: our users' (Polish SMEs)."""


def time_zone(name: str) -> str:
    """An IANA time zone name such as ``Europe/Warsaw``; anything else is ``InvalidValue``
    (file paths included: ZoneInfo would read them)."""
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        raise InvalidValue("is not a known time zone (e.g. Europe/Warsaw)")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidValue("is not a known time zone (e.g. Europe/Warsaw)") from None
    return name


# --- instants ----------------------------------------------------------------------------------

FIRST_YEAR, LAST_YEAR = 1970, 9000


def instant(value: datetime) -> datetime:
    """A point in time as the API takes one: with its UTC offset (without one it names a
    different moment in every time zone, and cannot be compared with one that has it) and in
    the years 1970-9000 (far from where converting to UTC overflows). Anything else is
    ``InvalidValue``."""
    if value.utcoffset() is None:
        raise InvalidValue("must carry a time zone offset")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidValue(f"must be within the years {FIRST_YEAR}-{LAST_YEAR}")
    return value


# --- currencies and money ---------------------------------------------------------------------

# Every service stores amounts as numeric(17, 2): below 10^15, at most two decimal places.
MAX_AMOUNT = Decimal("1e15")
MAX_PLACES = 2


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency and its minor units (PLN 2, JPY 0, BHD 3)."""

    code: str
    minor_units: int

    @property
    def places(self) -> int:
        """Decimal places an amount may have: the minor units, at most the stored two (a
        three-decimal currency such as BHD is kept to two; no sales deal is priced in fils)."""
        return min(self.minor_units, MAX_PLACES)

    @classmethod
    def of(cls, code: str) -> Currency:
        """The currency of an exact code (``"PLN"``); :class:`InvalidValue` otherwise."""
        found = CURRENCIES.get(code) if isinstance(code, str) else None
        if found is None:
            raise InvalidValue("must be an ISO 4217 currency code such as PLN or EUR")
        return found

    def __str__(self) -> str:
        return self.code


# Currencies with minor units: the active ISO 4217 list without precious metals, special
# drawing rights and the testing code (they have none).
CURRENCIES: Mapping[str, Currency] = {
    c.code: Currency(c.code, c.exponent)
    for c in iso4217.Currency
    if isinstance(c.exponent, int)
}


def currency_code(code: str) -> str:
    """``code`` when it names a currency; :class:`InvalidValue` otherwise."""
    return Currency.of(code).code


def amount(value: Decimal | str | int) -> Decimal:
    """A non-negative, finite amount below 10^15 with at most two decimal places, kept with
    exactly two (as stored)."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        finite = number.is_finite()
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidValue("must be a number") from None
    if not finite:
        raise InvalidValue("must be a number")
    if number < 0:
        raise InvalidValue("must not be negative")
    if number >= MAX_AMOUNT:
        raise InvalidValue("must be less than 1000000000000000")
    if number != number.quantize(_STEP[MAX_PLACES]):
        raise InvalidValue(f"must have at most {MAX_PLACES} decimal places")
    return number.quantize(_STEP[MAX_PLACES])


_STEP = {places: Decimal(1).scaleb(-places) for places in range(MAX_PLACES + 1)}


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency: non-negative, with at most the currency's decimal places."""

    amount: Decimal
    currency: Currency

    @classmethod
    def of(cls, amount_value: Decimal | str | int, currency: str | Currency) -> Money:
        """:class:`InvalidValue` names every part at fault (``amount``, ``currency``)."""
        problems: list[tuple[str, str]] = []
        number: Decimal | None = None
        found: Currency | None = currency if isinstance(currency, Currency) else None
        try:
            number = amount(amount_value)
        except InvalidValue as error:
            problems += [("amount", m) for _, m in error.problems]
        if found is None:
            try:
                found = Currency.of(str(currency))
            except InvalidValue as error:
                problems += [("currency", m) for _, m in error.problems]
        if number is not None and found is not None and found.places < MAX_PLACES and (
            number != number.quantize(_STEP[found.places])
        ):
            problems.append(
                ("amount", f"must have at most {found.places} decimal places in {found.code}")
            )
        if problems:
            raise InvalidValue(problems)
        assert number is not None and found is not None
        return cls(number, found)

    @classmethod
    def optional(
        cls, amount_value: Decimal | str | int | None, currency: str | Currency | None
    ) -> Money | None:
        """None when both are None; an amount without its currency (or the reverse) is
        refused."""
        if amount_value is None and currency is None:
            return None
        if amount_value is None or currency is None:
            part = "amount" if amount_value is None else "currency"
            raise InvalidValue([(part, "amount and currency go together")])
        return cls.of(amount_value, currency)


# --- text ---------------------------------------------------------------------------------------


def clean_text(value: str, *, max_length: int, multiline: bool = False) -> str:
    """``value`` trimmed: not empty, at most ``max_length`` characters, no control characters
    (the kit's one rule, :mod:`crmkit.control_characters`; ``multiline`` text may hold tabs
    and line breaks)."""
    if not isinstance(value, str):
        raise InvalidValue("must be text")
    text = value.strip()
    if not text:
        raise InvalidValue("must not be empty")
    if len(text) > max_length:
        raise InvalidValue(f"must be at most {max_length} characters")
    if (CONTROL_CHARACTERS if multiline else CONTROL_CHARACTERS_ONE_LINE).search(text):
        raise InvalidValue("must not contain control characters")
    return text


# --- ids ----------------------------------------------------------------------------------------


def parse_id(value: str | uuid.UUID) -> uuid.UUID:
    """The UUID an id names; :class:`InvalidValue` when it names none."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidValue("is not a valid id") from None


def id_or_none(value: str | uuid.UUID) -> uuid.UUID | None:
    """The UUID an id names, or None (an entity reference with a malformed id finds nothing)."""
    try:
        return parse_id(value)
    except InvalidValue:
        return None


# --- the same rules for pydantic (event contracts) -----------------------------------------------

CurrencyCode = Annotated[str, AfterValidator(currency_code)]
"""An ISO 4217 code with minor units; pair it with an amount in the event's ``MONEY``."""

Amount = Annotated[Decimal, AfterValidator(amount)]
"""A non-negative amount below 10^15 with at most two decimal places."""


Name = Annotated[str, AfterValidator(partial(clean_text, max_length=200))]
"""A one-line name of at most 200 characters (opportunities, folders, documents)."""

Title = Annotated[str, AfterValidator(partial(clean_text, max_length=300))]
"""A one-line title of at most 300 characters (offers, activity subjects)."""


SEARCH_MAX = 100
"""The longest text a search box takes."""
_LIKE_SPECIALS = re.compile(r"([\\%_])")


def like_pattern(text: str) -> str:
    """A case-insensitive substring pattern for ``ILIKE``: what was typed, trimmed, with
    ``%``, ``_`` and the escape character itself taken literally (a search for ``a_b`` finds
    no "axb")."""
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", text.strip()) + "%"


# Letters that carry their mark inside (no decomposition), in lower case: applied after lower().
_FOLD = str.maketrans({"ł": "l", "ß": "ss", "đ": "d", "ø": "o"})
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=4096)
def _folded(run: str) -> str:
    """A run of non-ASCII characters without their marks (runs repeat: "ó", "ł", "ż")."""
    decomposed = unicodedata.normalize("NFKD", run.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fold_run(match: re.Match[str]) -> str:
    return _folded(match.group())


def search_form(text: str) -> str:
    """Lower case without diacritics (``Wdrożenie`` -> ``wdrozenie``): the one form both
    stored text and a search are put in, so Polish words match with or without them, in any
    case, whatever the database's locale (``ILIKE`` folds only ASCII under ``C``). Only the
    non-ASCII runs are decomposed (a CSV import makes this form for every lead: 2-3 us a row,
    against 10 us decomposing the whole text)."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    return _NON_ASCII.sub(_fold_run, lowered)

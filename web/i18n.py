"""Polish and English: Babel catalogues for the text, Babel's CLDR data for dates, numbers and
money. The language of the request being served is a context variable the template helpers
read, so templates simply call ``_()`` and the format filters.

The catalogues are the committed ``locale/*/LC_MESSAGES/messages.po`` files, compiled in
memory when the process starts (no separate compile step, no binary files in the repository).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import io
import re
import zoneinfo
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    NumberPattern,
    format_currency,
    format_decimal,
    format_percent,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from babel.support import NullTranslations, Translations

LOCALES = ("pl", "en")
# How each language writes dates and numbers: English as in Britain and the EU (day first,
# 24-hour clock), the way our European users read it.
FORMATS = {"pl": "pl_PL", "en": "en_GB"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("crm_web_locale", default="pl")
_zone: contextvars.ContextVar[zoneinfo.ZoneInfo | None] = contextvars.ContextVar(
    "crm_web_zone", default=None
)
DEFAULT_ZONE = zoneinfo.ZoneInfo("Europe/Warsaw")
NONE = "\u2013"  # an en dash where there is no value


def normalise(locale: str | None) -> str | None:
    """``"PL"``, ``"pl-PL"``, ``"pl_PL"`` -> ``"pl"``; an unsupported language -> None."""
    if not locale:
        return None
    language = locale.replace("-", "_").split("_")[0].lower()
    return language if language in LOCALES else None


@cache
def translations(locale: str) -> NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():  # English is the source language: its messages are the ids
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def activate(locale: str, zone: zoneinfo.ZoneInfo) -> None:
    _locale.set(locale)
    _zone.set(zone)


@cache
def _locale_data(name: str) -> Locale:
    return Locale.parse(name)


def _formats() -> Locale:
    # A parsed Locale, not its name: Babel would parse the name again on every call.
    return _locale_data(FORMATS.get(_locale.get(), "pl_PL"))


def zone() -> zoneinfo.ZoneInfo:
    return _zone.get() or DEFAULT_ZONE


def current_locale() -> str:
    return _locale.get()


def gettext(message: str) -> str:
    return translations(_locale.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_locale.get()).ungettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; translated where it is shown."""
    return message


_CODE_BEFORE_DIGIT = re.compile(r"^([A-Z]{3})(\d)")


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class _MoneyFormat:
    """How one language writes amounts of one currency, read from Babel's CLDR data once.

    ``format_currency`` looks the pattern, the symbols and the currency's name up again for
    every amount (some 50 us each; a board shows 500); this keeps what it looked up and
    renders the digits with Python's own grouping, giving Babel's result (the tests compare
    the two). Patterns other than plain thousands grouping are left to Babel."""

    def __init__(self, locale: Locale, currency: str) -> None:
        pattern: NumberPattern = locale.currency_formats["standard"]
        self.plain = (
            pattern.grouping == (3, 3) and pattern.scale == 0 and not pattern.exp_prec
            and "@" not in pattern.pattern and bool(pattern.number_pattern)
            and pattern.int_prec[0] <= 1
        )
        self.spec = f",.{get_currency_precision(currency)}f"
        self.group, self.decimal = get_group_symbol(locale), get_decimal_symbol(locale)
        self.affixes: list[tuple[str, str]] = []
        for sign in (0, 1):
            # Babel's own treatment of the prefix and suffix (the number holds neither).
            text = pattern.prefix[sign] + "\0" + pattern.suffix[sign]
            if "\u00a4\u00a4\u00a4" in text:  # the currency's name depends on the amount
                self.plain = False
            text = text.replace("\u00a4\u00a4", currency.upper())
            text = text.replace("\u00a4", get_currency_symbol(currency, locale))
            text = re.sub(r"'([^']*)'", lambda m: m.group(1) or "'", text)
            prefix, _, suffix = text.partition("\0")
            # The currency spacing below, applied once: the digits always start with a digit.
            prefix = _CODE_BEFORE_DIGIT.sub("\\1\u00a0\\2", prefix + "0")[:-1]
            self.affixes.append((prefix, suffix))

    def __call__(self, number: Decimal) -> str:
        prefix, suffix = self.affixes[1 if number.is_signed() else 0]
        digits = format(abs(number), self.spec)  # "1,234.50"
        if self.group != "," or self.decimal != ".":
            digits = digits.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group)
        return prefix + digits + suffix


@cache
def _money_format(locale: str, currency: str) -> _MoneyFormat:
    return _MoneyFormat(_locale_data(locale), currency)


def money(amount: object, currency: str | None) -> str:
    number = _decimal(amount)
    if number is None:
        return ""
    if not currency:
        return format_decimal(number, format="#,##0.00", locale=_formats())
    form = _money_format(FORMATS.get(_locale.get(), "pl_PL"), currency)
    if form.plain and number.is_finite():
        return form(number)
    formatted = format_currency(number, currency, locale=_formats())
    # CLDR's currency spacing (which browsers apply and Babel does not): "PLN 1,000.00".
    return _CODE_BEFORE_DIGIT.sub("\\1\u00a0\\2", formatted)


def number(value: object, digits: int = 0) -> str:
    parsed = _decimal(value)
    if parsed is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(parsed, format=pattern, locale=_formats())


def percent(value: float | None) -> str:
    if value is None:
        return NONE
    return format_percent(value, format="#,##0%", locale=_formats())


def _moment(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone())


def _day(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        moment = _moment(value)
        return moment.date() if moment else None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        if "T" in value:
            moment = _moment(value)
            return moment.date() if moment else None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


@lru_cache(maxsize=4096)
def _format_day(day: dt.date, form: str, locale: str) -> str:
    # Days repeat (a board's next contacts fall on a few of them); Babel takes some 10 us each.
    return format_date(day, format=form, locale=_locale_data(locale))


def date(value: object, form: str = "medium") -> str:
    day = _day(value)
    return _format_day(day, form, FORMATS.get(_locale.get(), "pl_PL")) if day else ""


def datetime(value: object, form: str = "medium") -> str:
    moment = _moment(value)
    if moment is None:
        return ""
    if form == "medium":
        return format_datetime(moment, "EEE d MMM y, HH:mm", locale=_formats())
    return format_datetime(moment, format=form, locale=_formats())


def time(value: object) -> str:
    moment = _moment(value)
    return format_time(moment, "HH:mm", locale=_formats()) if moment else ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return NONE
    return format_timedelta(
        dt.timedelta(seconds=seconds), threshold=1.1, format="long", locale=_formats()
    )


def local_input(value: object) -> str:
    """A ``datetime-local`` input's value for a moment (in the app's zone)."""
    moment = _moment(value)
    return moment.strftime("%Y-%m-%dT%H:%M") if moment else ""


def parse_local(value: str) -> dt.datetime | None:
    """A ``datetime-local`` input's value, read in the app's zone, as an aware moment."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone())
    return moment


def now() -> dt.datetime:
    return dt.datetime.now(zone())


def language_name(locale: str) -> str:
    return Locale.parse(locale).get_display_name(locale) or locale

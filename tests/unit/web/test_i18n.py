"""The Polish catalogue covers every message of the app, and dates, numbers and money are
written as each language writes them."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from web import i18n

WEB = Path(__file__).resolve().parents[3] / "web"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True",
                                 "lstrip_blocks": "True"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def app_messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _, _, message, _, _ in extract_from_dir(
        WEB, METHODS, OPTIONS, keywords=KEYWORDS  # type: ignore[arg-type]
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def polish() -> dict[str, object]:
    with (WEB / "locale" / "pl" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source)
    problems = [(m.id, errors) for m, errors in catalog.check()]
    assert problems == []
    return {
        m.id if isinstance(m.id, str) else m.id[0]: m
        for m in catalog
        if m.id and not m.fuzzy
    }


def test_every_message_has_a_polish_translation() -> None:
    catalogue = polish()
    messages = app_messages()
    assert len(messages) > 300
    untranslated = []
    for message in messages:
        key = message if isinstance(message, str) else message[0]
        entry = catalogue.get(key)
        strings = [] if entry is None else (
            [entry.string] if isinstance(entry.string, str) else list(entry.string)
        )
        if not strings or not all(strings):
            untranslated.append(key)
    assert untranslated == [], "run `make messages` and translate: " + repr(untranslated)


@pytest.fixture
def zone() -> object:
    return i18n.DEFAULT_ZONE


@pytest.mark.parametrize(
    ("locale", "amount", "currency", "expected"),
    [
        ("pl", "48000", "PLN", "48\xa0000,00\xa0zł"),
        ("en", "48000", "PLN", "PLN\xa048,000.00"),
        ("pl", "1234.5", "EUR", "1\xa0234,50\xa0€"),
        ("en", "1234.5", "EUR", "€1,234.50"),
    ],
)
def test_money_as_each_language_writes_it(
    locale: str, amount: str, currency: str, expected: str
) -> None:
    i18n.activate(locale, i18n.DEFAULT_ZONE)
    assert i18n.money(amount, currency) == expected


@pytest.mark.parametrize("locale", ["pl", "en"])
def test_money_is_what_babel_writes(locale: str) -> None:
    """The kept per-currency format gives Babel's own result: rounding half to even, signs,
    grouping, currencies with 0 and 3 decimals, a code Babel does not know."""
    rng = random.Random(14)
    amounts = [Decimal(v) for v in ("0", "0.005", "0.015", "0.125", "-0.001", "-0", "999.995",
                                    "-1234567.891", "12345678901234.5", "1E+5", "1e-7", "2.5")]
    amounts += [Decimal(rng.randint(-10**9, 10**9)).scaleb(-rng.randint(0, 4))
                for _ in range(2000)]
    i18n.activate(locale, i18n.DEFAULT_ZONE)
    babel_locale = i18n.FORMATS[locale]
    for currency in ("PLN", "EUR", "USD", "GBP", "JPY", "KWD", "XYZ"):
        for amount in amounts:
            expected = i18n._CODE_BEFORE_DIGIT.sub(
                "\\1\u00a0\\2", format_currency(amount, currency, locale=babel_locale))
            assert i18n.money(amount, currency) == expected, (currency, amount)


def test_dates_and_times_in_the_app_zone_and_language() -> None:
    moment = dt.datetime(2026, 3, 5, 8, 30, tzinfo=dt.UTC)  # 09:30 in Warsaw (CET)
    i18n.activate("pl", i18n.DEFAULT_ZONE)
    assert i18n.date(moment, "long") == "5 marca 2026"
    assert i18n.time(moment) == "09:30"
    assert i18n.translations("pl").ugettext("Lead pool") == "Pula leadów"
    i18n.activate("en", i18n.DEFAULT_ZONE)
    assert i18n.date("2026-03-05", "long") == "5 March 2026"
    assert i18n.local_input(moment) == "2026-03-05T09:30"
    assert i18n.parse_local("2026-07-01T10:00") == dt.datetime(
        2026, 7, 1, 8, 0, tzinfo=dt.UTC
    )


def test_plurals_follow_polish_grammar() -> None:
    i18n.activate("pl", i18n.DEFAULT_ZONE)
    forms = [i18n.ngettext("%(num)d deal", "%(num)d deals", n) % {"num": n} for n in (1, 3, 5, 22)]
    assert forms == ["1 szansa", "3 szanse", "5 szans", "22 szanse"]


def test_locale_names_are_normalised() -> None:
    assert [i18n.normalise(x) for x in ("PL", "pl-PL", "en_GB", "de", None)] == [
        "pl", "pl", "en", None, None
    ]

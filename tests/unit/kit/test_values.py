"""The shared value types: one rule each for currencies, money, clean text, ids and instants."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from crmkit.errors import ProblemCollector
from crmkit.values import (
    CURRENCIES,
    Amount,
    Currency,
    CurrencyCode,
    InvalidValue,
    Money,
    Name,
    clean_text,
    id_or_none,
    instant,
    like_pattern,
    parse_id,
    search_form,
)


def test_currencies_carry_their_iso_4217_minor_units() -> None:
    assert (Currency.of("PLN").minor_units, Currency.of("JPY").minor_units) == (2, 0)
    assert Currency.of("BHD").minor_units == 3 and Currency.of("BHD").places == 2
    assert {"EUR", "USD", "PLN", "GBP", "CHF"} <= set(CURRENCIES)


@pytest.mark.parametrize("code", ["ABC", "QQQ", "XYZ", "pln", " PLN", "XAU", "XXX", "", "EURO"])
def test_what_is_not_a_currency_with_minor_units_is_refused(code: str) -> None:
    with pytest.raises(InvalidValue):
        Currency.of(code)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10.5", "PLN", Decimal("10.50")),
        ("0", "EUR", Decimal("0.00")),
        ("100", "JPY", Decimal("100.00")),
        ("999999999999999.99", "USD", Decimal("999999999999999.99")),
        (Decimal("1E+3"), "EUR", Decimal("1000.00")),
    ],
)
def test_money_keeps_two_places_as_stored(amount: str, currency: str, expected: Decimal) -> None:
    money = Money.of(amount, currency)
    assert money.amount == expected and str(money.amount) == str(expected)
    assert money.currency.code == currency


@pytest.mark.parametrize(
    ("amount", "currency", "parts"),
    [
        ("10.005", "PLN", {"amount"}),
        ("10.5", "JPY", {"amount"}),
        ("-1", "EUR", {"amount"}),
        ("1e15", "EUR", {"amount"}),
        ("NaN", "EUR", {"amount"}),
        ("Infinity", "EUR", {"amount"}),
        ("ten", "EUR", {"amount"}),
        ("10", "ABC", {"currency"}),
        ("x", "QQQ", {"amount", "currency"}),
    ],
)
def test_money_names_every_part_at_fault(amount: str, currency: str, parts: set[str]) -> None:
    with pytest.raises(InvalidValue) as caught:
        Money.of(amount, currency)
    assert {part for part, _ in caught.value.problems} == parts


def test_optional_money_goes_as_a_pair() -> None:
    assert Money.optional(None, None) is None
    with pytest.raises(InvalidValue) as caught:
        Money.optional("10", None)
    assert caught.value.problems == [("currency", "amount and currency go together")]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("  Fleet renewal ", "Fleet renewal"), ("Zażółć gęślą jaźń", "Zażółć gęślą jaźń")],
)
def test_clean_text_is_trimmed(raw: str, clean: str) -> None:
    assert clean_text(raw, max_length=200) == clean


@pytest.mark.parametrize(
    "raw", ["", "   ", "a\x00b", "a\x01", "a\x7fb", "a\x9fb", "line\nbreak", "tab\there",
            "lone \ud800 surrogate", "x" * 201],
)
def test_clean_text_refuses_empty_long_and_control_characters(raw: str) -> None:
    with pytest.raises(InvalidValue):
        clean_text(raw, max_length=200)


def test_multiline_text_keeps_line_breaks_and_tabs_but_not_nul() -> None:
    assert clean_text("a\n\tb\r\nc", max_length=20, multiline=True) == "a\n\tb\r\nc"
    with pytest.raises(InvalidValue):
        clean_text("a\n\x00", max_length=20, multiline=True)


@given(st.text(max_size=300))
def test_clean_text_either_refuses_or_gives_text_that_is_clean_again(raw: str) -> None:
    try:
        cleaned = clean_text(raw, max_length=200)
    except InvalidValue:
        return
    assert cleaned == clean_text(cleaned, max_length=200)
    assert 0 < len(cleaned) <= 200 and cleaned == cleaned.strip()
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in cleaned)


def test_ids() -> None:
    some = uuid.uuid4()
    assert parse_id(str(some)) == some == parse_id(some)
    assert id_or_none("nope") is None
    with pytest.raises(InvalidValue):
        parse_id("nope")


class Deal(BaseModel):
    name: Name
    amount: Amount
    currency: CurrencyCode


def test_the_pydantic_forms_apply_the_same_rules() -> None:
    deal = Deal(name=" Fleet ", amount="10.5", currency="PLN")  # type: ignore[arg-type]
    assert (deal.name, deal.amount, deal.currency) == ("Fleet", Decimal("10.50"), "PLN")
    for bad in ({"name": "a\x00"}, {"amount": "10.005"}, {"currency": "ABC"}):
        with pytest.raises(ValidationError):
            Deal(**{"name": "Fleet", "amount": "1", "currency": "EUR", **bad})  # type: ignore[arg-type]


def test_a_collector_notes_a_value_problem_under_its_path() -> None:
    problems = ProblemCollector()
    assert problems.value("opportunity", lambda: Money.of("x", "ABC")) is None
    assert problems.value("name", lambda: clean_text("ok", max_length=5)) == "ok"
    assert [(".".join(p.path), p.message) for p in problems.problems] == [
        ("opportunity.amount", "must be a number"),
        ("opportunity.currency", "must be an ISO 4217 currency code such as PLN or EUR"),
    ]


def test_an_instant_carries_its_offset_and_stays_in_range() -> None:
    warsaw = timezone(timedelta(hours=1))
    for taken in (datetime(2026, 12, 7, 9, 30, tzinfo=warsaw), datetime(1970, 1, 1, tzinfo=UTC),
                  datetime(9000, 12, 31, 23, 59, tzinfo=UTC)):
        assert instant(taken) is taken
    with pytest.raises(InvalidValue, match="must carry a time zone offset"):
        instant(datetime(2026, 12, 7, 9, 30))
    for far in (datetime(1969, 12, 31, 23, tzinfo=UTC), datetime(9001, 1, 1, tzinfo=UTC),
                datetime(1, 1, 1, tzinfo=warsaw), datetime(9999, 12, 31, tzinfo=UTC)):
        with pytest.raises(InvalidValue, match="within the years 1970-9000"):
            instant(far)


def test_like_pattern_takes_wildcards_and_the_escape_literally() -> None:
    assert like_pattern(" 50%_off\\ ") == "%50\\%\\_off\\\\%"


@pytest.mark.parametrize(("text", "form"), [
    ("Wdrożenie ŻABKA Łódź", "wdrozenie zabka lodz"),
    ("Straße, STRAẞE", "strasse, strasse"),
    ("Øresund Đakovo", "oresund dakovo"),
    ("e\u0301cole", "ecole"),  # a mark typed apart from its letter
    ("ACME sp. z o.o.", "acme sp. z o.o."),
])
def test_the_search_form_is_lower_case_without_marks(text: str, form: str) -> None:
    assert search_form(text) == form


def _whole_text_form(text: str) -> str:
    """The rule as written: the whole text lowered, decomposed and stripped of its marks."""
    folded = text.lower().translate(str.maketrans({"ł": "l", "ß": "ss", "đ": "d", "ø": "o"}))
    return "".join(c for c in unicodedata.normalize("NFKD", folded)
                   if not unicodedata.combining(c))


@given(st.text())
def test_the_search_form_of_runs_is_the_whole_text_s(text: str) -> None:
    """Only the non-ASCII runs are decomposed, each on its own: the same as decomposing the
    whole text (decomposition looks at no neighbour, and the marks it reorders all go)."""
    assert search_form(text) == _whole_text_form(text)

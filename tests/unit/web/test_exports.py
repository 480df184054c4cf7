"""CSV files a spreadsheet opens as they are: the language's separator and decimal sign,
a byte order mark, times in the member's zone, formula-like cells defused."""

from __future__ import annotations

import asyncio
import csv
import io
import zoneinfo
from collections.abc import AsyncIterator
from typing import Any

from web.deal_filters import NOBODY, DealFilters
from web.exports import Column, CsvFormat, csv_file

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
COLUMNS: list[Column] = [("Nazwa", lambda d: d["name"]), ("Kwota", lambda d: d["amount"])]


async def _pages(*pages: list[dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
    for page in pages:
        yield page


def _file(fmt: CsvFormat, *pages: list[dict[str, Any]]) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in csv_file(COLUMNS, _pages(*pages), fmt)])

    return asyncio.run(collect())


def test_polish_files_use_semicolons_and_decimal_commas() -> None:
    fmt = CsvFormat("pl", WARSAW)
    assert (fmt.delimiter, fmt.decimal("1234.50"), fmt.decimal("7")) == (";", "1234,50", "7")
    body = _file(fmt, [{"name": "Żabka; sklep", "amount": fmt.decimal("10.5")}], [],
                 [{"name": "Łódź", "amount": "1"}])
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert text == 'Nazwa;Kwota\r\n"Żabka; sklep";10,5\r\nŁódź;1\r\n'
    assert list(csv.reader(io.StringIO(text), delimiter=";")) == [
        ["Nazwa", "Kwota"], ["Żabka; sklep", "10,5"], ["Łódź", "1"]]


def test_english_files_use_commas_and_decimal_points() -> None:
    fmt = CsvFormat("en", WARSAW)
    assert (fmt.delimiter, fmt.decimal("1234.50")) == (",", "1234.50")
    assert fmt.decimal("not a number") == ""


def test_times_are_the_members_to_the_minute() -> None:
    fmt = CsvFormat("pl", WARSAW)
    assert fmt.moment("2026-12-08T09:30:59+00:00") == "2026-12-08 10:30"
    assert fmt.moment("2026-07-01T22:15:00Z") == "2026-07-02 00:15"  # summer time, next day
    assert (fmt.moment(None), fmt.moment(""), fmt.moment("yesterday")) == ("", "", "")


def test_a_cell_that_would_be_a_formula_is_text() -> None:
    fmt = CsvFormat("en", WARSAW)
    text = _file(fmt, [{"name": '=HYPERLINK("http://x","y")', "amount": "-5"},
                       {"name": "@SUM(A1)", "amount": "+1"}]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'=HYPERLINK(\"http://x\",\"y\")", "-5"]  # a number stays a number
    assert rows[2] == ["'@SUM(A1)", "'+1"]


def test_filters_from_the_address() -> None:
    filters = DealFilters.of({"status": "won", "from": "2026-01-01", "to": "9999-12-31",
                              "q": "  Łódź ", "team": "north", "account": "a1"})
    assert (filters.status, filters.close_from, filters.close_to, filters.text) == (
        "WON", "2026-01-01", "", "Łódź")
    members = [{"id": "m1", "team": "north"}, {"id": "m2", "team": "south"}]
    assert filters.api(members) == {
        "ownerIds": ["m1"], "statuses": ["WON"], "closeFrom": "2026-01-01", "closeTo": None,
        "text": "Łódź", "accountIds": ["a1"]}
    # An owner chosen wins over the team; a team nobody is in shows nobody's deals.
    assert DealFilters.of({"owner": "m2", "team": "north"}).owner_ids(members) == ["m2"]
    assert DealFilters.of({"team": "east"}).owner_ids(members) == [NOBODY]
    assert DealFilters.of({"status": "maybe"}).api(members)["statuses"] is None
    # The order a list is read in: one the API has, else the newest first.
    assert DealFilters.of({"sort": "closing_soonest"}).order == "CLOSING_SOONEST"
    assert DealFilters.of({"sort": "cheapest"}).order == "NEWEST"
    assert DealFilters.of({}).form()["sort"] == ""  # the default is left out of addresses

"""Lists written out as CSV files a spreadsheet opens as they are, in the member's language.

- The separator follows the language's decimal sign, as spreadsheets do: a Polish one reads
  ``;`` between cells and ``1234,50`` as a number, an English one ``,`` and ``1234.50``.
- UTF-8 with a byte order mark, without which Excel reads Polish letters as Windows-1250.
- Dates as ISO days, times in the member's time zone to the minute (both read as dates).
- A cell that would start a formula (``=``, ``+``, ``-``, ``@`` ...) is defused by the
  defusedcsv library: a deal named ``=HYPERLINK(...)`` is text in the file, not a formula.
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_decimal_symbol
from defusedcsv import csv

from web.i18n import FORMATS

Column = tuple[str, Callable[[dict[str, Any]], str]]
"""A column: its heading and its cell's text for one item."""

BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class CsvFormat:
    locale: str
    zone: zoneinfo.ZoneInfo

    @property
    def decimal_sign(self) -> str:
        return get_decimal_symbol(FORMATS.get(self.locale, "pl_PL"))

    @property
    def delimiter(self) -> str:
        return ";" if self.decimal_sign == "," else ","

    def decimal(self, value: object) -> str:
        """An amount as the spreadsheet reads a number: no grouping, the language's sign."""
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return ""
        return format(number, "f").replace(".", self.decimal_sign)

    def moment(self, value: str | None) -> str:
        """An API time (ISO 8601) as ``YYYY-MM-DD HH:MM`` in the member's zone; "" for none."""
        if not value:
            return ""
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return ""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def today(self) -> str:
        return dt.datetime.now(self.zone).date().isoformat()


def _lines(rows: Sequence[Sequence[str]], fmt: CsvFormat) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=fmt.delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


async def csv_file(columns: Sequence[Column], pages: AsyncIterator[list[dict[str, Any]]],
                   fmt: CsvFormat) -> AsyncIterator[bytes]:
    """The file, a chunk per page of items: the headings first, then a line per item."""
    yield BOM.encode("utf-8") + _lines([[heading for heading, _ in columns]], fmt)
    async for items in pages:
        if items:
            yield _lines([[cell(item) for _, cell in columns] for item in items], fmt)

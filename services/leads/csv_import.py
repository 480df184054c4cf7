"""Reading lead CSV files: encoding, separator, English/Polish headers, row validation.

Pure: takes the file's text and returns validated rows and per-line problems; the database
side (dedupe against the org's leads, COPY, all or nothing) lives in
:mod:`services.leads.repository.imports` (ADR 0007).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from crmkit.errors import InvalidInput, ProblemCollector
from services.leads.domain import LeadFields, build_lead_fields

MAX_LINE_PROBLEMS: Final = 5

# Header spellings per field; compared after :func:`header_key` (case, spaces, diacritics).
HEADER_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "company": (
        "company", "company name", "organisation", "organization", "account", "firma",
        "nazwa firmy", "nazwa", "przedsiębiorstwo", "klient",
    ),
    "contact_name": (
        "contact", "contact person", "contact name", "name", "full name", "person",
        "osoba kontaktowa", "kontakt", "imię i nazwisko", "osoba",
    ),
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "adres e-mail",
              "adres email"),
    "phone": ("phone", "phone number", "telephone", "tel", "mobile", "telefon",
              "numer telefonu", "nr telefonu", "komórka"),
    "website": ("website", "web", "www", "url", "site", "web site", "strona", "strona www",
                "strona internetowa"),
    "source": ("source", "lead source", "źródło", "źródło leada"),
    "notes": ("notes", "note", "comments", "comment", "uwagi", "notatki", "opis"),
    "tags": ("tags", "tag", "labels", "tagi", "etykiety"),
    "priority": ("priority", "priorytet"),
}

_DIACRITICS = str.maketrans("ąćęłńóśźż", "acelnoszz")


def header_key(raw: str) -> str:
    value = raw.replace("\ufeff", "").strip().strip(":").casefold().translate(_DIACRITICS)
    value = value.replace("_", " ").replace(".", " ")
    return " ".join(value.split())


_ALIAS_TO_FIELD: Final = {
    header_key(alias): name for name, aliases in HEADER_ALIASES.items() for alias in aliases
}


class CsvFormatError(InvalidInput):
    """The file as a whole cannot be read (no header, unknown columns only, ...)."""

    def __init__(self, message: str) -> None:
        super().__init__(InvalidInput.field("csv", message).problems)
        self.message = message


@dataclass(frozen=True, slots=True)
class ParsedRow:
    line: int
    fields: LeadFields


@dataclass(frozen=True, slots=True)
class InvalidRow:
    line: int
    reason: str


@dataclass
class ParsedFile:
    columns: dict[str, int]
    """Lead field -> column index."""
    ignored_columns: list[str]
    rows: list[ParsedRow] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return len(self.rows) + len(self.invalid)


def decode(data: bytes) -> str:
    """UTF-8 with or without a byte-order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvFormatError(f"is not UTF-8 text (byte {error.start})") from None


def detect_delimiter(header_line: str) -> str:
    """Comma or semicolon (or tab), whichever splits the header line more often."""
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def match_headers(header: list[str]) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        name = _ALIAS_TO_FIELD.get(header_key(raw))
        if name is None:
            if raw.strip():
                ignored.append(raw.strip())
            continue
        if name in columns:
            raise CsvFormatError(f"two columns mean '{name}': fix the header line")
        columns[name] = index
    if "company" not in columns and "contact_name" not in columns:
        raise CsvFormatError(
            "the header needs a company (firma) or contact (osoba kontaktowa) column"
        )
    return columns, ignored


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line number, values) of each record, blank records skipped."""
    first_line_end = text.find("\n")
    header_line = text if first_line_end < 0 else text[:first_line_end]
    reader = csv.reader(io.StringIO(text), delimiter=detect_delimiter(header_line))
    previous_end = 0
    for record in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if not "".join(record).strip():  # every value blank (one C call, not a genexpr)
            continue
        yield start, record


class CsvRows:
    """A file whose header has been matched; its rows are validated chunk by chunk (so an
    import can write one chunk while the next is being read)."""

    def __init__(self, text: str, region: str) -> None:
        self._records = _records(text.lstrip("\ufeff"))
        try:
            _, header = next(self._records)
        except StopIteration:
            raise CsvFormatError("is empty: a header line is required") from None
        except csv.Error as error:
            raise CsvFormatError(f"cannot be read: {error}") from None
        self.columns, self.ignored_columns = match_headers(header)
        self.region = region
        self._width = len(header)
        self._finished = False

    def chunks(self, size: int) -> Iterator[tuple[list[ParsedRow], list[InvalidRow]]]:
        """(valid rows, invalid rows) of up to ``size`` records at a time, in file order."""
        while (chunk := self.next_chunk(size)) is not None:
            yield chunk

    def next_chunk(self, size: int) -> tuple[list[ParsedRow], list[InvalidRow]] | None:
        """The next (valid rows, invalid rows) of up to ``size`` records; ``None`` after the
        end of the file."""
        return None if self._finished else self._chunk(size)

    def _chunk(self, size: int) -> tuple[list[ParsedRow], list[InvalidRow]]:
        rows: list[ParsedRow] = []
        invalid: list[InvalidRow] = []
        width, region = self._width, self.region
        # Column index per lead field (-1: no such column), looked up once per file.
        indexes = [self.columns.get(name, -1) for name in _FIELDS]
        taken = 0
        try:
            for line, record in self._records:
                taken += 1
                count = len(record)
                if count > width and any(v.strip() for v in record[width:]):
                    invalid.append(
                        InvalidRow(line, f"has {count} values but the header has {width}")
                    )
                else:
                    values = [record[i] if 0 <= i < count else None for i in indexes]
                    problems = ProblemCollector()
                    fields = build_lead_fields(
                        company=values[0], contact_name=values[1], email=values[2],
                        phone=values[3], website=values[4], source=values[5], notes=values[6],
                        tags=values[7], priority=values[8], region=region, problems=problems,
                    )
                    if problems.problems:
                        reason = "; ".join(
                            f"{'.'.join(p.path)} {p.message}"
                            for p in problems.problems[:MAX_LINE_PROBLEMS]
                        )
                        invalid.append(InvalidRow(line, reason))
                    else:
                        rows.append(ParsedRow(line, fields))
                if taken >= size:
                    return rows, invalid
        except csv.Error as error:
            raise CsvFormatError(f"cannot be read: {error}") from None
        self._finished = True
        return rows, invalid


_FIELDS: Final = ("company", "contact_name", "email", "phone", "website", "source", "notes",
                  "tags", "priority")


def parse_csv(text: str, region: str) -> ParsedFile:
    """Header matching, then every row validated and normalised (problems per line)."""
    reader = CsvRows(text, region)
    parsed = ParsedFile(columns=reader.columns, ignored_columns=reader.ignored_columns)
    for rows, invalid in reader.chunks(50_000):
        parsed.rows += rows
        parsed.invalid += invalid
    return parsed

"""What a CSV import did (or, for a dry run, would do): the report the use case answers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from services.leads.csv_import import InvalidRow

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; per chunk of the file ``parse`` (rows read so far) then
``stage`` (rows of the file deduped, and written unless a dry run, so far), with total 0 as
it is not known before the end of the file; then ``dedupe`` and ``insert`` with the totals."""


@dataclass(frozen=True, slots=True)
class CreatedRow:
    line: int
    lead_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class DuplicateRow:
    line: int
    matched_on: list[str]
    existing_lead_id: uuid.UUID | None
    """The org's lead this row matches (``None`` when it only repeats an earlier line)."""
    duplicate_of_line: int | None
    """The earlier line of the same file this row repeats."""


@dataclass
class ImportReport:
    import_id: uuid.UUID
    dry_run: bool
    total_rows: int = 0
    created: list[CreatedRow] = field(default_factory=list)
    duplicates: list[DuplicateRow] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def created_count(self) -> int:
        return len(self.created)

"""CSV import, set-based: rows are validated in Python, COPYed into a staging table, deduped
against each other and against the org's leads in SQL, then inserted with their
``lead.created`` outbox rows by two INSERT ... SELECT statements.

Validation runs chunk by chunk in a thread while the previous chunk is COPYed, so PostgreSQL
works while Python parses. Lead ids, event ids and the outbox envelopes are made in Python
(orjson; the staging table parses them to jsonb during the COPY): building them with
``jsonb_build_object`` cost PostgreSQL ~25 us a row, on the import's critical path.

All or nothing: the valid, non-duplicate rows are inserted in one transaction, so a failed
import leaves nothing behind, and running the same file again is safe (rows that made it in
come back as duplicates of the leads they created).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import text

from crmkit.contracts.leads import LeadCreated
from crmkit.uow import outbox_committed
from services.leads.csv_import import CsvRows, InvalidRow, ParsedRow
from services.leads.events import lead_created_envelope_json
from services.leads.handlers import LeadsUnitOfWork

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; per chunk of the file ``parse`` (rows read so far) then
``stage`` (valid rows COPYed so far), with total 0 as it is not known before the end of the
file; then ``dedupe`` and ``insert``."""

CHUNK: Final = 10_000
# Imports this large refresh the leads' statistics right after their commit (PostgreSQL's
# advice after a bulk load): until autovacuum gets to it, the planner takes the new rows for
# a handful and the claim's count of a member's leads walks the whole org (measured: ~10 ms
# instead of ~0.1 ms a claim after an import of 6,000 leads into an empty table).
ANALYZE_AFTER: Final = 1_000
STAGING: Final = "lead_import_staging"
_COLUMNS: Final = (
    "line", "id", "event_id", "company", "company_key", "contact_name", "email", "phone",
    "website", "domain", "source", "notes", "tags", "priority", "envelope",
)


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


@dataclass(frozen=True)
class ImportLeads:
    org_id: uuid.UUID
    actor_id: uuid.UUID | None
    csv_text: str
    dry_run: bool = False


def _noop(stage: str, done: int, total: int) -> None:
    return None


# A TEMP table is never WAL-logged (as an UNLOGGED one) and is dropped with the transaction.
# No primary key: the lines arrive in order and an index would only slow the COPY.
_CREATE_STAGING = f"""
CREATE TEMP TABLE {STAGING} (
    line integer NOT NULL, id uuid NOT NULL, event_id uuid NOT NULL,
    company text, company_key text, contact_name text, email text, phone text, website text,
    domain text, source text, notes text, tags text[] NOT NULL, priority integer NOT NULL,
    envelope jsonb NOT NULL
) ON COMMIT DROP
"""

# First line of the file holding each key; a row whose key first appears earlier repeats it.
# Matches against the org's leads take the oldest lead per key.
_DUPLICATES = f"""
WITH firsts AS (
    SELECT line,
        CASE WHEN email IS NOT NULL THEN min(line) OVER (PARTITION BY email) END AS email_line,
        CASE WHEN phone IS NOT NULL THEN min(line) OVER (PARTITION BY phone) END AS phone_line,
        CASE WHEN domain IS NOT NULL AND company_key IS NOT NULL
             THEN min(line) OVER (PARTITION BY domain, company_key) END AS domain_line
    FROM {STAGING}
),
by_email AS (
    SELECT DISTINCT ON (s.line) s.line, l.id FROM {STAGING} s
    JOIN leads l ON l.org_id = :org_id AND l.email = s.email
    ORDER BY s.line, l.created_at, l.id
),
by_phone AS (
    SELECT DISTINCT ON (s.line) s.line, l.id FROM {STAGING} s
    JOIN leads l ON l.org_id = :org_id AND l.phone = s.phone
    ORDER BY s.line, l.created_at, l.id
),
by_domain AS (
    SELECT DISTINCT ON (s.line) s.line, l.id FROM {STAGING} s
    JOIN leads l ON l.org_id = :org_id AND l.domain = s.domain
                 AND l.company_key = s.company_key
    ORDER BY s.line, l.created_at, l.id
)
SELECT f.line,
    e.id AS email_lead, p.id AS phone_lead, d.id AS domain_lead,
    CASE WHEN f.email_line < f.line THEN f.email_line END AS email_line,
    CASE WHEN f.phone_line < f.line THEN f.phone_line END AS phone_line,
    CASE WHEN f.domain_line < f.line THEN f.domain_line END AS domain_line
FROM firsts f
LEFT JOIN by_email e ON e.line = f.line
LEFT JOIN by_phone p ON p.line = f.line
LEFT JOIN by_domain d ON d.line = f.line
WHERE e.id IS NOT NULL OR p.id IS NOT NULL OR d.id IS NOT NULL
   OR f.email_line < f.line OR f.phone_line < f.line OR f.domain_line < f.line
ORDER BY f.line
"""

_DROP_DUPLICATES = (
    f"DELETE FROM {STAGING} s USING unnest(CAST(:lines AS integer[])) AS d(line) "
    "WHERE s.line = d.line"
)

_INSERT_LEADS = f"""
INSERT INTO leads (id, org_id, company, company_key, contact_name, email, phone, website,
                   domain, source, notes, tags, priority, status, import_id, created_by)
SELECT id, CAST(:org_id AS uuid), company, company_key, contact_name, email, phone, website, domain,
       source, notes, tags, priority, 'NEW', CAST(:import_id AS uuid), CAST(:actor_id AS uuid)
FROM {STAGING}
"""

# Staging rows are in file order (COPYed chunk after chunk), so the outbox gets the events
# in line order without a sort.
_INSERT_OUTBOX = f"""
INSERT INTO outbox (event_id, subject, aggregate_id, envelope)
SELECT event_id, CAST(:subject AS text), id, envelope FROM {STAGING}
"""


def _random_uuids(count: int) -> list[uuid.UUID]:
    """Version 4 UUIDs from one read of the OS's random source (uuid4() reads it per id)."""
    data = os.urandom(16 * count)
    clear = ~(0xF000 << 64 | 0xC000 << 48) & (1 << 128) - 1
    bits = 0x4000 << 64 | 0x8000 << 48
    return [
        uuid.UUID(int=int.from_bytes(data[i : i + 16]) & clear | bits)
        for i in range(0, 16 * count, 16)
    ]


@dataclass(frozen=True, slots=True)
class _Batch:
    """One chunk of the file, ready to COPY."""

    rows: list[ParsedRow]
    invalid: list[InvalidRow]
    lead_ids: list[uuid.UUID]
    records: list[tuple[Any, ...]]


def _batch(
    rows: list[ParsedRow], invalid: list[InvalidRow], *, org_id: uuid.UUID,
    actor_id: uuid.UUID | None, import_id: uuid.UUID, created_at: str,
) -> _Batch:
    lead_ids = _random_uuids(len(rows))
    event_ids = _random_uuids(len(rows))
    records = [
        (row.line, lead_id, event_id, f.company, f.company_key, f.contact_name, f.email,
         f.phone, f.website, f.domain, f.source, f.notes, list(f.tags), f.priority,
         lead_created_envelope_json(event_id=event_id, lead_id=lead_id, org_id=org_id,
                                    actor_id=actor_id, import_id=import_id,
                                    created_at=created_at, fields=f))
        for row, lead_id, event_id in zip(rows, lead_ids, event_ids, strict=True)
        for f in (row.fields,)
    ]
    return _Batch(rows, invalid, lead_ids, records)


def _duplicate_row(row: Any) -> DuplicateRow:
    matched: list[str] = []
    existing = None
    for key, lead_id in (("email", row.email_lead), ("phone", row.phone_lead),
                         ("domain and company", row.domain_lead)):
        if lead_id is not None:
            matched.append(key)
            existing = existing or lead_id
    earlier = [line for line in (row.email_line, row.phone_line, row.domain_line)
               if line is not None]
    if existing is None:
        for key, line in (("email", row.email_line), ("phone", row.phone_line),
                          ("domain and company", row.domain_line)):
            if line is not None:
                matched.append(key)
    return DuplicateRow(
        line=row.line,
        matched_on=matched,
        existing_lead_id=existing,
        duplicate_of_line=min(earlier) if earlier else None,
    )


async def import_leads(
    cmd: ImportLeads, uow: LeadsUnitOfWork, *, progress: Progress | None = None
) -> ImportReport:
    report_progress = progress or _noop
    repo = uow.repo
    settings = await repo.org_settings(cmd.org_id)
    reader = CsvRows(cmd.csv_text, settings.default_region)
    report = ImportReport(
        import_id=uuid.uuid4(), dry_run=cmd.dry_run, ignored_columns=reader.ignored_columns,
    )

    session = uow.session
    await repo.lock_org_lead_creation(cmd.org_id)
    # The leads' created_at (their column default) and the events' timestamps.
    now = (await session.execute(text("SELECT now()"))).scalar_one()
    await session.execute(text(_CREATE_STAGING))
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None

    chunks = reader.chunks(CHUNK)
    created_at = now.isoformat()

    def next_batch() -> _Batch | None:
        chunk = next(chunks, None)
        if chunk is None:
            return None
        return _batch(*chunk, org_id=cmd.org_id, actor_id=cmd.actor_id,
                      import_id=report.import_id, created_at=created_at)

    # Parsing is CPU work in a thread: the next chunk is read while this one is COPYed, and
    # the event loop keeps answering other requests meanwhile.
    created: dict[int, uuid.UUID] = {}
    pending = asyncio.ensure_future(asyncio.to_thread(next_batch))
    try:
        while (batch := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(next_batch))
            report.invalid += batch.invalid
            report.total_rows += len(batch.rows) + len(batch.invalid)
            report_progress("parse", report.total_rows, 0)
            for row, lead_id in zip(batch.rows, batch.lead_ids, strict=True):
                created[row.line] = lead_id
            if batch.records:
                await raw.copy_records_to_table(STAGING, records=batch.records,
                                                columns=_COLUMNS)
            report_progress("stage", len(created), 0)
    finally:
        # On an error the thread still finishes its chunk; never leave it unawaited.
        with contextlib.suppress(Exception):
            await pending
    await session.execute(text(f"ANALYZE {STAGING}"))

    params = {"org_id": cmd.org_id}
    rows = (await session.execute(text(_DUPLICATES), params)).all()
    report.duplicates = [_duplicate_row(r) for r in rows]
    if report.duplicates:
        await session.execute(
            text(_DROP_DUPLICATES), {"lines": [d.line for d in report.duplicates]}
        )
        for duplicate in report.duplicates:
            del created[duplicate.line]
    report_progress("dedupe", len(created), len(created))

    report.created = [CreatedRow(line, lead_id) for line, lead_id in created.items()]
    if cmd.dry_run:
        await uow.rollback()
        report_progress("insert", 0, 0)
        return report
    insert_params = {"org_id": cmd.org_id, "import_id": report.import_id,
                     "actor_id": cmd.actor_id}
    await session.execute(text(_INSERT_LEADS), insert_params)
    await session.execute(text(_INSERT_OUTBOX), {"subject": LeadCreated.TYPE})
    await uow.commit()
    outbox_committed()  # rows written by SQL, not through uow.emit
    report_progress("insert", report.created_count, report.created_count)
    if report.created_count >= ANALYZE_AFTER:
        await session.execute(text("ANALYZE leads"))
        await session.commit()
    return report

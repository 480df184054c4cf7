"""CSV import, set-based: the file is read chunk by chunk; each chunk's rows are validated in
Python, checked in one statement against the org's leads (and, in Python, against the earlier
lines of the file), and the new ones COPYed straight into ``leads`` with their
``lead.created`` outbox rows.

The next chunk is validated and encoded (:mod:`services.leads.import_chunks`: ids, binary
COPY tuples of the leads and of their outbox envelopes) in the service's import worker process
(a thread for small files) while PostgreSQL checks and writes the current one, so the two
work at the same time and the service process itself only dedupes and streams the tuples.
Building the envelopes with ``jsonb_build_object`` cost PostgreSQL ~25 us a row; binary COPY
writes the rows in multi-row batches (an ``INSERT ... SELECT`` inserts them one by one).

All or nothing: the whole import is one transaction, so a failed import leaves nothing
behind, and running the same file again is safe (rows that made it in come back as
duplicates of the leads they created).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.db import session_driver_connection
from crmkit.outbox import note_outbox_rows
from services.leads.import_chunks import (
    COPY_HEADER,
    COPY_TRAILER,
    LEAD_COLUMNS,
    OUTBOX_COLUMNS,
    EncodedChunk,
    ImportParams,
)
from services.leads.import_report import CreatedRow, DuplicateRow, ImportReport, Progress
from services.leads.import_worker import ImportChunks
from services.leads.ports import ImportCsv

# Small enough that the first chunk's validation (before PostgreSQL has work) and the last
# chunk's writes (after Python is done) are short; large enough that per-statement costs
# do not matter.
CHUNK: Final = 5_000
# The first chunk is smaller: PostgreSQL has nothing to do until it has been validated.
FIRST_CHUNK: Final = 1_000
_KEYS: Final = ("email", "phone", "domain and company")
_NO_EARLIER: Final = (None, None, None)


# The org's oldest lead per key value among a chunk's key values, leads of this import
# excluded (the earlier lines of the file are matched in Python): kind 0 email, 1 phone,
# 2 domain and company. One index scan per kind for the whole chunk (= ANY(array)); a
# lateral subquery per row and key cost PostgreSQL ~3 times more. Domains and company keys are
# matched as two arrays, so pairs that no row holds may come back: they are never looked up.
_EXISTING = """
(SELECT DISTINCT ON (l.email) 0 AS kind, l.email AS value, NULL::text AS company_key, l.id
 FROM leads l
 WHERE l.org_id = $1 AND l.email IS NOT NULL AND l.email = ANY($2::text[])
   AND l.import_id IS DISTINCT FROM $6
 ORDER BY l.email, l.created_at, l.id)
UNION ALL
(SELECT DISTINCT ON (l.phone) 1, l.phone, NULL, l.id
 FROM leads l
 WHERE l.org_id = $1 AND l.phone IS NOT NULL AND l.phone = ANY($3::text[])
   AND l.import_id IS DISTINCT FROM $6
 ORDER BY l.phone, l.created_at, l.id)
UNION ALL
(SELECT DISTINCT ON (l.domain, l.company_key) 2, l.domain, l.company_key, l.id
 FROM leads l
 WHERE l.org_id = $1 AND l.domain IS NOT NULL AND l.company_key IS NOT NULL
   AND l.domain = ANY($4::text[]) AND l.company_key = ANY($5::text[])
   AND l.import_id IS DISTINCT FROM $6
 ORDER BY l.domain, l.company_key, l.created_at, l.id)
"""


async def _existing(
    raw: asyncpg.Connection, chunk: EncodedChunk, org_id: uuid.UUID, import_id: uuid.UUID
) -> dict[int, tuple[Any, Any, Any]]:
    """Line -> the org's oldest lead per key (email, phone, domain and company), for the
    chunk's rows that match any."""
    emails, phones, domains, company_keys = chunk.keys
    values = [sorted({v for v in column if v is not None}) for column in chunk.keys]
    found: tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]] = ({}, {}, {})
    for kind, value, company_key, lead_id in await raw.fetch(
        _EXISTING, org_id, *values, import_id
    ):
        found[kind][value if kind < 2 else (value, company_key)] = lead_id
    by_email, by_phone, by_company = found
    matches: dict[int, tuple[Any, Any, Any]] = {}
    for line, email, phone, domain, company_key in zip(
        chunk.lines, emails, phones, domains, company_keys, strict=True
    ):
        existing = (by_email.get(email), by_phone.get(phone),
                    by_company.get((domain, company_key)))
        if existing != _NO_EARLIER:
            matches[line] = existing
    return matches


def _duplicate(
    line: int, existing: tuple[Any, Any, Any] | None, earlier: tuple[int | None, ...]
) -> DuplicateRow | None:
    """The row as a duplicate (matches of the org's leads first), or ``None`` when new."""
    matched: list[str] = []
    existing_id = None
    for key, lead_id in zip(_KEYS, existing or (None, None, None), strict=True):
        if lead_id is not None:
            matched.append(key)
            existing_id = existing_id or lead_id
    lines = [e for e in earlier if e is not None]
    if existing_id is None:
        matched = [key for key, e in zip(_KEYS, earlier, strict=True) if e is not None]
    if not matched:
        return None
    return DuplicateRow(line=line, matched_on=matched, existing_lead_id=existing_id,
                        duplicate_of_line=min(lines) if lines else None)


async def _copy(raw: asyncpg.Connection, table: str, columns: tuple[str, ...],
                tuples: list[bytes]) -> None:
    """Binary COPY of tuples encoded by :mod:`services.leads.import_chunks`."""
    payload = b"".join([COPY_HEADER, *tuples, COPY_TRAILER])

    async def source() -> AsyncIterator[bytes]:
        yield payload

    await raw.copy_to_table(table, source=source(), columns=columns, format="binary")


async def _write_chunk(
    raw: asyncpg.Connection, chunk: EncodedChunk, org_id: uuid.UUID, import_id: uuid.UUID,
    report: ImportReport, *, dry_run: bool,
) -> None:
    """Dedupe one chunk, then COPY its new leads and their events."""
    matches = await _existing(raw, chunk, org_id, import_id)
    leads: list[bytes] = []
    events: list[bytes] = []
    created, earlier_lines = report.created, chunk.earlier
    for index, line in enumerate(chunk.lines):
        earlier = earlier_lines.get(index)
        # Most rows are new: no match and no earlier line.
        if earlier is None and line not in matches:
            duplicate = None
        else:
            duplicate = _duplicate(line, matches.get(line), earlier or _NO_EARLIER)
        if duplicate is None:
            created.append(CreatedRow(line, chunk.lead_id(index)))
            leads.append(chunk.leads[index])
            events.append(chunk.events[index])
        else:
            report.duplicates.append(duplicate)
    if dry_run or not leads:
        return
    await _copy(raw, "leads", LEAD_COLUMNS, leads)
    await _copy(raw, "outbox", OUTBOX_COLUMNS, events)


async def import_csv(
    session: AsyncSession, request: ImportCsv, progress: Progress | None = None
) -> ImportReport:
    """Check and write the file's leads inside the session's transaction (the caller holds
    the org's creation lock and commits, or not for a dry run)."""
    report_progress = progress or _noop
    report = ImportReport(import_id=uuid.uuid4(), dry_run=request.dry_run)
    # The leads' created_at (their column default) and the events' timestamps.
    now = (await session.execute(text("SELECT now()"))).scalar_one()
    raw = await session_driver_connection(session)

    chunks = ImportChunks(request.csv_text, ImportParams(
        org_id=request.org_id, actor_id=request.actor_id, import_id=report.import_id,
        created_at=now.isoformat(), region=request.region,
    ))
    try:
        await chunks.start()
        report.ignored_columns = chunks.ignored_columns
        # The next chunk is validated (in the worker process or a thread) while this one is
        # checked and written, and the event loop keeps answering other requests meanwhile.
        pending = asyncio.ensure_future(chunks.next(min(FIRST_CHUNK, CHUNK)))
        try:
            while (chunk := await pending) is not None:
                pending = asyncio.ensure_future(chunks.next(CHUNK))
                report.invalid += chunk.invalid
                report.total_rows += len(chunk.lines) + len(chunk.invalid)
                report_progress("parse", report.total_rows, 0)
                await _write_chunk(raw, chunk, request.org_id, report.import_id, report,
                                   dry_run=request.dry_run)
                report_progress("stage", report.created_count, 0)
        finally:
            # On an error the worker still finishes its chunk; never leave it unawaited.
            with contextlib.suppress(Exception):
                await pending
    finally:
        with contextlib.suppress(Exception):
            await chunks.finish()
    if report.created:
        note_outbox_rows(session)  # rows written by COPY, not through uow.emit
    return report


def _noop(stage: str, done: int, total: int) -> None:
    return None

"""CSV import, set-based: rows are validated in Python, COPYed into a staging table, deduped
against each other and against the org's leads in SQL, then inserted with their
``lead.created`` outbox rows by two INSERT ... SELECT statements.

All or nothing: the valid, non-duplicate rows are inserted in one transaction, so a failed
import leaves nothing behind, and running the same file again is safe (rows that made it in
come back as duplicates of the leads they created).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import text

from crmkit.contracts.leads import LeadCreated
from crmkit.uow import OUTBOX_CHANNEL
from services.leads.csv_import import InvalidRow, ParsedFile, parse_csv
from services.leads.handlers import LeadsUnitOfWork

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages: ``parse``, ``stage``, ``dedupe``, ``insert``."""

COPY_CHUNK: Final = 20_000
STAGING: Final = "lead_import_staging"
_COLUMNS: Final = (
    "line", "company", "company_key", "contact_name", "email", "phone", "website", "domain",
    "source", "notes", "tags", "priority",
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


_CREATE_STAGING = f"""
CREATE TEMP TABLE {STAGING} (
    line integer PRIMARY KEY,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    company text, company_key text, contact_name text, email text, phone text, website text,
    domain text, source text, notes text, tags text[] NOT NULL, priority integer NOT NULL
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

_DROP_DUPLICATES = f"DELETE FROM {STAGING} WHERE line = ANY(:lines)"

_INSERT_LEADS = f"""
INSERT INTO leads (id, org_id, company, company_key, contact_name, email, phone, website,
                   domain, source, notes, tags, priority, status, import_id, created_by)
SELECT id, CAST(:org_id AS uuid), company, company_key, contact_name, email, phone, website, domain,
       source, notes, tags, priority, 'NEW', CAST(:import_id AS uuid), CAST(:actor_id AS uuid)
FROM {STAGING}
"""

# The envelope is built in SQL in the exact shape of ``Envelope.wrap(LeadCreated(...))``
# (the staging rows hold exactly what was inserted; ``now()`` is the leads' created_at);
# a test compares these rows with what the Python side would emit.
_INSERT_OUTBOX = f"""
INSERT INTO outbox (event_id, subject, aggregate_id, envelope)
SELECT e.event_id, CAST(:subject AS text), e.id, jsonb_build_object(
    'id', e.event_id, 'type', CAST(:subject AS text),
    'version', CAST(:event_version AS integer), 'occurred_at', now(),
    'org_id', CAST(:org_id AS uuid), 'actor_id', CAST(:actor_id AS uuid),
    'aggregate_id', e.id, 'aggregate_version', 1,
    'payload', jsonb_build_object(
        'lead_id', e.id, 'company', e.company, 'contact_name', e.contact_name,
        'email', e.email, 'phone', e.phone, 'website', e.website, 'domain', e.domain,
        'source', e.source, 'priority', e.priority, 'tags', to_jsonb(e.tags),
        'status', 'NEW', 'owner_id', NULL, 'team', NULL, 'created_via', 'import',
        'import_id', CAST(:import_id AS uuid), 'created_at', now()))
FROM (SELECT gen_random_uuid() AS event_id, s.* FROM {STAGING} s ORDER BY s.line) AS e
"""


def _records(parsed: ParsedFile) -> list[tuple[Any, ...]]:
    return [
        (row.line, f.company, f.company_key, f.contact_name, f.email, f.phone, f.website,
         f.domain, f.source, f.notes, list(f.tags), f.priority)
        for row in parsed.rows
        for f in (row.fields,)
    ]


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
    # Parsing is CPU work: a thread keeps the event loop answering other requests meanwhile.
    parsed = await asyncio.to_thread(parse_csv, cmd.csv_text, settings.default_region)
    report = ImportReport(
        import_id=uuid.uuid4(), dry_run=cmd.dry_run, total_rows=parsed.total_rows,
        invalid=parsed.invalid, ignored_columns=parsed.ignored_columns,
    )
    total = len(parsed.rows)
    report_progress("parse", parsed.total_rows, parsed.total_rows)

    session = uow.session
    await repo.lock_org_lead_creation(cmd.org_id)
    await session.execute(text(_CREATE_STAGING))
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    records = _records(parsed)
    for start in range(0, total, COPY_CHUNK):
        chunk = records[start : start + COPY_CHUNK]
        await raw.copy_records_to_table(STAGING, records=chunk, columns=_COLUMNS)
        report_progress("stage", start + len(chunk), total)
    await session.execute(text(f"ANALYZE {STAGING}"))

    params = {"org_id": cmd.org_id}
    rows = (await session.execute(text(_DUPLICATES), params)).all()
    report.duplicates = [_duplicate_row(r) for r in rows]
    if report.duplicates:
        await session.execute(
            text(_DROP_DUPLICATES), {"lines": [d.line for d in report.duplicates]}
        )
    report_progress("dedupe", total, total)

    created = await session.execute(text(f"SELECT line, id FROM {STAGING} ORDER BY line"))
    report.created = [CreatedRow(line, lead_id) for line, lead_id in created]
    if cmd.dry_run:
        await uow.rollback()
        report_progress("insert", 0, 0)
        return report
    insert_params = {"org_id": cmd.org_id, "import_id": report.import_id,
                     "actor_id": cmd.actor_id}
    await session.execute(text(_INSERT_LEADS), insert_params)
    await session.execute(
        text(_INSERT_OUTBOX),
        {**insert_params, "subject": LeadCreated.TYPE, "event_version": LeadCreated.VERSION},
    )
    await session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
    await uow.commit()
    report_progress("insert", report.created_count, report.created_count)
    return report

"""Entry point of ``crm leads import FILE.csv --org ORG`` (the CLI wires it to a progress bar).

``database_url`` is the leads service's own database (``service_database_url(server, "leads")``).
The import is one transaction: all valid rows or none; a failed run can simply be repeated.
"""

from __future__ import annotations

import asyncio
import uuid
from functools import partial
from pathlib import Path

from crmkit.db import create_engine, session_factory
from crmkit.outbox import SqlUnitOfWork
from services.leads.csv_import import decode
from services.leads.handlers.imports import ImportLeads, import_leads
from services.leads.import_report import ImportReport, Progress
from services.leads.repository import SqlLeadsRepository
from services.leads.settings import LeadsSettings
from services.leads.tables import outbox

__all__ = ["ImportReport", "Progress", "import_file", "import_text"]


async def import_text(
    csv_text: str,
    org_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    *,
    database_url: str,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> ImportReport:
    settings = LeadsSettings()
    engine = create_engine(
        database_url, pool_size=2, prepared_statements=settings.db_prepared_statements
    )
    try:
        uow = SqlUnitOfWork(
            session_factory(engine), outbox,
            partial(SqlLeadsRepository, default_lead_cap=settings.default_lead_cap),
        )
        return await import_leads(
            ImportLeads(org_id, actor_id, csv_text, dry_run), uow, progress=progress
        )
    finally:
        await engine.dispose()


async def import_file(
    path: Path | str,
    org_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    *,
    database_url: str,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import a CSV file of any size; ``progress(stage, done, total)`` as it goes.

    Raises ``crmkit.errors.InvalidInput`` when the file as a whole is unusable (not UTF-8,
    no header, no company/contact column); per-row problems are in the report.
    """
    data = await asyncio.to_thread(Path(path).read_bytes)
    return await import_text(
        decode(data), org_id, actor_id, database_url=database_url, progress=progress,
        dry_run=dry_run,
    )

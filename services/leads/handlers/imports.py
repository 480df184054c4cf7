"""CSV import: a file's valid, new rows become pool leads, all or nothing (ADR 0007)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Final

from crmkit.commands import Command, require_manager
from crmkit.errors import InvalidInput
from services.leads import domain
from services.leads.handlers.common import Work
from services.leads.import_report import ImportReport, Progress
from services.leads.ports import ImportCsv

MAX_API_IMPORT_BYTES: Final = 10 * 1024 * 1024
# Imports this large refresh the leads' statistics right after their commit (PostgreSQL's
# advice after a bulk load): until autovacuum gets to it, the planner takes the new rows for
# a handful and the claim's count of a member's leads walks the whole org (measured: ~10 ms
# instead of ~0.1 ms a claim after an import of 6,000 leads into an empty table).
ANALYZE_AFTER: Final = 1_000


@dataclass(frozen=True)
class ImportLeads:
    org_id: uuid.UUID
    actor_id: uuid.UUID | None
    csv_text: str
    dry_run: bool = False


async def import_leads(
    cmd: ImportLeads, uow: Work, *, progress: Progress | None = None
) -> ImportReport:
    """Invalid rows and duplicates (of the org's leads or of earlier lines) are reported,
    never inserted; a dry run reports without writing. Running a file again is safe: rows
    that made it in come back as duplicates of the leads they created."""
    report_progress = progress or _noop
    async with uow:
        settings = await uow.repo.org_settings(cmd.org_id)
        await uow.repo.lock_org_lead_creation(cmd.org_id)
        report = await uow.repo.import_csv(
            ImportCsv(cmd.org_id, cmd.actor_id, cmd.csv_text, settings.default_region,
                      cmd.dry_run),
            report_progress,
        )
        report_progress("dedupe", report.created_count, report.created_count)
        if cmd.dry_run:
            report_progress("insert", 0, 0)
            return report
        await uow.commit()
    report_progress("insert", report.created_count, report.created_count)
    if report.created_count >= ANALYZE_AFTER:
        async with uow:
            await uow.repo.refresh_lead_statistics()
            await uow.commit()
    return report


class ImportLeadsFile(Command):
    """An import asked for through the API (the CLI imports files of any size)."""

    csv_text: str
    dry_run: bool = False


async def import_leads_file(cmd: ImportLeadsFile, uow: Work) -> ImportReport:
    """Managers and admins import files of up to 10 MB."""
    require_manager(cmd.caller, "only managers and admins may import leads")
    if len(cmd.csv_text.encode()) > MAX_API_IMPORT_BYTES:
        raise InvalidInput.field(
            "csv", "is larger than 10 MB: use `crm leads import` for large files")
    caller = cmd.caller
    report = await import_leads(
        ImportLeads(caller.org_id, caller.member_id, cmd.csv_text, cmd.dry_run), uow)
    named = {d.existing_lead_id for d in report.duplicates if d.existing_lead_id is not None}
    if named:
        async with uow:
            existing = await uow.repo.get_leads(caller.org_id, list(named))
        shown = {x.id for x in existing
                 if domain.nameable(caller, x.id, x.owner_id, x.owner_team) is not None}
        report.duplicates = [d if d.existing_lead_id in shown or d.existing_lead_id is None
                             else replace(d, existing_lead_id=None) for d in report.duplicates]
    return report


def _noop(stage: str, done: int, total: int) -> None:
    return None

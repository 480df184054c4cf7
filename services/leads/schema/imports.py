"""CSV import in GraphQL."""

from __future__ import annotations

from typing import Annotated

import strawberry

from crmkit.graphql import Forbidden, ValidationError
from services.leads.handlers import imports as h
from services.leads.import_report import ImportReport as Report
from services.leads.schema.context import Info, caller, uow
from services.leads.schema.results import ADMIN
from services.leads.schema.types import gql_id, gql_id_or_none


@strawberry.type
class ImportedLead:
    line: int
    lead_id: strawberry.ID


@strawberry.type
class ImportDuplicate:
    line: int
    matched_on: list[str]
    existing_lead_id: strawberry.ID | None = strawberry.field(
        description="The org's lead this row matches (null when the caller may not see it)."
    )
    duplicate_of_line: int | None = strawberry.field(
        description="The earlier line of the file this row repeats."
    )


@strawberry.type
class ImportInvalidRow:
    line: int
    reason: str


@strawberry.type(description="What an import did (or, for a dry run, would do).")
class ImportReport:
    import_id: strawberry.ID
    dry_run: bool
    total_rows: int
    created_count: int
    created: list[ImportedLead]
    duplicates: list[ImportDuplicate]
    invalid: list[ImportInvalidRow]
    ignored_columns: list[str]

    @classmethod
    def of(cls, r: Report) -> ImportReport:
        return cls(
            import_id=gql_id(r.import_id), dry_run=r.dry_run, total_rows=r.total_rows,
            created_count=r.created_count,
            created=[ImportedLead(line=c.line, lead_id=gql_id(c.lead_id)) for c in r.created],
            duplicates=[ImportDuplicate(line=d.line, matched_on=d.matched_on,
                                        existing_lead_id=gql_id_or_none(d.existing_lead_id),
                                        duplicate_of_line=d.duplicate_of_line)
                        for d in r.duplicates],
            invalid=[ImportInvalidRow(line=i.line, reason=i.reason) for i in r.invalid],
            ignored_columns=r.ignored_columns,
        )


ImportLeadsResult = Annotated[
    ImportReport | ValidationError | Forbidden, strawberry.union("ImportLeadsResult")
]


@strawberry.type
class ImportMutation:
    @strawberry.mutation(description=(
        "Import leads from CSV text (up to 10 MB; managers and admins). UTF-8 with or without "
        "BOM, comma or semicolon separated, English or Polish headers. Invalid rows and "
        "duplicates (within the file or of existing leads) are reported, never inserted. "
        "All or nothing: the valid rows are committed together in one transaction, or none "
        "are, so a failed import can simply be run again. dryRun reports without writing."
    ))  # type: ignore[untyped-decorator]
    async def import_leads(
        self, info: Info, csv: str, dry_run: bool = False
    ) -> ImportLeadsResult:
        async def run() -> ImportReport:
            report = await h.import_leads_file(
                h.ImportLeadsFile(await caller(info), csv, dry_run), uow(info))
            return ImportReport.of(report)

        return await ADMIN.answer(run())

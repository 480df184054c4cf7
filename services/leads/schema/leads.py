"""Leads in GraphQL: reading them, creating, editing and qualifying them."""

from __future__ import annotations

from typing import Annotated

import strawberry

from crmkit.graphql import (
    Connection,
    Forbidden,
    NotFound,
    ValidationError,
    VersionConflict,
    parse_uuid,
)
from crmkit.results import answer_query
from services.leads.domain import LeadStatus as Status
from services.leads.handlers import leads as h
from services.leads.ports import LeadFilter
from services.leads.records import LeadRecord
from services.leads.schema.context import Info, caller, uow
from services.leads.schema.results import (
    CREATE_LEAD,
    ERASE_LEAD,
    LEAD,
    DuplicateLead,
    InvalidLeadState,
)
from services.leads.schema.types import Lead, LeadStatus, gql_id


@strawberry.type
class LeadPayload:
    lead: Lead

    @classmethod
    def of(cls, record: LeadRecord) -> LeadPayload:
        return cls(lead=Lead.of(record))


@strawberry.type
class EraseLeadPayload:
    lead_id: strawberry.ID


CreateLeadResult = Annotated[
    LeadPayload | DuplicateLead | ValidationError | Forbidden, strawberry.union("CreateLeadResult")
]
LeadResult = Annotated[
    LeadPayload | ValidationError | NotFound | Forbidden | VersionConflict | InvalidLeadState,
    strawberry.union("LeadResult"),
]
EraseLeadResult = Annotated[
    EraseLeadPayload | ValidationError | NotFound | Forbidden | VersionConflict,
    strawberry.union("EraseLeadResult"),
]


@strawberry.input
class LeadInput:
    company: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = strawberry.field(
        default=None, description="Any format; national numbers read in the org's region."
    )
    website: str | None = None
    source: str | None = None
    notes: str | None = None
    tags: list[str] | None = None
    priority: int | None = strawberry.field(default=None, description="0 (default) to 100.")


@strawberry.input(description="Only the fields given change; null clears a field.")
class LeadUpdateInput:
    company: str | None = strawberry.UNSET
    contact_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    source: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    priority: int | None = strawberry.UNSET


@strawberry.input
class LeadFilterInput:
    status: LeadStatus | None = None
    owner_id: strawberry.ID | None = None
    pool_only: bool = False
    search: str | None = None


@strawberry.type
class LeadsQuery:
    @strawberry.field
    async def lead(self, info: Info, id: strawberry.ID) -> Lead | None:
        found: Lead | None = await Lead.resolve_reference(info, id)
        return found

    @strawberry.field(description="Leads the caller may see (a rep: own and pool; a manager: "
                      "the team's and pool; an admin: all), newest first.")  # type: ignore[untyped-decorator]
    async def leads(
        self, info: Info, first: int | None = None, after: str | None = None,
        filter: LeadFilterInput | None = None,
    ) -> Connection[Lead]:
        f = filter or LeadFilterInput()

        async def run() -> Connection[Lead]:
            lead_filter = LeadFilter(
                status=Status(f.status) if f.status else None,
                owner_id=parse_uuid(f.owner_id, "filter.ownerId") if f.owner_id else None,
                pool_only=f.pool_only, search=f.search.strip() if f.search else None,
            )
            page = await h.list_leads(
                h.ListLeads(await caller(info), first, after, lead_filter), uow(info))
            return Connection.of(page, Lead.of)

        return await answer_query(run())


@strawberry.type
class LeadsMutation:
    @strawberry.mutation(description="A new lead in the pool. DuplicateLead names a lead with "
                         "the same email, phone, or domain and company, unless allowDuplicate.")  # type: ignore[untyped-decorator]
    async def create_lead(
        self, info: Info, input: LeadInput, allow_duplicate: bool = False
    ) -> CreateLeadResult:
        data = h.LeadInput(
            company=input.company, contact_name=input.contact_name, email=input.email,
            phone=input.phone, website=input.website, source=input.source, notes=input.notes,
            tags=input.tags, priority=input.priority,
        )

        async def run() -> LeadPayload:
            return LeadPayload.of(await h.create_lead(
                h.CreateLead(await caller(info), data, allow_duplicate), uow(info)))

        return await CREATE_LEAD.answer(run())

    @strawberry.mutation(description="Change a lead's details; `version` guards against "
                         "overwriting someone else's change.")  # type: ignore[untyped-decorator]
    async def update_lead(
        self, info: Info, id: strawberry.ID, input: LeadUpdateInput, version: int | None = None,
    ) -> LeadResult:
        changes = {
            name: value for name in h.UPDATABLE
            if (value := getattr(input, name)) is not strawberry.UNSET
        }

        async def run() -> LeadPayload:
            return LeadPayload.of(await h.update_lead(
                h.UpdateLead(await caller(info), parse_uuid(id), changes, version), uow(info)))

        return await LEAD.answer(run())

    @strawberry.mutation(description="Erase a lead for good (the person behind it asked to be "
                         "forgotten): admins only. Copies in other services are dropped "
                         "too.")  # type: ignore[untyped-decorator]
    async def erase_lead(
        self, info: Info, id: strawberry.ID, version: int | None = None,
    ) -> EraseLeadResult:
        async def run() -> EraseLeadPayload:
            lead = await h.erase_lead(
                h.EraseLead(await caller(info), parse_uuid(id), version), uow(info))
            return EraseLeadPayload(lead_id=gql_id(lead.id))

        return await ERASE_LEAD.answer(run())

    @strawberry.mutation
    async def mark_contacted(self, info: Info, id: strawberry.ID) -> LeadResult:
        return await _status(info, id, Status.CONTACTED, None)

    @strawberry.mutation
    async def qualify_lead(self, info: Info, id: strawberry.ID) -> LeadResult:
        return await _status(info, id, Status.QUALIFIED, None)

    @strawberry.mutation
    async def disqualify_lead(self, info: Info, id: strawberry.ID, reason: str) -> LeadResult:
        return await _status(info, id, Status.DISQUALIFIED, reason)


async def _status(
    info: Info, id: strawberry.ID, status: Status, reason: str | None
) -> LeadPayload | ValidationError | NotFound | Forbidden | VersionConflict | InvalidLeadState:
    async def run() -> LeadPayload:
        return LeadPayload.of(await h.change_status(
            h.ChangeStatus(await caller(info), parse_uuid(id), status, reason), uow(info)))

    return await LEAD.answer(run())

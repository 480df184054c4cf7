"""The pool in GraphQL: claiming, releasing and assigning leads."""

from __future__ import annotations

from typing import Annotated

import strawberry

from crmkit.graphql import Forbidden, NotFound, ValidationError, parse_uuid
from services.leads.handlers import pool as h
from services.leads.ports import PoolFilter
from services.leads.schema.context import Info, caller, uow
from services.leads.schema.leads import LeadPayload, LeadResult
from services.leads.schema.results import CLAIM, COMMON, LEAD, CapExceeded, InvalidLeadState
from services.leads.schema.types import Lead


@strawberry.type
class LeadsPayload:
    leads: list[Lead]


@strawberry.type
class ClaimPayload:
    leads: list[Lead] = strawberry.field(description="Fewer than asked when the cap or the "
                                         "pool ran out.")
    requested: int
    lead_cap: int
    active_leads: int


ClaimLeadResult = Annotated[
    LeadPayload | CapExceeded | InvalidLeadState | ValidationError | NotFound | Forbidden,
    strawberry.union("ClaimLeadResult"),
]
ClaimNextLeadsResult = Annotated[
    ClaimPayload | ValidationError | NotFound | Forbidden, strawberry.union("ClaimNextLeadsResult")
]
AssignLeadsResult = Annotated[
    LeadsPayload | CapExceeded | InvalidLeadState | ValidationError | NotFound | Forbidden,
    strawberry.union("AssignLeadsResult"),
]


@strawberry.input
class PoolFilterInput:
    source: str | None = None
    tag: str | None = None
    min_priority: int | None = None


@strawberry.type
class PoolMutation:
    @strawberry.mutation(description="Take one pool lead, within the caller's cap.")  # type: ignore[untyped-decorator]
    async def claim_lead(self, info: Info, id: strawberry.ID) -> ClaimLeadResult:
        async def run() -> LeadPayload:
            return LeadPayload.of(await h.claim_lead(
                h.ClaimLead(await caller(info), parse_uuid(id)), uow(info)))

        return await CLAIM.answer(run())

    @strawberry.mutation(description="Take the highest-priority, oldest pool leads: `count` "
                         "or as many as the caller's cap still allows.")  # type: ignore[untyped-decorator]
    async def claim_next_leads(
        self, info: Info, count: int = 1, filter: PoolFilterInput | None = None,
    ) -> ClaimNextLeadsResult:
        f = filter or PoolFilterInput()

        async def run() -> ClaimPayload:
            result = await h.claim_next_leads(h.ClaimNextLeads(
                await caller(info), count, PoolFilter(f.source, f.tag, f.min_priority)),
                uow(info))
            return ClaimPayload(leads=[Lead.of(r) for r in result.leads],
                                requested=result.requested, lead_cap=result.lead_cap,
                                active_leads=result.active_leads)

        return await COMMON.answer(run())

    @strawberry.mutation(description="Return a lead to the pool.")  # type: ignore[untyped-decorator]
    async def release_lead(self, info: Info, id: strawberry.ID) -> LeadResult:
        async def run() -> LeadPayload:
            return LeadPayload.of(await h.release_lead(
                h.ReleaseLead(await caller(info), parse_uuid(id)), uow(info)))

        return await LEAD.answer(run())

    @strawberry.mutation(description="Give leads to a member (managers: their team; admins: "
                         "anyone). All or nothing: CapExceeded says how many would fit.")  # type: ignore[untyped-decorator]
    async def assign_leads(
        self, info: Info, ids: list[strawberry.ID], member_id: strawberry.ID,
    ) -> AssignLeadsResult:
        async def run() -> LeadsPayload:
            lead_ids = [parse_uuid(i, "ids") for i in ids]
            records = await h.assign_leads(h.AssignLeads(
                await caller(info), lead_ids, parse_uuid(member_id, "memberId")), uow(info))
            return LeadsPayload(leads=[Lead.of(r) for r in records])

        return await CLAIM.answer(run())

    @strawberry.mutation(description="Move one lead to another member, within their cap.")  # type: ignore[untyped-decorator]
    async def reassign_lead(
        self, info: Info, id: strawberry.ID, member_id: strawberry.ID
    ) -> ClaimLeadResult:
        async def run() -> LeadPayload:
            [lead] = await h.assign_leads(h.AssignLeads(
                await caller(info), [parse_uuid(id)], parse_uuid(member_id, "memberId")),
                uow(info))
            return LeadPayload.of(lead)

        return await CLAIM.answer(run())

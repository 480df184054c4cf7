"""Opportunities in GraphQL: the opportunity with its pipeline, stage, history and activities,
the lists, and the changes (create, edit, move, close, reopen). Thin: resolvers call the
handlers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from crmkit import paging
from crmkit.commands import ById
from crmkit.errors import DomainError, ProblemCollector
from crmkit.graphql import CommonError, Connection, GraphQLContext
from crmkit.references import load_entity
from crmkit.results import answer_query, common_errors_and
from crmkit.schema_context import gid, optional_id, parse_id
from services.pipeline import domain as d
from services.pipeline.handlers import activities as activity_handlers
from services.pipeline.handlers import configuration as config_handlers
from services.pipeline.handlers import notes as note_handlers
from services.pipeline.handlers import opportunities as h
from services.pipeline.handlers.common import OfOpportunity, now
from services.pipeline.schema.activities import Activity, activity_list
from services.pipeline.schema.configuration import LostReason, Pipeline, Stage
from services.pipeline.schema.context import Info, caller, caller_of, uow, uow_of
from services.pipeline.schema.notes import Note
from services.pipeline.schema.references import Account, Member

strawberry.enum(d.OpportunityStatus)
strawberry.enum(d.OpportunityOrder, description=(
    "NEWEST: created, newest first; RECENTLY_UPDATED: changed, latest first; CLOSING_SOONEST: "
    "by expected close date, those without one last; RECENTLY_CLOSED: won or lost, latest "
    "first, open ones last."))
ID = strawberry.ID


class PipelineSource:
    """Where the opportunities of one request find their pipelines: loaded (through the
    process's cache, checked against the versions) at most once, however many nodes ask."""

    def __init__(self, context: GraphQLContext) -> None:
        self._context = context
        self._pipelines: Mapping[uuid.UUID, d.Pipeline] | None = None
        self._lock = asyncio.Lock()

    def know(self, pipelines: Mapping[uuid.UUID, d.Pipeline] | None) -> None:
        if pipelines is not None and self._pipelines is None:
            self._pipelines = pipelines

    def known(self) -> Mapping[uuid.UUID, d.Pipeline] | None:
        """The pipelines, if this request has loaded them already."""
        return self._pipelines

    async def load(self) -> Mapping[uuid.UUID, d.Pipeline]:
        async with self._lock:
            if self._pipelines is None:
                query = h.OrgPipelines(caller_of(self._context))
                self._pipelines = await h.org_pipelines(query, uow_of(self._context))
        return self._pipelines

    async def get(self, pipeline_id: uuid.UUID) -> d.Pipeline | None:
        return (await self.load()).get(pipeline_id)


def pipelines_of(context: GraphQLContext) -> PipelineSource:
    return context.shared("crm.pipeline.pipelines", lambda: PipelineSource(context))


async def opportunities_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Opportunity]:
    query = ById(caller_of(context), ids)
    return await h.opportunities_by_id(query, uow_of(context))


@strawberry.type
class Money:
    amount: Decimal
    currency: str


@strawberry.type
class Qualification:
    needs: str | None
    pain_points: str | None
    budget: Money | None
    decision_makers: str | None
    customer_preferences: str | None
    offer_requirements: str | None


@strawberry.type
class Negotiation:
    price: str | None
    terms: str | None
    delivery: str | None
    contract: str | None


@strawberry.type
class StageChange:
    from_stage_id: strawberry.ID
    to_stage_id: strawberry.ID
    changed_at: datetime
    changed_by: Member | None
    seconds_in_previous_stage: int


@strawberry.type(description="A handover of the deal to another owner.")
class OwnerChange:
    previous_owner: Member
    new_owner: Member
    changed_at: datetime
    changed_by: Member


@strawberry.federation.type(keys=["id"])
class Opportunity:
    id: strawberry.ID
    name: str
    amount: Decimal
    currency: str
    expected_close_date: date | None
    account_id: strawberry.ID | None
    account: Account | None
    owner_id: strawberry.ID
    owner: Member
    team: str | None
    pipeline_id: strawberry.ID
    stage_id: strawberry.ID
    status: d.OpportunityStatus
    probability: int
    qualification: Qualification
    negotiation: Negotiation
    close_reason_id: strawberry.ID | None
    close_comment: str | None
    lessons_learned: str | None
    closed_at: datetime | None
    contact_made: bool
    offer_issued: bool
    next_contact_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    stage_entered_at: datetime
    domain: strawberry.Private[d.Opportunity]

    @classmethod
    def of(cls, o: d.Opportunity) -> Opportunity:
        # Ids built inline, not through a helper: a page builds 50 of these (~350 calls).
        q, n = o.qualification, o.negotiation
        budget = (
            Money(amount=q.budget_amount, currency=q.budget_currency or o.currency)
            if q.budget_amount is not None else None
        )
        return cls(
            id=ID(str(o.id)), name=o.name, amount=o.amount, currency=o.currency,
            expected_close_date=o.expected_close_date,
            account_id=ID(str(o.account_id)) if o.account_id else None,
            account=Account(id=ID(str(o.account_id))) if o.account_id else None,
            owner_id=ID(str(o.owner_id)), owner=Member(id=ID(str(o.owner_id))), team=o.team,
            pipeline_id=ID(str(o.pipeline_id)), stage_id=ID(str(o.stage_id)), status=o.status,
            probability=o.probability,
            qualification=Qualification(
                needs=q.needs, pain_points=q.pain_points, budget=budget,
                decision_makers=q.decision_makers, customer_preferences=q.customer_preferences,
                offer_requirements=q.offer_requirements,
            ),
            negotiation=Negotiation(price=n.price, terms=n.terms, delivery=n.delivery,
                                    contract=n.contract),
            close_reason_id=ID(str(o.close_reason_id)) if o.close_reason_id else None,
            close_comment=o.close_comment,
            lessons_learned=o.lessons_learned, closed_at=o.closed_at,
            contact_made=o.contact_made_at is not None,
            offer_issued=o.offer_issued_at is not None, next_contact_at=o.next_contact_at,
            version=o.version, created_at=o.created_at, updated_at=o.updated_at,
            stage_entered_at=o.stage_entered_at, domain=o,
        )

    async def _stage(self, info: Info) -> d.Stage | None:
        found = await pipelines_of(info.context).get(self.domain.pipeline_id)
        return found.stage(self.domain.stage_id) if found else None

    @strawberry.field
    async def pipeline(self, info: Info) -> Pipeline | None:
        found = await pipelines_of(info.context).get(self.domain.pipeline_id)
        return Pipeline.of(found) if found else None

    @strawberry.field
    async def stage(self, info: Info) -> Stage | None:
        stage = await self._stage(info)
        return Stage.of(stage) if stage else None

    @strawberry.field(  # type: ignore[untyped-decorator]
        graphql_type=bool, description="Longer in its stage than the stage's rotting days."
    )
    def is_stale(self, info: Info) -> bool | Awaitable[bool]:
        # At once when the request holds the pipelines (a list that asks for this loads them
        # first): an awaited answer on each of a board's 500 cards was a third of its CPU.
        known = pipelines_of(info.context).known()
        if known is None:
            return self._is_stale_later(info)
        pipeline = known.get(self.domain.pipeline_id)
        stage = pipeline.stage(self.domain.stage_id) if pipeline else None
        return stage is not None and d.is_stale(self.domain, stage, now())

    async def _is_stale_later(self, info: Info) -> bool:
        stage = await self._stage(info)
        return stage is not None and d.is_stale(self.domain, stage, now())

    @strawberry.field
    async def close_reason(self, info: Info) -> LostReason | None:
        if self.domain.close_reason_id is None:
            return None
        query = config_handlers.LostReasonById(caller(info), self.domain.close_reason_id)
        reason = await config_handlers.lost_reason(query, uow(info))
        return LostReason.of(reason) if reason else None

    @strawberry.field(description="Every stage change, oldest first.")  # type: ignore[untyped-decorator]
    async def history(self, info: Info) -> list[StageChange]:
        query = OfOpportunity(caller(info), self.domain)
        return [
            StageChange(
                from_stage_id=gid(c.from_stage_id), to_stage_id=gid(c.to_stage_id),
                changed_at=c.changed_at,
                changed_by=Member(id=gid(c.changed_by)) if c.changed_by else None,
                seconds_in_previous_stage=c.seconds_in_previous_stage,
            )
            for c in await answer_query(h.opportunity_history(query, uow(info)))
        ]

    @strawberry.field(description="Every handover to another owner, oldest first.")  # type: ignore[untyped-decorator]
    async def handovers(self, info: Info) -> list[OwnerChange]:
        query = OfOpportunity(caller(info), self.domain)
        return [
            OwnerChange(previous_owner=Member(id=gid(c.from_owner_id)),
                        new_owner=Member(id=gid(c.to_owner_id)), changed_at=c.changed_at,
                        changed_by=Member(id=gid(c.changed_by)))
            for c in await answer_query(h.opportunity_handovers(query, uow(info)))
        ]

    @strawberry.field(description="The deal's notes, newest first (up to 200).")  # type: ignore[untyped-decorator]
    async def notes(self, info: Info) -> list[Note]:
        query = OfOpportunity(caller(info), self.domain)
        return [Note.of(n) for n in await answer_query(note_handlers.deal_notes(query,
                                                                                 uow(info)))]

    @strawberry.field(description="The opportunity's activities by due time (up to 200).")  # type: ignore[untyped-decorator]
    async def activities(self, info: Info) -> list[Activity]:
        query = activity_handlers.ListActivities(
            caller(info), opportunity_id=self.domain.id, first=paging.MAX_PAGE_SIZE
        )
        return await activity_list(info, query)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Opportunity | None:
        found = await load_entity(info, opportunities_by_id, id)
        return cls.of(found) if found else None


@strawberry.type
class GateNotSatisfied:
    """The target stage's entry requirements are not met; nothing was changed."""

    message: str
    stage_id: strawberry.ID
    stage_name: str
    missing: list[d.Requirement]


@strawberry.type
class OpportunityPayload:
    opportunity: Opportunity


OpportunityResult = Annotated[
    OpportunityPayload | CommonError | GateNotSatisfied, strawberry.union("OpportunityResult")
]


def _gate(error: DomainError) -> GateNotSatisfied | None:
    if not isinstance(error, d.GateNotSatisfiedError):
        return None
    return GateNotSatisfied(message=error.message, stage_id=gid(error.stage_id),
                            stage_name=error.stage_name, missing=list(error.missing))


OPPORTUNITY_ERRORS = common_errors_and(GateNotSatisfied, _gate)


async def answer_opportunity(
    run: Awaitable[d.Opportunity],
) -> OpportunityPayload | CommonError | GateNotSatisfied:
    async def payload() -> OpportunityPayload:
        return OpportunityPayload(opportunity=Opportunity.of(await run))

    return await OPPORTUNITY_ERRORS.answer(payload())


@strawberry.input
class CreateOpportunityInput:
    name: str
    amount: Decimal
    currency: str
    expected_close_date: date | None = None
    account_id: strawberry.ID | None = None
    owner_id: strawberry.ID | None = None
    team: str | None = None
    pipeline_id: strawberry.ID | None = None


@strawberry.input(description="Fields to change; omitted fields stay, `clear` empties them.")
class OpportunityPatchInput:
    name: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    expected_close_date: date | None = None
    account_id: strawberry.ID | None = None
    probability: int | None = None
    needs: str | None = None
    pain_points: str | None = None
    budget_amount: Decimal | None = None
    budget_currency: str | None = None
    decision_makers: str | None = None
    customer_preferences: str | None = None
    offer_requirements: str | None = None
    negotiation_price: str | None = None
    negotiation_terms: str | None = None
    negotiation_delivery: str | None = None
    negotiation_contract: str | None = None
    lessons_learned: str | None = None
    clear: list[str] | None = None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


# The API's name of each field ``clear`` may name -> the domain's.
_CLEARABLE = {
    "expectedCloseDate": "expected_close_date",
    "accountId": "account_id",
    "budget": "budget",
    **{_camel(name): name for name in d.EDITABLE_TEXT},
}


def _patch(p: OpportunityPatchInput) -> d.OpportunityPatch:
    problems = ProblemCollector()
    cleared: set[str] = set()
    for i, name in enumerate(p.clear or []):
        if name not in _CLEARABLE:
            problems.add(f"patch.clear.{i}", f"'{name}' cannot be cleared")
        else:
            cleared.add(_CLEARABLE[name])
    account_id = optional_id(p.account_id, "patch.accountId")
    problems.raise_if_any()
    text = {name: getattr(p, name) for name in d.EDITABLE_TEXT if getattr(p, name) is not None}
    return d.OpportunityPatch(
        name=p.name, amount=p.amount, currency=p.currency,
        expected_close_date=p.expected_close_date, account_id=account_id,
        probability=p.probability, budget_amount=p.budget_amount,
        budget_currency=p.budget_currency, text=text, cleared=frozenset(cleared),
    )


@strawberry.input
class OpportunityFilter:
    owner_ids: list[strawberry.ID] | None = None
    stage_ids: list[strawberry.ID] | None = None
    statuses: list[d.OpportunityStatus] | None = None
    pipeline_id: strawberry.ID | None = None
    close_from: date | None = None
    close_to: date | None = None
    stale: bool = False
    no_next_contact: bool = False
    text: str | None = None
    account_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The deals of these clients.")


def _filter(f: OpportunityFilter | None) -> h.OpportunityFilter:
    if f is None:
        return h.OpportunityFilter()
    return h.OpportunityFilter(
        owner_ids=[parse_id(v, f"filter.ownerIds.{i}") for i, v in enumerate(f.owner_ids or [])],
        stage_ids=[parse_id(v, f"filter.stageIds.{i}") for i, v in enumerate(f.stage_ids or [])],
        statuses=list(f.statuses or []),
        pipeline_id=optional_id(f.pipeline_id, "filter.pipelineId"),
        account_ids=[parse_id(v, f"filter.accountIds.{i}")
                     for i, v in enumerate(f.account_ids or [])],
        close_from=f.close_from, close_to=f.close_to, stale=f.stale,
        no_next_contact=f.no_next_contact, text=f.text.strip() if f.text else None,
    )


def _selects(selections: Sequence[Any], name: str) -> bool:
    """Whether a field of this name is asked for anywhere under these selections."""
    return any(
        getattr(s, "name", None) == name or _selects(getattr(s, "selections", ()), name)
        for s in selections
    )


async def _connection(
    info: Info, filter: h.OpportunityFilter | OpportunityFilter | None, first: int | None,
    after: str | None, order: d.OpportunityOrder = d.OpportunityOrder.NEWEST,
) -> Connection[Opportunity]:
    async def run() -> Connection[Opportunity]:
        checked = filter if isinstance(filter, h.OpportunityFilter) else _filter(filter)
        query = h.ListOpportunities(caller(info), checked, first, after, order)
        found = await h.list_opportunities(query, uow(info))
        pipelines = pipelines_of(info.context)
        pipelines.know(found.pipelines)
        if found.page.items and _selects(info.selected_fields, "isStale"):
            await pipelines.load()  # once, so that every node answers isStale at once
        return Connection.of(found.page, Opportunity.of)

    return await answer_query(run())


@strawberry.type
class OpportunitiesQuery:
    @strawberry.field
    async def opportunity(self, info: Info, id: strawberry.ID) -> Opportunity | None:
        await answer_query(_parsed(id))
        return await Opportunity.resolve_reference(info, id)

    @strawberry.field(description="Opportunities the caller may see, newest first unless "
                      "`orderBy` says otherwise (a cursor belongs to its order).")  # type: ignore[untyped-decorator]
    async def opportunities(
        self,
        info: Info,
        filter: OpportunityFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: d.OpportunityOrder = d.OpportunityOrder.NEWEST,
    ) -> Connection[Opportunity]:
        return await _connection(info, filter, first, after, order_by)

    @strawberry.field(description="Open opportunities longer in their stage than it allows.")  # type: ignore[untyped-decorator]
    async def stale_opportunities(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Opportunity]:
        return await _connection(info, h.OpportunityFilter(stale=True), first, after)

    @strawberry.field(description="Open opportunities with no open activity scheduled.")  # type: ignore[untyped-decorator]
    async def opportunities_without_next_contact(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Opportunity]:
        return await _connection(info, h.OpportunityFilter(no_next_contact=True), first, after)


async def _parsed(id: strawberry.ID) -> uuid.UUID:
    return parse_id(id, "id")


@strawberry.type
class OpportunitiesMutation:
    @strawberry.mutation
    async def create_opportunity(
        self, info: Info, input: CreateOpportunityInput
    ) -> OpportunityResult:
        async def run() -> d.Opportunity:
            cmd = h.CreateOpportunity(
                caller=caller(info),
                data=d.NewOpportunity(
                    name=input.name, amount=input.amount, currency=input.currency,
                    expected_close_date=input.expected_close_date,
                    account_id=optional_id(input.account_id, "input.accountId"),
                ),
                owner_id=optional_id(input.owner_id, "input.ownerId"),
                team=input.team,
                pipeline_id=optional_id(input.pipeline_id, "input.pipelineId"),
            )
            return await h.create_opportunity(cmd, uow(info))

        return await answer_opportunity(run())

    @strawberry.mutation
    async def update_opportunity(
        self, info: Info, id: strawberry.ID, expected_version: int,
        patch: OpportunityPatchInput,
    ) -> OpportunityResult:
        async def run() -> d.Opportunity:
            cmd = h.UpdateOpportunity(caller(info), parse_id(id, "id"), expected_version,
                                      _patch(patch))
            return await h.update_opportunity(cmd, uow(info))

        return await answer_opportunity(run())

    @strawberry.mutation(description="Hand an open deal to another member (a manager within "
                         "their team, an admin anyone); its open activities go with it.")  # type: ignore[untyped-decorator]
    async def reassign_opportunity(
        self, info: Info, id: strawberry.ID, expected_version: int, owner_id: strawberry.ID,
    ) -> OpportunityResult:
        async def run() -> d.Opportunity:
            cmd = h.ReassignOpportunity(caller(info), parse_id(id, "id"), expected_version,
                                        parse_id(owner_id, "ownerId"))
            return await h.reassign_opportunity(cmd, uow(info))

        return await answer_opportunity(run())

    @strawberry.mutation(description="Forwards or backwards to another open stage.")  # type: ignore[untyped-decorator]
    async def move_opportunity(
        self, info: Info, id: strawberry.ID, stage_id: strawberry.ID, expected_version: int,
    ) -> OpportunityResult:
        async def run() -> d.Opportunity:
            cmd = h.MoveOpportunity(caller(info), parse_id(id, "id"),
                                    parse_id(stage_id, "stageId"), expected_version)
            return await h.move_opportunity(cmd, uow(info))

        return await answer_opportunity(run())

    @strawberry.mutation
    async def mark_won(
        self, info: Info, id: strawberry.ID, comment: str | None = None,
        expected_version: int | None = None,
    ) -> OpportunityResult:
        async def run() -> d.Opportunity:
            cmd = h.MarkWon(caller(info), parse_id(id, "id"), comment, expected_version)
            return await h.mark_won(cmd, uow(info))

        return await answer_opportunity(run())

    @strawberry.mutation
    async def mark_lost(
        self, info: Info, id: strawberry.ID, reason_id: strawberry.ID | None = None,
        comment: str | None = None, expected_version: int | None = None,
    ) -> OpportunityResult:
        async def run() -> d.Opportunity:
            cmd = h.MarkLost(caller(info), parse_id(id, "id"),
                             optional_id(reason_id, "reasonId"), comment, expected_version)
            return await h.mark_lost(cmd, uow(info))

        return await answer_opportunity(run())

    @strawberry.mutation(description="Manager or admin: back to the stage it was closed from.")  # type: ignore[untyped-decorator]
    async def reopen_opportunity(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> OpportunityResult:
        async def run() -> d.Opportunity:
            cmd = h.ReopenOpportunity(caller(info), parse_id(id, "id"), expected_version)
            return await h.reopen_opportunity(cmd, uow(info))

        return await answer_opportunity(run())

"""The pipeline subgraph: GraphQL types, queries and mutations. Thin: resolvers turn input
into commands, call the handlers and map domain errors to typed results."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeVar

import asyncpg
import strawberry
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from strawberry.federation import Schema
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from crmkit import graphql as kit
from crmkit import paging
from crmkit.auth import Caller
from crmkit.db import driver_connection
from crmkit.errors import DomainError, InvalidInput, ProblemCollector
from crmkit.outbox import outbox_committed
from crmkit.references import entity_loader, load_entity
from crmkit.results import query_error
from services.pipeline import direct
from services.pipeline import domain as d
from services.pipeline import handlers as h
from services.pipeline.execution import PlainLeafExecutionContext
from services.pipeline.pipeline_cache import PipelineCache
from services.pipeline.repository import ActivityQuery, OpportunityQuery, PipelineRepository

T = TypeVar("T")


@dataclass(frozen=True)
class PipelineState:
    """What resolvers reach through ``info.context.state``."""

    sessions: async_sessionmaker[AsyncSession]
    outbox: Table
    pipelines: PipelineCache = field(default_factory=PipelineCache)
    # Tells this process's outbox relay that events were committed without a NOTIFY.
    wake_relay: Callable[[], None] = outbox_committed

    def work(self) -> h.PipelineUnitOfWork:
        return h.PipelineUnitOfWork(self.sessions, self.outbox)

    def connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A driver connection for the hot paths' SQL (``direct``)."""
        engine = self.sessions.kw["bind"]
        assert isinstance(engine, AsyncEngine)
        return driver_connection(engine)


class PipelineSource:
    """Where the opportunities of one answer find their pipelines: loaded (through the
    cache, checked against the versions) at most once, however many nodes ask."""

    def __init__(self, state: PipelineState, org_id: uuid.UUID,
                 known: dict[uuid.UUID, d.Pipeline] | None = None) -> None:
        self._state = state
        self._org_id = org_id
        self._pipelines = known
        self._lock = asyncio.Lock()

    async def get(self, pipeline_id: uuid.UUID) -> d.Pipeline | None:
        async with self._lock:
            if self._pipelines is None:
                async with self._state.connection() as conn:
                    self._pipelines = await self._state.pipelines.current(conn, self._org_id)
        return self._pipelines.get(pipeline_id)


def _state(info: strawberry.Info) -> PipelineState:
    state: PipelineState = info.context.state
    return state


def _caller(info: strawberry.Info) -> Caller:
    caller = info.context.caller
    if caller is None:
        raise PermissionError("a bearer token is required")
    assert isinstance(caller, Caller)
    return caller


# ------------------------------------------------------------------------ enums


@strawberry.enum
class OpportunityStatus(Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@strawberry.enum
class StageKind(Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@strawberry.enum
class ActivityKind(Enum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TASK = "task"


@strawberry.enum
class ActivityStatus(Enum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


@strawberry.enum
class Requirement(Enum):
    CONTACT_MADE = "contact_made"
    NEXT_CONTACT_SCHEDULED = "next_contact_scheduled"
    NEEDS = "needs"
    PAIN_POINTS = "pain_points"
    BUDGET = "budget"
    DECISION_MAKER = "decision_maker"
    OFFER_ISSUED = "offer_issued"
    CLOSE_REASON = "close_reason"
    CLOSE_COMMENT = "close_comment"


@strawberry.enum
class Locale(Enum):
    EN = "en"
    PL = "pl"


# ------------------------------------------------------- federation references


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class Account:
    """A client of the leads service, resolved there."""

    id: strawberry.ID


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class Member:
    """A member of the sales roster, resolved by the leads service."""

    id: strawberry.ID


# ------------------------------------------------------------------------ types


@strawberry.type
class Money:
    amount: Decimal
    currency: str


@strawberry.type
class Stage:
    id: strawberry.ID
    pipeline_id: strawberry.ID
    name: str
    position: int
    probability: int
    kind: StageKind
    rotting_days: int | None
    requirements: list[Requirement]

    @classmethod
    def of(cls, s: d.Stage) -> Stage:
        return cls(
            id=strawberry.ID(str(s.id)), pipeline_id=strawberry.ID(str(s.pipeline_id)),
            name=s.name, position=s.position, probability=s.probability,
            kind=StageKind(s.kind.value), rotting_days=s.rotting_days,
            requirements=[Requirement(r.value) for r in s.requirements],
        )


@strawberry.type
class Pipeline:
    id: strawberry.ID
    name: str
    is_default: bool
    version: int
    stages: list[Stage]

    @classmethod
    def of(cls, p: d.Pipeline) -> Pipeline:
        return cls(
            id=strawberry.ID(str(p.id)), name=p.name, is_default=p.is_default,
            version=p.version, stages=[Stage.of(s) for s in p.ordered_stages()],
        )


@strawberry.type
class LostReason:
    id: strawberry.ID
    label: str
    code: str | None
    active: bool
    position: int

    @classmethod
    def of(cls, r: d.LostReason) -> LostReason:
        return cls(id=strawberry.ID(str(r.id)), label=r.label, code=r.code, active=r.active,
                   position=r.position)


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


@strawberry.federation.type(keys=["id"])
class Activity:
    id: strawberry.ID
    opportunity_id: strawberry.ID
    owner: Member
    kind: ActivityKind
    subject: str
    notes: str | None
    due_at: datetime
    status: ActivityStatus
    completed_at: datetime | None
    outcome: str | None
    overdue: bool
    version: int
    created_at: datetime

    @classmethod
    def of(cls, a: d.Activity, now: datetime) -> Activity:
        return cls(
            id=strawberry.ID(str(a.id)), opportunity_id=strawberry.ID(str(a.opportunity_id)),
            owner=Member(id=strawberry.ID(str(a.owner_id))), kind=ActivityKind(a.kind.value),
            subject=a.subject, notes=a.notes, due_at=a.due_at,
            status=ActivityStatus(a.status.value), completed_at=a.completed_at,
            outcome=a.outcome,
            overdue=a.status is d.ActivityStatus.OPEN and a.due_at < now,
            version=a.version, created_at=a.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> Activity | None:
        return await load_entity(info, _activities_by_id, id)


async def _activities_by_id(
    context: kit.GraphQLContext, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Activity]:
    """Entity references: the visible activities among ``ids``, one query."""
    caller = context.caller
    state: PipelineState = context.state
    async with state.sessions() as session:
        found = await PipelineRepository(session).activities(caller.org_id, ids)
    now = h.utcnow()
    return {a.id: Activity.of(a, now) for a in found
            if d.can_see(caller, a.org_id, a.owner_id, a.team)}


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
    status: OpportunityStatus
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
    pipelines: strawberry.Private[PipelineSource | None]

    @classmethod
    def of(cls, o: d.Opportunity, pipelines: PipelineSource | None = None) -> Opportunity:
        q, n = o.qualification, o.negotiation
        budget = (
            Money(amount=q.budget_amount, currency=q.budget_currency or o.currency)
            if q.budget_amount is not None else None
        )
        return cls(
            id=strawberry.ID(str(o.id)), name=o.name, amount=o.amount, currency=o.currency,
            expected_close_date=o.expected_close_date,
            account_id=strawberry.ID(str(o.account_id)) if o.account_id else None,
            account=Account(id=strawberry.ID(str(o.account_id))) if o.account_id else None,
            owner_id=strawberry.ID(str(o.owner_id)),
            owner=Member(id=strawberry.ID(str(o.owner_id))), team=o.team,
            pipeline_id=strawberry.ID(str(o.pipeline_id)),
            stage_id=strawberry.ID(str(o.stage_id)),
            status=OpportunityStatus(o.status.value), probability=o.probability,
            qualification=Qualification(
                needs=q.needs, pain_points=q.pain_points, budget=budget,
                decision_makers=q.decision_makers, customer_preferences=q.customer_preferences,
                offer_requirements=q.offer_requirements,
            ),
            negotiation=Negotiation(price=n.price, terms=n.terms, delivery=n.delivery,
                                    contract=n.contract),
            close_reason_id=strawberry.ID(str(o.close_reason_id)) if o.close_reason_id else None,
            close_comment=o.close_comment, lessons_learned=o.lessons_learned,
            closed_at=o.closed_at, contact_made=o.contact_made_at is not None,
            offer_issued=o.offer_issued_at is not None, next_contact_at=o.next_contact_at,
            version=o.version, created_at=o.created_at, updated_at=o.updated_at,
            stage_entered_at=o.stage_entered_at, domain=o, pipelines=pipelines,
        )

    async def _pipeline(self, info: strawberry.Info) -> d.Pipeline | None:
        if self.pipelines is None:
            self.pipelines = PipelineSource(_state(info), self.domain.org_id)
        return await self.pipelines.get(self.domain.pipeline_id)

    @strawberry.field
    async def pipeline(self, info: strawberry.Info) -> Pipeline | None:
        found = await self._pipeline(info)
        return Pipeline.of(found) if found else None

    @strawberry.field
    async def stage(self, info: strawberry.Info) -> Stage | None:
        found = await self._pipeline(info)
        stage = found.stage(self.domain.stage_id) if found else None
        return Stage.of(stage) if stage else None

    @strawberry.field(description="Longer in its stage than the stage's rotting days.")  # type: ignore[untyped-decorator]
    async def is_stale(self, info: strawberry.Info) -> bool:
        found = await self._pipeline(info)
        stage = found.stage(self.domain.stage_id) if found else None
        return stage is not None and d.is_stale(self.domain, stage, h.utcnow())

    @strawberry.field
    async def close_reason(self, info: strawberry.Info) -> LostReason | None:
        if self.domain.close_reason_id is None:
            return None
        async with _state(info).sessions() as session:
            reason = await PipelineRepository(session).lost_reason(
                self.domain.org_id, self.domain.close_reason_id
            )
        return LostReason.of(reason) if reason else None

    @strawberry.field(description="Every stage change, oldest first.")  # type: ignore[untyped-decorator]
    async def history(self, info: strawberry.Info) -> list[StageChange]:
        async with _state(info).sessions() as session:
            changes = await PipelineRepository(session).history(
                self.domain.org_id, self.domain.id
            )
        return [
            StageChange(
                from_stage_id=strawberry.ID(str(c.from_stage_id)),
                to_stage_id=strawberry.ID(str(c.to_stage_id)),
                changed_at=c.changed_at,
                changed_by=Member(id=strawberry.ID(str(c.changed_by))) if c.changed_by else None,
                seconds_in_previous_stage=c.seconds_in_previous_stage,
            )
            for c in changes
        ]

    @strawberry.field(description="The opportunity's activities by due time (up to 200).")  # type: ignore[untyped-decorator]
    async def activities(self, info: strawberry.Info) -> list[Activity]:
        caller = _caller(info)
        async with _state(info).sessions() as session:
            found = await PipelineRepository(session).activity_page(
                caller, ActivityQuery(opportunity_id=self.domain.id), limit=paging.MAX_PAGE_SIZE,
                after=None,
            )
        now = h.utcnow()
        return [Activity.of(a, now) for a in found[: paging.MAX_PAGE_SIZE]]

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info, id: strawberry.ID
    ) -> Opportunity | None:
        return await load_entity(info, _opportunities_by_id, id)


async def _opportunities_by_id(
    context: kit.GraphQLContext, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Opportunity]:
    """Entity references: the visible opportunities among ``ids``, one query, their
    pipelines loaded once for all."""
    caller = context.caller
    state: PipelineState = context.state
    async with state.connection() as conn:
        found = await direct.load_opportunities(conn, caller.org_id, ids)
    pipelines = PipelineSource(state, caller.org_id)
    return {o.id: Opportunity.of(o, pipelines) for o in found
            if d.can_see(caller, o.org_id, o.owner_id, o.team)}


async def _visible_opportunity(info: strawberry.Info, opp_id: uuid.UUID) -> Opportunity | None:
    return await entity_loader(info.context, _opportunities_by_id).load(opp_id)


@strawberry.type
class OpportunityEdge:
    cursor: str
    node: Opportunity


@strawberry.type
class OpportunityConnection:
    edges: list[OpportunityEdge]
    page_info: kit.PageInfo


@strawberry.type
class ActivityEdge:
    cursor: str
    node: Activity


@strawberry.type
class ActivityConnection:
    edges: list[ActivityEdge]
    page_info: kit.PageInfo


@strawberry.type
class OrganizationSettings:
    locale: Locale


# ----------------------------------------------------------------------- errors


@strawberry.type
class GateNotSatisfied:
    """The target stage's entry requirements are not met; nothing was changed."""

    message: str
    stage_id: strawberry.ID
    stage_name: str
    missing: list[Requirement]


@strawberry.type
class OpportunityPayload:
    opportunity: Opportunity


@strawberry.type
class ActivityPayload:
    activity: Activity


@strawberry.type
class PipelinePayload:
    pipeline: Pipeline


@strawberry.type
class LostReasonPayload:
    lost_reason: LostReason


@strawberry.type
class OrganizationSettingsPayload:
    settings: OrganizationSettings


_ERRORS = kit.ValidationError | kit.NotFound | kit.Forbidden | kit.VersionConflict
OpportunityResult = Annotated[
    OpportunityPayload | _ERRORS | GateNotSatisfied, strawberry.union("OpportunityResult")
]
ActivityResult = Annotated[ActivityPayload | _ERRORS, strawberry.union("ActivityResult")]
PipelineResult = Annotated[PipelinePayload | _ERRORS, strawberry.union("PipelineResult")]
LostReasonResult = Annotated[LostReasonPayload | _ERRORS, strawberry.union("LostReasonResult")]
OrganizationSettingsResult = Annotated[
    OrganizationSettingsPayload | _ERRORS, strawberry.union("OrganizationSettingsResult")
]


async def _answer(call: Callable[[], Awaitable[Any]]) -> Any:
    """Run a use case; a refusal becomes its typed error, never an exception."""
    try:
        return await call()
    except d.GateNotSatisfiedError as error:
        return GateNotSatisfied(
            message=error.message, stage_id=strawberry.ID(str(error.stage_id)),
            stage_name=error.stage_name, missing=[Requirement(r.value) for r in error.missing],
        )
    except DomainError as error:
        return kit.error_result(error)


def _id(value: strawberry.ID, path: str) -> uuid.UUID:
    return kit.parse_uuid(str(value), path)


def _optional_id(value: strawberry.ID | None, path: str) -> uuid.UUID | None:
    return None if value is None else _id(value, path)


# ----------------------------------------------------------------------- inputs


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


_CLEARABLE = {
    "expectedCloseDate": "expected_close_date",
    "accountId": "account_id",
    "budget": "budget",
    **{kit_name: name for name in d.EDITABLE_TEXT
       for kit_name in [name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])]},
}


def _patch(p: OpportunityPatchInput) -> d.OpportunityPatch:
    problems = ProblemCollector()
    cleared: set[str] = set()
    for i, name in enumerate(p.clear or []):
        if name not in _CLEARABLE:
            problems.add(f"patch.clear.{i}", f"'{name}' cannot be cleared")
        else:
            cleared.add(_CLEARABLE[name])
    account_id = _optional_id(p.account_id, "patch.accountId")
    problems.raise_if_any()
    text = {name: getattr(p, name) for name in d.EDITABLE_TEXT if getattr(p, name) is not None}
    return d.OpportunityPatch(
        name=p.name, amount=p.amount, currency=p.currency,
        expected_close_date=p.expected_close_date, account_id=account_id,
        probability=p.probability, budget_amount=p.budget_amount,
        budget_currency=p.budget_currency, text=text, cleared=frozenset(cleared),
    )


@strawberry.input
class ScheduleActivityInput:
    opportunity_id: strawberry.ID
    kind: ActivityKind
    due_at: datetime
    subject: str
    notes: str | None = None
    owner_id: strawberry.ID | None = None


@strawberry.input
class StageInput:
    name: str
    probability: int = 0
    kind: StageKind = StageKind.OPEN
    rotting_days: int | None = None
    requirements: list[Requirement] = strawberry.field(default_factory=list)


@strawberry.input(description="Fields to change; `clearRottingDays` removes the limit.")
class StagePatchInput:
    name: str | None = None
    probability: int | None = None
    kind: StageKind | None = None
    rotting_days: int | None = None
    clear_rotting_days: bool = False
    requirements: list[Requirement] | None = None


@strawberry.input
class OpportunityFilter:
    owner_ids: list[strawberry.ID] | None = None
    stage_ids: list[strawberry.ID] | None = None
    statuses: list[OpportunityStatus] | None = None
    pipeline_id: strawberry.ID | None = None
    close_from: date | None = None
    close_to: date | None = None
    stale: bool = False
    no_next_contact: bool = False
    text: str | None = None


def _filter(f: OpportunityFilter | None) -> h.OpportunityFilter:
    if f is None:
        return h.OpportunityFilter()
    result = h.OpportunityFilter(
        owner_ids=[_id(v, f"filter.ownerIds.{i}") for i, v in enumerate(f.owner_ids or [])],
        stage_ids=[_id(v, f"filter.stageIds.{i}") for i, v in enumerate(f.stage_ids or [])],
        statuses=[d.OpportunityStatus(s.value) for s in f.statuses or []],
        pipeline_id=_optional_id(f.pipeline_id, "filter.pipelineId"),
        close_from=f.close_from, close_to=f.close_to, stale=f.stale,
        no_next_contact=f.no_next_contact, text=f.text.strip() if f.text else None,
    )
    h.check_filter(result)
    return result


# ---------------------------------------------------------------------- queries


def _query_error(error: DomainError) -> Exception:
    # Queries have no result union: a refusal becomes a GraphQL error with a code.
    return query_error(error)


async def _opportunity_connection(
    info: strawberry.Info, filter: h.OpportunityFilter, first: int | None, after: str | None
) -> OpportunityConnection:
    caller = _caller(info)
    try:
        size = paging.page_size(first)
        cursor = None
        if after:
            at, raw_id = paging.decode_cursor(after, 2)
            try:
                cursor = (datetime.fromisoformat(at), uuid.UUID(raw_id))
            except ValueError:
                raise InvalidInput.field("after", "is not a valid cursor") from None
    except DomainError as error:
        raise _query_error(error) from None
    state = _state(info)
    async with state.connection() as conn:
        # Pipelines only when needed: for the stale filter here, or when the selection asks
        # for a node's stage or pipeline (then once for the whole page).
        known = None
        stale_before = None
        if filter.stale:
            known = await state.pipelines.current(conn, caller.org_id)
            stale_before = d.stale_thresholds(
                [s for p in known.values() for s in p.stages], h.utcnow()
            )
        rows = await direct.opportunity_page(
            conn,
            caller,
            OpportunityQuery(
                owner_ids=filter.owner_ids, stage_ids=filter.stage_ids,
                statuses=filter.statuses, pipeline_id=filter.pipeline_id,
                close_from=filter.close_from, close_to=filter.close_to,
                stale_before=stale_before, no_next_contact=filter.no_next_contact,
                text=filter.text,
            ),
            limit=size, after=cursor,
        )
    page = rows[:size]
    pipelines = PipelineSource(state, caller.org_id, known)
    edges = [
        OpportunityEdge(
            cursor=paging.encode_cursor(o.created_at.isoformat(), o.id),
            node=Opportunity.of(o, pipelines),
        )
        for o in page
    ]
    return OpportunityConnection(
        edges=edges,
        page_info=kit.PageInfo(
            has_next_page=len(rows) > size, has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def _activity_connection(
    info: strawberry.Info, query: ActivityQuery, first: int | None, after: str | None
) -> ActivityConnection:
    caller = _caller(info)
    try:
        size = paging.page_size(first)
        cursor = None
        if after:
            at, raw_id = paging.decode_cursor(after, 2)
            try:
                cursor = (datetime.fromisoformat(at), uuid.UUID(raw_id))
            except ValueError:
                raise InvalidInput.field("after", "is not a valid cursor") from None
    except DomainError as error:
        raise _query_error(error) from None
    async with _state(info).sessions() as session:
        rows = await PipelineRepository(session).activity_page(
            caller, query, limit=size, after=cursor
        )
    now = h.utcnow()
    edges = [
        ActivityEdge(cursor=paging.encode_cursor(a.due_at.isoformat(), a.id),
                     node=Activity.of(a, now))
        for a in rows[:size]
    ]
    return ActivityConnection(
        edges=edges,
        page_info=kit.PageInfo(
            has_next_page=len(rows) > size, has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def _checked(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except DomainError as error:
        raise _query_error(error) from None


@strawberry.type
class Query:
    @strawberry.field
    async def opportunity(self, info: strawberry.Info, id: strawberry.ID) -> Opportunity | None:
        return await _visible_opportunity(info, _checked(lambda: _id(id, "id")))

    @strawberry.field(description="Opportunities the caller may see, newest first.")  # type: ignore[untyped-decorator]
    async def opportunities(
        self,
        info: strawberry.Info,
        filter: OpportunityFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> OpportunityConnection:
        return await _opportunity_connection(info, _checked(lambda: _filter(filter)), first,
                                             after)

    @strawberry.field(description="Open opportunities longer in their stage than it allows.")  # type: ignore[untyped-decorator]
    async def stale_opportunities(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> OpportunityConnection:
        return await _opportunity_connection(info, h.OpportunityFilter(stale=True), first, after)

    @strawberry.field(description="Open opportunities with no open activity scheduled.")  # type: ignore[untyped-decorator]
    async def opportunities_without_next_contact(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> OpportunityConnection:
        return await _opportunity_connection(
            info, h.OpportunityFilter(no_next_contact=True), first, after
        )

    @strawberry.field(description="The org's pipelines, the default one first.")  # type: ignore[untyped-decorator]
    async def pipelines(self, info: strawberry.Info) -> list[Pipeline]:
        caller = _caller(info)
        async with _state(info).work() as uow:
            found = await h.ensure_defaults(caller, uow)
        return [Pipeline.of(p) for p in found]

    @strawberry.field
    async def lost_reasons(
        self, info: strawberry.Info, include_inactive: bool = False
    ) -> list[LostReason]:
        caller = _caller(info)
        async with _state(info).work() as uow:
            await h.ensure_defaults(caller, uow)
            found = await uow.repo.lost_reasons(caller.org_id, include_inactive=include_inactive)
        return [LostReason.of(r) for r in found]

    @strawberry.field(description="The calendar: activities due in [from, to), by due time.")  # type: ignore[untyped-decorator]
    async def activities(
        self,
        info: strawberry.Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        owner_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ActivityConnection:
        def query() -> ActivityQuery:
            problems = ProblemCollector()
            if to <= from_:
                problems.add("to", "must be after from")
            problems.raise_if_any()
            return ActivityQuery(owner_id=_optional_id(owner_id, "ownerId"), due_from=from_,
                                 due_to=to)

        return await _activity_connection(info, _checked(query), first, after)

    @strawberry.field(description="Open activities past their due time, oldest first.")  # type: ignore[untyped-decorator]
    async def overdue_activities(
        self,
        info: strawberry.Info,
        owner_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ActivityConnection:
        owner = _checked(lambda: _optional_id(owner_id, "ownerId"))
        return await _activity_connection(
            info, ActivityQuery(owner_id=owner, overdue_at=h.utcnow()), first, after
        )

    @strawberry.field
    async def organization_settings(self, info: strawberry.Info) -> OrganizationSettings:
        caller = _caller(info)
        async with _state(info).sessions() as session:
            locale = await PipelineRepository(session).locale(caller.org_id)
        return OrganizationSettings(locale=Locale(locale.value))


# -------------------------------------------------------------------- mutations


async def _opportunity_result(info: strawberry.Info, run: Callable[
    [h.PipelineUnitOfWork], Awaitable[d.Opportunity]]) -> Any:
    async def call() -> OpportunityPayload:
        async with _state(info).work() as uow:
            return OpportunityPayload(opportunity=Opportunity.of(await run(uow)))

    return await _answer(call)


async def _activity_result(info: strawberry.Info, run: Callable[
    [h.PipelineUnitOfWork], Awaitable[d.Activity]]) -> Any:
    async def call() -> ActivityPayload:
        async with _state(info).work() as uow:
            return ActivityPayload(activity=Activity.of(await run(uow), h.utcnow()))

    return await _answer(call)


async def _pipeline_result(info: strawberry.Info, run: Callable[
    [h.PipelineUnitOfWork], Awaitable[d.Pipeline]]) -> Any:
    async def call() -> PipelinePayload:
        async with _state(info).work() as uow:
            return PipelinePayload(pipeline=Pipeline.of(await run(uow)))

    return await _answer(call)


async def _lost_reason_result(info: strawberry.Info, run: Callable[
    [h.PipelineUnitOfWork], Awaitable[d.LostReason]]) -> Any:
    async def call() -> LostReasonPayload:
        async with _state(info).work() as uow:
            return LostReasonPayload(lost_reason=LostReason.of(await run(uow)))

    return await _answer(call)


def _spec(
    *, name: str | None, probability: int | None, kind: StageKind | None,
    rotting_days: int | None, requirements: list[Requirement] | None,
    clear_rotting_days: bool = False,
) -> d.StageSpec:
    return d.StageSpec(
        name=name, probability=probability, kind=d.StageKind(kind.value) if kind else None,
        rotting_days=rotting_days, clear_rotting_days=clear_rotting_days,
        requirements=[r.value for r in requirements] if requirements is not None else None,
    )


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_opportunity(
        self, info: strawberry.Info, input: CreateOpportunityInput
    ) -> OpportunityResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Opportunity:
            return await h.create_opportunity(
                h.CreateOpportunity(
                    caller=caller,
                    data=d.NewOpportunity(
                        name=input.name, amount=input.amount, currency=input.currency,
                        expected_close_date=input.expected_close_date,
                        account_id=_optional_id(input.account_id, "input.accountId"),
                    ),
                    owner_id=_optional_id(input.owner_id, "input.ownerId"),
                    team=input.team,
                    pipeline_id=_optional_id(input.pipeline_id, "input.pipelineId"),
                ),
                uow,
            )

        return await _opportunity_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation
    async def update_opportunity(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int,
        patch: OpportunityPatchInput,
    ) -> OpportunityResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Opportunity:
            return await h.update_opportunity(
                h.UpdateOpportunity(caller, _id(id, "id"), expected_version, _patch(patch)), uow
            )

        return await _opportunity_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Forwards or backwards to another open stage.")  # type: ignore[untyped-decorator]
    async def move_opportunity(
        self, info: strawberry.Info, id: strawberry.ID, stage_id: strawberry.ID,
        expected_version: int,
    ) -> OpportunityResult:
        caller = _caller(info)
        state = _state(info)

        async def call() -> OpportunityPayload:
            cmd = h.MoveOpportunity(caller, _id(id, "id"), _id(stage_id, "stageId"),
                                    expected_version)
            async with state.connection() as conn:
                moved = await h.quick_move(cmd, conn, state.pipelines)
            if moved is not None:
                state.wake_relay()
            else:
                async with state.work() as uow:
                    moved = await h.move_opportunity(cmd, uow)
            return OpportunityPayload(opportunity=Opportunity.of(moved))

        return await _answer(call)  # type: ignore[no-any-return]

    @strawberry.mutation
    async def mark_won(
        self, info: strawberry.Info, id: strawberry.ID, comment: str | None = None,
        expected_version: int | None = None,
    ) -> OpportunityResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Opportunity:
            return await h.mark_won(
                h.MarkWon(caller, _id(id, "id"), comment, expected_version), uow
            )

        return await _opportunity_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation
    async def mark_lost(
        self, info: strawberry.Info, id: strawberry.ID, reason_id: strawberry.ID | None = None,
        comment: str | None = None, expected_version: int | None = None,
    ) -> OpportunityResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Opportunity:
            return await h.mark_lost(
                h.MarkLost(caller, _id(id, "id"), _optional_id(reason_id, "reasonId"), comment,
                           expected_version),
                uow,
            )

        return await _opportunity_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Manager or admin: back to the stage it was closed from.")  # type: ignore[untyped-decorator]
    async def reopen_opportunity(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int | None = None
    ) -> OpportunityResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Opportunity:
            return await h.reopen_opportunity(
                h.ReopenOpportunity(caller, _id(id, "id"), expected_version), uow
            )

        return await _opportunity_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation
    async def schedule_activity(
        self, info: strawberry.Info, input: ScheduleActivityInput
    ) -> ActivityResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Activity:
            return await h.schedule_activity(
                h.ScheduleActivity(
                    caller=caller,
                    opportunity_id=_id(input.opportunity_id, "input.opportunityId"),
                    kind=d.ActivityKind(input.kind.value), due_at=input.due_at,
                    subject=input.subject, notes=input.notes,
                    owner_id=_optional_id(input.owner_id, "input.ownerId"),
                ),
                uow,
            )

        return await _activity_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Completing a call, email or meeting is a contact made.")  # type: ignore[untyped-decorator]
    async def complete_activity(
        self, info: strawberry.Info, id: strawberry.ID, outcome: str | None = None
    ) -> ActivityResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Activity:
            return await h.complete_activity(
                h.CompleteActivity(caller, _id(id, "id"), outcome), uow
            )

        return await _activity_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation
    async def reschedule_activity(
        self, info: strawberry.Info, id: strawberry.ID, due_at: datetime
    ) -> ActivityResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Activity:
            return await h.reschedule_activity(
                h.RescheduleActivity(caller, _id(id, "id"), due_at), uow
            )

        return await _activity_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation
    async def cancel_activity(self, info: strawberry.Info, id: strawberry.ID) -> ActivityResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Activity:
            return await h.cancel_activity(h.CancelActivity(caller, _id(id, "id")), uow)

        return await _activity_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Admin: a new pipeline with the default stages.")  # type: ignore[untyped-decorator]
    async def create_pipeline(self, info: strawberry.Info, name: str) -> PipelineResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Pipeline:
            return await h.create_pipeline(h.CreatePipeline(caller, name), uow)

        return await _pipeline_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Admin: add a stage at `position` (default: last).")  # type: ignore[untyped-decorator]
    async def add_stage(
        self, info: strawberry.Info, pipeline_id: strawberry.ID, input: StageInput,
        position: int | None = None,
    ) -> PipelineResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Pipeline:
            spec = _spec(name=input.name, probability=input.probability, kind=input.kind,
                         rotting_days=input.rotting_days, requirements=input.requirements)
            return await h.add_stage(
                h.AddStage(caller, _id(pipeline_id, "pipelineId"), spec, position), uow
            )

        return await _pipeline_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Admin: rename a stage or change its settings.")  # type: ignore[untyped-decorator]
    async def update_stage(
        self, info: strawberry.Info, stage_id: strawberry.ID, patch: StagePatchInput
    ) -> PipelineResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Pipeline:
            spec = _spec(name=patch.name, probability=patch.probability, kind=patch.kind,
                         rotting_days=patch.rotting_days, requirements=patch.requirements,
                         clear_rotting_days=patch.clear_rotting_days)
            return await h.update_stage(h.UpdateStage(caller, _id(stage_id, "stageId"), spec),
                                        uow)

        return await _pipeline_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Admin: the pipeline's stages in their new order.")  # type: ignore[untyped-decorator]
    async def reorder_stages(
        self, info: strawberry.Info, pipeline_id: strawberry.ID, stage_ids: list[strawberry.ID]
    ) -> PipelineResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Pipeline:
            ids = [_id(s, f"stageIds.{i}") for i, s in enumerate(stage_ids)]
            return await h.reorder_stages(
                h.ReorderStages(caller, _id(pipeline_id, "pipelineId"), ids), uow
            )

        return await _pipeline_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Admin: remove a stage, moving its opportunities.")  # type: ignore[untyped-decorator]
    async def remove_stage(
        self, info: strawberry.Info, stage_id: strawberry.ID,
        move_opportunities_to: strawberry.ID | None = None,
    ) -> PipelineResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.Pipeline:
            return await h.remove_stage(
                h.RemoveStage(caller, _id(stage_id, "stageId"),
                              _optional_id(move_opportunities_to, "moveOpportunitiesTo")),
                uow,
            )

        return await _pipeline_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Admin: a new reason in the lost-reason catalogue.")  # type: ignore[untyped-decorator]
    async def add_lost_reason(self, info: strawberry.Info, label: str) -> LostReasonResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.LostReason:
            return await h.add_lost_reason(h.AddLostReason(caller, label), uow)

        return await _lost_reason_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Admin: rename a lost reason or retire it (active: false).")  # type: ignore[untyped-decorator]
    async def update_lost_reason(
        self, info: strawberry.Info, id: strawberry.ID, label: str | None = None,
        active: bool | None = None,
    ) -> LostReasonResult:
        caller = _caller(info)

        async def run(uow: h.PipelineUnitOfWork) -> d.LostReason:
            return await h.update_lost_reason(
                h.UpdateLostReason(caller, _id(id, "id"), label, active), uow
            )

        return await _lost_reason_result(info, run)  # type: ignore[no-any-return]

    @strawberry.mutation(description="Admin: the org's locale (names of default stages).")  # type: ignore[untyped-decorator]
    async def set_organization_locale(
        self, info: strawberry.Info, locale: Locale
    ) -> OrganizationSettingsResult:
        caller = _caller(info)

        async def call() -> OrganizationSettingsPayload:
            async with _state(info).work() as uow:
                value = await h.set_locale(h.SetLocale(caller, d.Locale(locale.value)), uow)
            return OrganizationSettingsPayload(settings=OrganizationSettings(
                locale=Locale(value.value)))

        return await _answer(call)  # type: ignore[no-any-return]


def create_schema() -> Schema:
    schema = kit.build_schema(query=Query, mutation=Mutation, types=[Account, Member, Activity])
    schema.execution_context_class = PlainLeafExecutionContext
    return schema

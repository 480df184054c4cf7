"""The leads subgraph: strawberry types, queries and mutations (thin: they call handlers)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.federation import Schema
from strawberry.types import Info

from crmkit import errors
from crmkit.auth import Caller
from crmkit.graphql import (
    Forbidden,
    GraphQLContext,
    NotFound,
    PageInfo,
    ValidationError,
    VersionConflict,
    build_schema,
    error_result,
    parse_uuid,
)
from crmkit.outbox import outbox_committed
from crmkit.paging import decode_cursor, encode_cursor, page_size
from crmkit.references import load_entity
from crmkit.results import query_error
from services.leads import domain, handlers, importer
from services.leads.domain import LeadStatus as DomainLeadStatus
from services.leads.handlers import LeadsUnitOfWork
from services.leads.records import (
    AccountRecord,
    ContactRecord,
    LeadRecord,
    OrgSettingsRecord,
)
from services.leads.repository import LeadFilter, PoolFilter

MAX_IMPORT_BYTES = 10 * 1024 * 1024
T = TypeVar("T")


@dataclass
class LeadsState:
    """What resolvers share: a unit-of-work factory and the members already registered."""

    make_uow: Callable[[], LeadsUnitOfWork]
    registered: set[tuple[Any, ...]] = field(default_factory=set)
    wake_relay: Callable[[], None] = outbox_committed
    """Tells this process's outbox relay that events were committed without a NOTIFY."""


def _state(info: Info[GraphQLContext, None]) -> LeadsState:
    state: LeadsState = info.context.state
    return state


async def _caller(info: Info[GraphQLContext, None]) -> Caller:
    """The verified caller, registered in the roster on their first request (and again
    whenever their token's name, team or roles change)."""
    return await _registered(info.context)


async def _registered(context: GraphQLContext) -> Caller:
    caller = context.caller
    if caller is None:
        raise PermissionError("authentication required")
    state: LeadsState = context.state
    key = (caller.org_id, caller.member_id, caller.name, caller.team, caller.roles)
    if key not in state.registered:
        async with state.make_uow() as uow:
            await handlers.register_member(caller, uow)
        state.registered.add(key)
    return caller


# --- types ------------------------------------------------------------------------------------


@strawberry.enum(description="Where a lead is in its life.")
class LeadStatus(Enum):
    NEW = "NEW"
    ASSIGNED = "ASSIGNED"
    CONTACTED = "CONTACTED"
    QUALIFIED = "QUALIFIED"
    DISQUALIFIED = "DISQUALIFIED"
    CONVERTED = "CONVERTED"


@strawberry.federation.type(keys=["id"], description="A member of the sales roster.")
class Member:
    id: strawberry.ID
    name: str
    team: str | None
    roles: list[str]
    lead_cap: int = strawberry.field(description="Effective cap: own value or org default.")
    custom_lead_cap: int | None = strawberry.field(
        description="The member's own cap; null when the org default applies."
    )
    active_lead_count: int = strawberry.field(
        description="Leads the member owns that are neither converted nor disqualified."
    )

    @classmethod
    def from_view(cls, view: handlers.MemberView) -> Member:
        m = view.member
        return cls(id=strawberry.ID(str(m.id)), name=m.name, team=m.team, roles=list(m.roles),
                   lead_cap=view.lead_cap, custom_lead_cap=m.lead_cap,
                   active_lead_count=view.active_leads)

    @classmethod
    async def resolve_reference(
        cls, info: Info[GraphQLContext, None], id: strawberry.ID
    ) -> Member | None:
        return await load_entity(info, _members_by_id, id)


@strawberry.federation.type(keys=["id"], description="A lead: a company or person to sell to.")
class Lead:
    id: strawberry.ID
    company: str | None
    contact_name: str | None
    email: str | None
    phone: str | None = strawberry.field(description="E.164.")
    website: str | None
    domain: str | None = strawberry.field(description="Company domain (website or email).")
    source: str | None
    notes: str | None
    tags: list[str]
    priority: int
    status: LeadStatus
    owner_id: strawberry.ID | None = strawberry.field(description="null: the lead is in the pool.")
    owner_team: str | None
    assigned_at: datetime | None
    last_activity_at: datetime | None
    status_changed_at: datetime
    disqualify_reason: str | None
    account_id: strawberry.ID | None
    contact_id: strawberry.ID | None
    opportunity_id: strawberry.ID | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def from_record(cls, r: LeadRecord) -> Lead:
        return cls(
            id=_id(r.id), company=r.company, contact_name=r.contact_name, email=r.email,
            phone=r.phone, website=r.website, domain=r.domain, source=r.source, notes=r.notes,
            tags=list(r.tags), priority=r.priority, status=LeadStatus(r.status),
            owner_id=_id(r.owner_id), owner_team=r.owner_team, assigned_at=r.assigned_at,
            last_activity_at=r.last_activity_at, status_changed_at=r.status_changed_at,
            disqualify_reason=r.disqualify_reason, account_id=_id(r.account_id),
            contact_id=_id(r.contact_id), opportunity_id=_id(r.opportunity_id),
            created_at=r.created_at, updated_at=r.updated_at, version=r.version,
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[GraphQLContext, None], id: strawberry.ID
    ) -> Lead | None:
        return await load_entity(info, _leads_by_id, id)


@strawberry.federation.type(keys=["id"], description="A person at a client company.")
class Contact:
    id: strawberry.ID
    account_id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    position: str | None
    lead_id: strawberry.ID | None
    created_at: datetime
    version: int

    @classmethod
    def from_record(cls, r: ContactRecord) -> Contact:
        return cls(id=_id(r.id), account_id=_id(r.account_id), name=r.name, email=r.email,
                   phone=r.phone, position=r.position, lead_id=_id(r.lead_id),
                   created_at=r.created_at, version=r.version)

    @classmethod
    async def resolve_reference(
        cls, info: Info[GraphQLContext, None], id: strawberry.ID
    ) -> Contact | None:
        return await load_entity(info, _contacts_by_id, id)


@strawberry.federation.type(keys=["id"], description="A client company.")
class Account:
    id: strawberry.ID
    name: str
    domain: str | None
    nip: str | None = strawberry.field(description="Polish tax id, 10 digits.")
    address: str | None
    owner_id: strawberry.ID | None
    created_at: datetime
    updated_at: datetime
    version: int

    @strawberry.field
    async def contacts(self, info: Info[GraphQLContext, None]) -> list[Contact]:
        caller = await _caller(info)
        async with _state(info).make_uow() as uow:
            found = await uow.repo.list_contacts(caller.org_id, account_id=uuid.UUID(self.id))
        return [Contact.from_record(c) for c in found]

    @classmethod
    def from_record(cls, r: AccountRecord) -> Account:
        return cls(id=_id(r.id), name=r.name, domain=r.domain, nip=r.nip, address=r.address,
                   owner_id=_id(r.owner_id), created_at=r.created_at, updated_at=r.updated_at,
                   version=r.version)

    @classmethod
    async def resolve_reference(
        cls, info: Info[GraphQLContext, None], id: strawberry.ID
    ) -> Account | None:
        return await load_entity(info, _accounts_by_id, id)


# Entity references: each type's references of one request in one query (ADR 0008).


async def _members_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Member]:
    caller = await _registered(context)
    state: LeadsState = context.state
    async with state.make_uow() as uow:
        views = await handlers.list_members(caller, uow, ids=ids)
    return {v.member.id: Member.from_view(v) for v in views}


async def _leads_by_id(context: GraphQLContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, Lead]:
    caller = await _registered(context)
    state: LeadsState = context.state
    async with state.make_uow() as uow:
        found = await uow.repo.get_leads(caller.org_id, ids)
    return {r.id: Lead.from_record(r) for r in found
            if domain.can_see_lead(caller, r.owner_id, r.owner_team)}


async def _contacts_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    caller = await _registered(context)
    state: LeadsState = context.state
    async with state.make_uow() as uow:
        found = await uow.repo.list_contacts(caller.org_id, ids=ids, limit=len(ids))
    return {r.id: Contact.from_record(r) for r in found}


async def _accounts_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Account]:
    caller = await _registered(context)
    state: LeadsState = context.state
    async with state.make_uow() as uow:
        found = await uow.repo.list_accounts(caller.org_id, limit=len(ids), after=None, ids=ids)
    return {r.id: Account.from_record(r) for r in found}


def _id(value: uuid.UUID | None) -> Any:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type
class LeadEdge:
    cursor: str
    node: Lead


@strawberry.type
class LeadConnection:
    edges: list[LeadEdge]
    page_info: PageInfo


@strawberry.type
class AccountEdge:
    cursor: str
    node: Account


@strawberry.type
class AccountConnection:
    edges: list[AccountEdge]
    page_info: PageInfo


@strawberry.type
class LeadSettings:
    default_region: str = strawberry.field(description="ISO 3166 region for national phones.")
    default_lead_cap: int
    custom_default_lead_cap: bool = strawberry.field(
        description="False while the service-wide default cap applies."
    )
    idle_return_days: int | None = strawberry.field(description="null: idle return is off.")

    @classmethod
    def from_record(cls, r: OrgSettingsRecord) -> LeadSettings:
        return cls(default_region=r.default_region, default_lead_cap=r.default_lead_cap,
                   custom_default_lead_cap=r.default_lead_cap_override is not None,
                   idle_return_days=r.idle_return_days)


# --- errors -----------------------------------------------------------------------------------


@strawberry.type(description="The lead matches an existing one; nothing was created.")
class DuplicateLead:
    message: str
    existing_lead_id: strawberry.ID
    matched_on: list[str]


@strawberry.type(description="The member's cap leaves room for `fits` leads; nothing changed.")
class CapExceeded:
    message: str
    member_id: strawberry.ID
    lead_cap: int
    active_leads: int
    requested: int
    fits: int


@strawberry.type(description="The lead's status or ownership does not allow this.")
class InvalidLeadState:
    message: str
    status: LeadStatus


def _error(error: errors.DomainError, allowed: tuple[type, ...]) -> Any:
    result: Any
    if isinstance(error, domain.DuplicateLead):
        result = DuplicateLead(message=error.message, existing_lead_id=_id(error.existing_lead_id),
                               matched_on=error.matched_on)
    elif isinstance(error, domain.CapExceeded):
        result = CapExceeded(message=error.message, member_id=_id(error.member_id),
                             lead_cap=error.cap, active_leads=error.active,
                             requested=error.requested, fits=error.fits)
    elif isinstance(error, domain.InvalidLeadState):
        result = InvalidLeadState(message=error.message, status=LeadStatus(error.status))
    else:
        result = error_result(error)
    if not isinstance(result, allowed):
        return ValidationError(message=error.message, fields=[])
    return result


async def _run(
    info: Info[GraphQLContext, None],
    action: Callable[[Caller, LeadsUnitOfWork], Awaitable[T]],
    allowed: tuple[type, ...],
) -> T | Any:
    """Run a use case; every domain error becomes a typed result (never a 500)."""
    try:
        caller = await _caller(info)
        async with _state(info).make_uow() as uow:
            return await action(caller, uow)
    except errors.DomainError as error:
        return _error(error, allowed)


COMMON = (ValidationError, NotFound, Forbidden)


# --- payloads -----------------------------------------------------------------------------------


@strawberry.type
class LeadPayload:
    lead: Lead


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


@strawberry.type
class ConvertLeadPayload:
    lead: Lead
    account: Account
    contact: Contact | None
    opportunity_id: strawberry.ID = strawberry.field(
        description="Allocated here; the pipeline service creates the opportunity with it "
        "from the crm.leads.lead.converted event."
    )
    account_created: bool


@strawberry.type
class AccountPayload:
    account: Account


@strawberry.type
class ContactPayload:
    contact: Contact


@strawberry.type
class MemberPayload:
    member: Member


@strawberry.type
class LeadSettingsPayload:
    settings: LeadSettings


@strawberry.type
class ImportedLead:
    line: int
    lead_id: strawberry.ID


@strawberry.type
class ImportDuplicate:
    line: int
    matched_on: list[str]
    existing_lead_id: strawberry.ID | None = strawberry.field(
        description="The org's lead this row matches."
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
    def from_report(cls, r: importer.ImportReport) -> ImportReport:
        return cls(
            import_id=_id(r.import_id), dry_run=r.dry_run, total_rows=r.total_rows,
            created_count=r.created_count,
            created=[ImportedLead(line=c.line, lead_id=_id(c.lead_id)) for c in r.created],
            duplicates=[ImportDuplicate(line=d.line, matched_on=d.matched_on,
                                        existing_lead_id=_id(d.existing_lead_id),
                                        duplicate_of_line=d.duplicate_of_line)
                        for d in r.duplicates],
            invalid=[ImportInvalidRow(line=i.line, reason=i.reason) for i in r.invalid],
            ignored_columns=r.ignored_columns,
        )


CreateLeadResult = Annotated[
    LeadPayload | DuplicateLead | ValidationError | Forbidden, strawberry.union("CreateLeadResult")
]
LeadResult = Annotated[
    LeadPayload | ValidationError | NotFound | Forbidden | VersionConflict | InvalidLeadState,
    strawberry.union("LeadResult"),
]
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
ConvertLeadResult = Annotated[
    ConvertLeadPayload | InvalidLeadState | ValidationError | NotFound | Forbidden,
    strawberry.union("ConvertLeadResult"),
]
AccountResult = Annotated[
    AccountPayload | ValidationError | NotFound | Forbidden | VersionConflict,
    strawberry.union("AccountResult"),
]
ContactResult = Annotated[
    ContactPayload | ValidationError | NotFound | Forbidden, strawberry.union("ContactResult")
]
MemberResult = Annotated[
    MemberPayload | ValidationError | NotFound | Forbidden, strawberry.union("MemberResult")
]
LeadSettingsResult = Annotated[
    LeadSettingsPayload | ValidationError | Forbidden, strawberry.union("LeadSettingsResult")
]
ImportLeadsResult = Annotated[
    ImportReport | ValidationError | Forbidden, strawberry.union("ImportLeadsResult")
]


# --- inputs -------------------------------------------------------------------------------------


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


@strawberry.input
class PoolFilterInput:
    source: str | None = None
    tag: str | None = None
    min_priority: int | None = None


@strawberry.input
class OpportunityInput:
    name: str
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217, e.g. PLN.")
    expected_close_date: date | None = None


@strawberry.input
class AccountInput:
    name: str | None = None
    domain: str | None = None
    website: str | None = None
    nip: str | None = strawberry.field(default=None, description="Checked by its checksum.")
    address: str | None = None


@strawberry.input
class ContactInput:
    name: str
    email: str | None = None
    phone: str | None = None
    position: str | None = None


@strawberry.input(description="Replaces the org's lead settings; null restores a default.")
class LeadSettingsInput:
    default_region: str = "PL"
    default_lead_cap: int | None = None
    idle_return_days: int | None = strawberry.field(
        default=None, description="Return leads owned this many days without a status "
        "change to the pool; null turns idle return off."
    )


def _account_input(data: AccountInput | None) -> handlers.AccountInput | None:
    if data is None:
        return None
    return handlers.AccountInput(name=data.name, domain=data.domain, website=data.website,
                                 nip=data.nip, address=data.address)


def _after(after: str | None) -> tuple[datetime, uuid.UUID] | None:
    if after is None:
        return None
    stamp, raw_id = decode_cursor(after, 2)
    try:
        return datetime.fromisoformat(stamp), uuid.UUID(raw_id)
    except ValueError:
        raise errors.InvalidInput.field("after", "is not a valid cursor") from None


def _page(items: list[Any], size: int) -> tuple[list[tuple[str, Any]], PageInfo]:
    has_next = len(items) > size
    items = items[:size]
    edges = [(encode_cursor(i.created_at.isoformat(), i.id), i) for i in items]
    info = PageInfo(has_next_page=has_next, has_previous_page=False,
                    start_cursor=edges[0][0] if edges else None,
                    end_cursor=edges[-1][0] if edges else None)
    return edges, info


# --- queries ------------------------------------------------------------------------------------


def _raise_graphql(error: errors.DomainError) -> Exception:
    return query_error(error)


@strawberry.type
class Query:
    @strawberry.field(description="The caller, as the roster knows them.")  # type: ignore[untyped-decorator]
    async def me(self, info: Info[GraphQLContext, None]) -> Member:
        caller = await _caller(info)
        async with _state(info).make_uow() as uow:
            [view] = await handlers.list_members(caller, uow, ids=[caller.member_id])
        return Member.from_view(view)

    @strawberry.field(description="The org's roster, optionally one team.")  # type: ignore[untyped-decorator]
    async def members(self, info: Info[GraphQLContext, None], team: str | None = None
                      ) -> list[Member]:
        caller = await _caller(info)
        async with _state(info).make_uow() as uow:
            views = await handlers.list_members(caller, uow, team=team)
        return [Member.from_view(v) for v in views]

    @strawberry.field
    async def lead(self, info: Info[GraphQLContext, None], id: strawberry.ID) -> Lead | None:
        return await Lead.resolve_reference(info, id)

    @strawberry.field(description="Leads the caller may see (a rep: own and pool; a manager: "
                      "the team's and pool; an admin: all), newest first.")  # type: ignore[untyped-decorator]
    async def leads(
        self, info: Info[GraphQLContext, None], first: int | None = None,
        after: str | None = None, filter: LeadFilterInput | None = None,
    ) -> LeadConnection:
        caller = await _caller(info)
        try:
            size = page_size(first)
            cursor = _after(after)
            f = filter or LeadFilterInput()
            owner = parse_uuid(f.owner_id, "filter.ownerId") if f.owner_id else None
        except errors.DomainError as error:
            raise _raise_graphql(error) from None
        lead_filter = LeadFilter(
            status=DomainLeadStatus(f.status.value) if f.status else None, owner_id=owner,
            pool_only=f.pool_only, search=f.search.strip() if f.search else None,
        )
        async with _state(info).make_uow() as uow:
            records = await uow.repo.list_leads(caller, lead_filter, limit=size + 1,
                                                after=cursor)
        edges, page_info = _page(records, size)
        return LeadConnection(
            edges=[LeadEdge(cursor=c, node=Lead.from_record(r)) for c, r in edges],
            page_info=page_info,
        )

    @strawberry.field
    async def account(self, info: Info[GraphQLContext, None], id: strawberry.ID
                      ) -> Account | None:
        return await Account.resolve_reference(info, id)

    @strawberry.field(description="The org's client companies, newest first.")  # type: ignore[untyped-decorator]
    async def accounts(
        self, info: Info[GraphQLContext, None], first: int | None = None,
        after: str | None = None,
    ) -> AccountConnection:
        caller = await _caller(info)
        try:
            size = page_size(first)
            cursor = _after(after)
        except errors.DomainError as error:
            raise _raise_graphql(error) from None
        async with _state(info).make_uow() as uow:
            records = await uow.repo.list_accounts(caller.org_id, limit=size + 1, after=cursor)
        edges, page_info = _page(records, size)
        return AccountConnection(
            edges=[AccountEdge(cursor=c, node=Account.from_record(r)) for c, r in edges],
            page_info=page_info,
        )

    @strawberry.field
    async def contact(self, info: Info[GraphQLContext, None], id: strawberry.ID
                      ) -> Contact | None:
        return await Contact.resolve_reference(info, id)

    @strawberry.field
    async def lead_settings(self, info: Info[GraphQLContext, None]) -> LeadSettings:
        caller = await _caller(info)
        async with _state(info).make_uow() as uow:
            return LeadSettings.from_record(await uow.repo.org_settings(caller.org_id))


# --- mutations ----------------------------------------------------------------------------------


def _lead_payload(lead: LeadRecord) -> LeadPayload:
    return LeadPayload(lead=Lead.from_record(lead))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="A new lead in the pool. DuplicateLead names a lead with "
                         "the same email, phone, or domain and company, unless allowDuplicate.")  # type: ignore[untyped-decorator]
    async def create_lead(
        self, info: Info[GraphQLContext, None], input: LeadInput, allow_duplicate: bool = False
    ) -> CreateLeadResult:
        data = handlers.LeadInput(
            company=input.company, contact_name=input.contact_name, email=input.email,
            phone=input.phone, website=input.website, source=input.source, notes=input.notes,
            tags=input.tags, priority=input.priority,
        )

        async def action(caller: Caller, uow: LeadsUnitOfWork) -> LeadPayload:
            lead = await handlers.create_lead(handlers.CreateLead(caller, data, allow_duplicate),
                                              uow)
            return _lead_payload(lead)

        return await _run(info, action, (*COMMON, DuplicateLead))

    @strawberry.mutation(description="Change a lead's details; `version` guards against "
                         "overwriting someone else's change.")  # type: ignore[untyped-decorator]
    async def update_lead(
        self, info: Info[GraphQLContext, None], id: strawberry.ID, input: LeadUpdateInput,
        version: int | None = None,
    ) -> LeadResult:
        changes = {
            name: value
            for name in ("company", "contact_name", "email", "phone", "website", "source",
                         "notes", "tags", "priority")
            if (value := getattr(input, name)) is not strawberry.UNSET
        }

        async def action(caller: Caller, uow: LeadsUnitOfWork) -> LeadPayload:
            lead_id = parse_uuid(id)
            return _lead_payload(await handlers.update_lead(
                handlers.UpdateLead(caller, lead_id, changes, version), uow))

        return await _run(info, action, (*COMMON, VersionConflict, InvalidLeadState))

    @strawberry.mutation
    async def mark_contacted(self, info: Info[GraphQLContext, None], id: strawberry.ID
                             ) -> LeadResult:
        result: LeadResult = await _status(info, id, DomainLeadStatus.CONTACTED, None)
        return result

    @strawberry.mutation
    async def qualify_lead(self, info: Info[GraphQLContext, None], id: strawberry.ID
                           ) -> LeadResult:
        result: LeadResult = await _status(info, id, DomainLeadStatus.QUALIFIED, None)
        return result

    @strawberry.mutation
    async def disqualify_lead(
        self, info: Info[GraphQLContext, None], id: strawberry.ID, reason: str
    ) -> LeadResult:
        result: LeadResult = await _status(info, id, DomainLeadStatus.DISQUALIFIED, reason)
        return result

    @strawberry.mutation(description="Take one pool lead, within the caller's cap.")  # type: ignore[untyped-decorator]
    async def claim_lead(self, info: Info[GraphQLContext, None], id: strawberry.ID
                         ) -> ClaimLeadResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> LeadPayload:
            return _lead_payload(await handlers.claim_lead(
                handlers.ClaimLead(caller, parse_uuid(id)), uow))

        return await _run(info, action, (*COMMON, CapExceeded, InvalidLeadState))

    @strawberry.mutation(description="Take the highest-priority, oldest pool leads: `count` "
                         "or as many as the caller's cap still allows.")  # type: ignore[untyped-decorator]
    async def claim_next_leads(
        self, info: Info[GraphQLContext, None], count: int = 1,
        filter: PoolFilterInput | None = None,
    ) -> ClaimNextLeadsResult:
        f = filter or PoolFilterInput()

        async def action(caller: Caller, uow: LeadsUnitOfWork) -> ClaimPayload:
            result = await handlers.claim_next_leads(handlers.ClaimNextLeads(
                caller, count, PoolFilter(f.source, f.tag, f.min_priority)), uow)
            if result.leads:
                _state(info).wake_relay()
            return ClaimPayload(leads=[Lead.from_record(r) for r in result.leads],
                                requested=result.requested, lead_cap=result.lead_cap,
                                active_leads=result.active_leads)

        return await _run(info, action, COMMON)

    @strawberry.mutation(description="Return a lead to the pool.")  # type: ignore[untyped-decorator]
    async def release_lead(self, info: Info[GraphQLContext, None], id: strawberry.ID
                           ) -> LeadResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> LeadPayload:
            return _lead_payload(await handlers.release_lead(
                handlers.ReleaseLead(caller, parse_uuid(id)), uow))

        return await _run(info, action, (*COMMON, InvalidLeadState))

    @strawberry.mutation(description="Give leads to a member (managers: their team; admins: "
                         "anyone). All or nothing: CapExceeded says how many would fit.")  # type: ignore[untyped-decorator]
    async def assign_leads(
        self, info: Info[GraphQLContext, None], ids: list[strawberry.ID],
        member_id: strawberry.ID,
    ) -> AssignLeadsResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> LeadsPayload:
            lead_ids = [parse_uuid(i, "ids") for i in ids]
            records = await handlers.assign_leads(
                handlers.AssignLeads(caller, lead_ids, parse_uuid(member_id, "memberId")), uow)
            return LeadsPayload(leads=[Lead.from_record(r) for r in records])

        return await _run(info, action, (*COMMON, CapExceeded, InvalidLeadState))

    @strawberry.mutation(description="Move one lead to another member, within their cap.")  # type: ignore[untyped-decorator]
    async def reassign_lead(
        self, info: Info[GraphQLContext, None], id: strawberry.ID, member_id: strawberry.ID
    ) -> ClaimLeadResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> LeadPayload:
            [lead] = await handlers.assign_leads(handlers.AssignLeads(
                caller, [parse_uuid(id)], parse_uuid(member_id, "memberId")), uow)
            return _lead_payload(lead)

        return await _run(info, action, (*COMMON, CapExceeded, InvalidLeadState))

    @strawberry.mutation(description="Lead -> client: links `accountId` (or an account with "
                         "the same NIP or domain) or creates one, adds a contact, marks the "
                         "lead CONVERTED and announces a new opportunity id.")  # type: ignore[untyped-decorator]
    async def convert_lead(
        self, info: Info[GraphQLContext, None], id: strawberry.ID,
        opportunity: OpportunityInput, account_id: strawberry.ID | None = None,
        account: AccountInput | None = None,
    ) -> ConvertLeadResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> ConvertLeadPayload:
            cmd = handlers.ConvertLead(
                caller, parse_uuid(id),
                handlers.OpportunityInput(opportunity.name, opportunity.amount,
                                          opportunity.currency, opportunity.expected_close_date),
                parse_uuid(account_id, "accountId") if account_id else None,
                _account_input(account),
            )
            result = await handlers.convert_lead(cmd, uow)
            return ConvertLeadPayload(
                lead=Lead.from_record(result.lead), account=Account.from_record(result.account),
                contact=Contact.from_record(result.contact) if result.contact else None,
                opportunity_id=_id(result.opportunity_id),
                account_created=result.account_created,
            )

        return await _run(info, action, (*COMMON, InvalidLeadState))

    @strawberry.mutation
    async def create_account(self, info: Info[GraphQLContext, None], input: AccountInput
                             ) -> AccountResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> AccountPayload:
            data = _account_input(input)
            assert data is not None
            account = await handlers.create_account(handlers.CreateAccount(caller, data), uow)
            return AccountPayload(account=Account.from_record(account))

        return await _run(info, action, COMMON)

    @strawberry.mutation(description="Replace an account's fields.")  # type: ignore[untyped-decorator]
    async def update_account(
        self, info: Info[GraphQLContext, None], id: strawberry.ID, input: AccountInput,
        version: int | None = None,
    ) -> AccountResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> AccountPayload:
            data = _account_input(input)
            assert data is not None
            account = await handlers.update_account(
                handlers.UpdateAccount(caller, parse_uuid(id), data, version), uow)
            return AccountPayload(account=Account.from_record(account))

        return await _run(info, action, (*COMMON, VersionConflict))

    @strawberry.mutation
    async def create_contact(
        self, info: Info[GraphQLContext, None], account_id: strawberry.ID, input: ContactInput
    ) -> ContactResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> ContactPayload:
            contact = await handlers.create_contact(handlers.CreateContact(
                caller, parse_uuid(account_id, "accountId"),
                handlers.ContactInput(input.name, input.email, input.phone, input.position),
            ), uow)
            return ContactPayload(contact=Contact.from_record(contact))

        return await _run(info, action, COMMON)

    @strawberry.mutation(description="A member's own lead cap (null: the org default). "
                         "Managers for their team, admins for anyone.")  # type: ignore[untyped-decorator]
    async def set_lead_cap(
        self, info: Info[GraphQLContext, None], member_id: strawberry.ID,
        lead_cap: int | None,
    ) -> MemberResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> MemberPayload:
            view = await handlers.set_lead_cap(
                handlers.SetLeadCap(caller, parse_uuid(member_id, "memberId"), lead_cap), uow)
            return MemberPayload(member=Member.from_view(view))

        return await _run(info, action, COMMON)

    @strawberry.mutation(description="Admins: the org's phone region, default cap and idle "
                         "return.")  # type: ignore[untyped-decorator]
    async def update_lead_settings(
        self, info: Info[GraphQLContext, None], input: LeadSettingsInput
    ) -> LeadSettingsResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> LeadSettingsPayload:
            record = await handlers.update_lead_settings(handlers.UpdateLeadSettings(
                caller, input.default_region, input.default_lead_cap, input.idle_return_days,
            ), uow)
            return LeadSettingsPayload(settings=LeadSettings.from_record(record))

        return await _run(info, action, (ValidationError, Forbidden))

    @strawberry.mutation(description=(
        "Import leads from CSV text (up to 10 MB; managers and admins). UTF-8 with or without "
        "BOM, comma or semicolon separated, English or Polish headers. Invalid rows and "
        "duplicates (within the file or of existing leads) are reported, never inserted. "
        "All or nothing: the valid rows are committed together in one transaction, or none "
        "are, so a failed import can simply be run again. dryRun reports without writing."
    ))  # type: ignore[untyped-decorator]
    async def import_leads(
        self, info: Info[GraphQLContext, None], csv: str, dry_run: bool = False
    ) -> ImportLeadsResult:
        async def action(caller: Caller, uow: LeadsUnitOfWork) -> ImportReport:
            if not caller.is_manager:
                raise errors.ForbiddenError("only managers and admins may import leads")
            if len(csv.encode()) > MAX_IMPORT_BYTES:
                raise errors.InvalidInput.field(
                    "csv", "is larger than 10 MB: use `crm leads import` for large files")
            report = await importer.import_leads(
                importer.ImportLeads(caller.org_id, caller.member_id, csv, dry_run), uow)
            return ImportReport.from_report(report)

        return await _run(info, action, (ValidationError, Forbidden))


async def _status(
    info: Info[GraphQLContext, None], id: strawberry.ID, status: DomainLeadStatus,
    reason: str | None,
) -> Any:
    async def action(caller: Caller, uow: LeadsUnitOfWork) -> LeadPayload:
        return _lead_payload(await handlers.change_status(
            handlers.ChangeStatus(caller, parse_uuid(id), status, reason), uow))

    return await _run(info, action, (*COMMON, InvalidLeadState))


def make_schema() -> Schema:
    # The kit's schema caches parsing and validation per document.
    return build_schema(query=Query, mutation=Mutation, types=[Member, Account, Contact, Lead])


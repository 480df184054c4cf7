"""The leads subgraph's entities (members, leads, accounts, contacts) and the org's settings,
with how each loads: references of one type in one request in one query (ADR 0008)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

import strawberry

from crmkit.commands import ById
from crmkit.graphql import GraphQLContext
from crmkit.references import entity_loader, load_entity, references_by
from services.leads import domain
from services.leads.handlers import clients, leads, roster
from services.leads.records import (
    AccountRecord,
    ContactRecord,
    LeadRecord,
    MemberRecord,
    OrgSettingsRecord,
)
from services.leads.schema.context import Info, caller, caller_of, uow_of

strawberry.enum(domain.LeadStatus, description="Where a lead is in its life.")
LeadStatus = domain.LeadStatus


def gql_id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


def gql_id_or_none(value: uuid.UUID | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


# --- batches: one query per type and request --------------------------------------------------


async def _members_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, MemberRecord]:
    return await roster.members_by_id(ById(await caller_of(context), ids), uow_of(context))


async def _active_lead_counts(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, int]:
    return await roster.active_lead_counts(
        roster.MembersOf(await caller_of(context), ids), uow_of(context))


async def _org_settings(
    context: GraphQLContext, org_ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, OrgSettingsRecord]:
    """The caller's org's settings (the only org a request reads)."""
    found = await roster.lead_settings(
        roster.LeadSettingsOf(await caller_of(context)), uow_of(context))
    return {found.org_id: found}


async def _leads_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, LeadRecord]:
    return await leads.leads_by_id(ById(await caller_of(context), ids),
                                   uow_of(context))


async def _accounts_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, AccountRecord]:
    return await clients.accounts_by_id(ById(await caller_of(context), ids),
                                        uow_of(context))


async def _contacts_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, ContactRecord]:
    return await clients.contacts_by_id(ById(await caller_of(context), ids),
                                        uow_of(context))


async def _contacts_of_accounts(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, list[ContactRecord]]:
    return await clients.contacts_of_accounts(ById(await caller_of(context), ids),
                                              uow_of(context))


# --- entities -----------------------------------------------------------------------------------


@strawberry.federation.type(keys=["id"], description="A member of the sales roster.")
class Member:
    id: strawberry.ID
    name: str
    team: str | None
    roles: list[str]
    own_lead_cap: strawberry.Private[int | None]

    @classmethod
    def of(cls, m: MemberRecord) -> Member:
        return cls(id=gql_id(m.id), name=m.name, team=m.team, roles=list(m.roles),
                   own_lead_cap=m.lead_cap)

    # The cap and the count are read only when asked for (a reference to a member's name,
    # the common case, costs one query for the request).
    @strawberry.field(description="Effective cap: own value or org default.")  # type: ignore[untyped-decorator]
    async def lead_cap(self, info: Info) -> int:
        if self.own_lead_cap is not None:
            return self.own_lead_cap
        org_id = (await caller(info)).org_id
        settings = await entity_loader(info.context, _org_settings).load(org_id)
        assert settings is not None
        return settings.default_lead_cap

    @strawberry.field(description="The member's own cap; null when the org default applies.")  # type: ignore[untyped-decorator]
    def custom_lead_cap(self) -> int | None:
        return self.own_lead_cap

    @strawberry.field(description="Leads the member owns that are neither converted nor "  # type: ignore[untyped-decorator]
                      "disqualified.")
    async def active_lead_count(self, info: Info) -> int:
        return await load_entity(info, _active_lead_counts, self.id) or 0

    resolve_reference, resolve_references = references_by(_members_by_id)


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
    def of(cls, r: LeadRecord) -> Lead:
        return cls(
            id=gql_id(r.id), company=r.company, contact_name=r.contact_name, email=r.email,
            phone=r.phone, website=r.website, domain=r.domain, source=r.source, notes=r.notes,
            tags=list(r.tags), priority=r.priority, status=r.lead_status,
            owner_id=gql_id_or_none(r.owner_id), owner_team=r.owner_team,
            assigned_at=r.assigned_at, last_activity_at=r.last_activity_at,
            status_changed_at=r.status_changed_at, disqualify_reason=r.disqualify_reason,
            account_id=gql_id_or_none(r.account_id), contact_id=gql_id_or_none(r.contact_id),
            opportunity_id=gql_id_or_none(r.opportunity_id), created_at=r.created_at,
            updated_at=r.updated_at, version=r.version,
        )

    resolve_reference, resolve_references = references_by(_leads_by_id)


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
    def of(cls, r: ContactRecord) -> Contact:
        return cls(id=gql_id(r.id), account_id=gql_id(r.account_id), name=r.name,
                   email=r.email, phone=r.phone, position=r.position,
                   lead_id=gql_id_or_none(r.lead_id), created_at=r.created_at,
                   version=r.version)

    @strawberry.field(description="The client company the person is at.")  # type: ignore[untyped-decorator]
    async def account(self, info: Info) -> Account | None:
        found: Account | None = await Account.resolve_reference(info, self.account_id)
        return found

    resolve_reference, resolve_references = references_by(_contacts_by_id)


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
    async def contacts(self, info: Info) -> list[Contact]:
        found = await load_entity(info, _contacts_of_accounts, self.id)
        return [Contact.of(c) for c in found or []]

    @classmethod
    def of(cls, r: AccountRecord) -> Account:
        return cls(id=gql_id(r.id), name=r.name, domain=r.domain, nip=r.nip,
                   address=r.address, owner_id=gql_id_or_none(r.owner_id),
                   created_at=r.created_at, updated_at=r.updated_at, version=r.version)

    resolve_reference, resolve_references = references_by(_accounts_by_id)


@strawberry.type
class LeadSettings:
    default_region: str = strawberry.field(description="ISO 3166 region for national phones.")
    default_lead_cap: int
    custom_default_lead_cap: bool = strawberry.field(
        description="False while the service-wide default cap applies."
    )
    idle_return_days: int | None = strawberry.field(description="null: idle return is off.")

    @classmethod
    def of(cls, r: OrgSettingsRecord) -> LeadSettings:
        return cls(default_region=r.default_region, default_lead_cap=r.default_lead_cap,
                   custom_default_lead_cap=r.default_lead_cap_override is not None,
                   idle_return_days=r.idle_return_days)

"""The roster in GraphQL: the caller, the org's members, lead caps and the org's settings."""

from __future__ import annotations

from typing import Annotated

import strawberry

from crmkit.graphql import Forbidden, NotFound, ValidationError, parse_uuid
from services.leads.handlers import roster as h
from services.leads.schema.context import Info, caller, uow
from services.leads.schema.results import ADMIN, COMMON
from services.leads.schema.types import LeadSettings, Member


@strawberry.type
class MemberPayload:
    member: Member


@strawberry.type
class LeadSettingsPayload:
    settings: LeadSettings


MemberResult = Annotated[
    MemberPayload | ValidationError | NotFound | Forbidden, strawberry.union("MemberResult")
]
LeadSettingsResult = Annotated[
    LeadSettingsPayload | ValidationError | Forbidden, strawberry.union("LeadSettingsResult")
]


@strawberry.input(description="Replaces the org's lead settings; null restores a default.")
class LeadSettingsInput:
    default_region: str = "PL"
    default_lead_cap: int | None = None
    idle_return_days: int | None = strawberry.field(
        default=None, description="Return leads owned this many days without a status "
        "change to the pool; null turns idle return off."
    )


@strawberry.type
class RosterQuery:
    @strawberry.field(description="The caller, as the roster knows them.")  # type: ignore[untyped-decorator]
    async def me(self, info: Info) -> Member:
        who = await caller(info)
        [found] = await h.list_members(h.ListMembers(who, ids=[who.member_id]), uow(info))
        return Member.of(found)

    @strawberry.field(description="The org's roster, optionally one team.")  # type: ignore[untyped-decorator]
    async def members(self, info: Info, team: str | None = None) -> list[Member]:
        found = await h.list_members(h.ListMembers(await caller(info), team=team), uow(info))
        return [Member.of(m) for m in found]


@strawberry.type
class SettingsQuery:
    @strawberry.field
    async def lead_settings(self, info: Info) -> LeadSettings:
        return LeadSettings.of(await h.lead_settings(h.LeadSettingsOf(await caller(info)),
                                                     uow(info)))


@strawberry.type
class RosterMutation:
    @strawberry.mutation(description="A member's own lead cap (null: the org default). "
                         "Managers for their team, admins for anyone.")  # type: ignore[untyped-decorator]
    async def set_lead_cap(
        self, info: Info, member_id: strawberry.ID, lead_cap: int | None,
    ) -> MemberResult:
        async def run() -> MemberPayload:
            member = await h.set_lead_cap(h.SetLeadCap(
                await caller(info), parse_uuid(member_id, "memberId"), lead_cap), uow(info))
            return MemberPayload(member=Member.of(member))

        return await COMMON.answer(run())

    @strawberry.mutation(description="Admins: the org's phone region, default cap and idle "
                         "return.")  # type: ignore[untyped-decorator]
    async def update_lead_settings(
        self, info: Info, input: LeadSettingsInput
    ) -> LeadSettingsResult:
        async def run() -> LeadSettingsPayload:
            record = await h.update_lead_settings(h.UpdateLeadSettings(
                await caller(info), input.default_region, input.default_lead_cap,
                input.idle_return_days,
            ), uow(info))
            return LeadSettingsPayload(settings=LeadSettings.of(record))

        return await ADMIN.answer(run())

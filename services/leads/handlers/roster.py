"""The sales roster: members as their tokens describe them, lead caps, the org's settings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from crmkit.commands import ById, Command, must_exist, require_admin
from crmkit.errors import ProblemCollector
from services.leads import domain, normalise
from services.leads.handlers.common import Work, emit, member_event
from services.leads.records import MemberRecord, OrgSettingsRecord


class RegisterMember(Command):
    """The caller, entered in the roster as their token names them."""


async def register_member(cmd: RegisterMember, uow: Work) -> MemberRecord:
    """Record the caller from their token claims; announce new members and changed ones."""
    caller = cmd.caller
    roles = sorted(r.value for r in caller.roles)
    async with uow:
        repo = uow.repo
        settings = await repo.org_settings(caller.org_id)
        member = await repo.get_member(caller.org_id, caller.member_id, lock=True)
        if member is None:
            member = await repo.insert_member(
                caller.org_id, caller.member_id, caller.name, caller.team, roles
            )
            if member is not None:
                cap = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
                emit(uow, caller, caller.org_id, member.id, member.version,
                     member_event(member, cap, ["registered"], None, caller.member_id))
                await uow.commit()
                return member
            # registered concurrently: fall through to the comparison
            member = await repo.get_member(caller.org_id, caller.member_id, lock=True)
            assert member is not None
        changes: dict[str, Any] = {}
        if member.name != caller.name:
            changes["name"] = caller.name
        if member.team != caller.team:
            changes["team"] = caller.team
        if sorted(member.roles) != roles:
            changes["roles"] = roles
        if changes:
            member = await repo.update_member(caller.org_id, caller.member_id, **changes)
            if "team" in changes:
                await repo.retag_owner_team(caller.org_id, caller.member_id, caller.team)
            cap = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
            emit(uow, caller, caller.org_id, member.id, member.version,
                 member_event(member, cap, sorted(changes), cap, caller.member_id))
            await uow.commit()
        return member


class ListMembers(Command):
    """The roster is visible to every member of the org (who to hand a lead to)."""

    team: str | None = None
    ids: Sequence[uuid.UUID] | None = None


async def list_members(cmd: ListMembers, uow: Work) -> list[MemberRecord]:
    """By name, then id."""
    async with uow:
        return await uow.repo.list_members(cmd.caller.org_id, team=cmd.team, ids=cmd.ids)


async def members_by_id(cmd: ById, uow: Work) -> dict[uuid.UUID, MemberRecord]:
    """The members among ``cmd.ids`` (entity references)."""
    async with uow:
        found = await uow.repo.members_by_id(cmd.caller.org_id, cmd.ids)
    return {m.id: m for m in found}


class MembersOf(Command):
    ids: Sequence[uuid.UUID]


async def active_lead_counts(cmd: MembersOf, uow: Work) -> dict[uuid.UUID, int]:
    """Active leads per member among ``ids`` (0 for those holding none)."""
    async with uow:
        counts = await uow.repo.active_lead_counts(cmd.caller.org_id, list(cmd.ids))
    return {member_id: counts.get(member_id, 0) for member_id in cmd.ids}


class LeadSettingsOf(Command):
    """A read of the caller's org's lead settings."""


async def lead_settings(cmd: LeadSettingsOf, uow: Work) -> OrgSettingsRecord:
    async with uow:
        return await uow.repo.org_settings(cmd.caller.org_id)


class SetLeadCap(Command):
    member_id: uuid.UUID
    lead_cap: int | None
    """``None``: back to the org default."""


async def set_lead_cap(cmd: SetLeadCap, uow: Work) -> MemberRecord:
    problems = ProblemCollector()
    domain.validate_cap(cmd.lead_cap, problems)
    problems.raise_if_any()
    caller = cmd.caller
    async with uow:
        member = must_exist(
            await uow.repo.get_member(caller.org_id, cmd.member_id, lock=True),
            "Member", cmd.member_id
        )
        domain.require_manager_of(caller, member.team, "set a member's lead cap")
        if member.lead_cap == cmd.lead_cap:
            return member
        settings = await uow.repo.org_settings(caller.org_id)
        previous = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
        member = await uow.repo.update_member(caller.org_id, member.id, lead_cap=cmd.lead_cap)
        cap = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
        emit(uow, caller, caller.org_id, member.id, member.version,
             member_event(member, cap, ["lead_cap"], previous, caller.member_id))
        await uow.commit()
        return member


class UpdateLeadSettings(Command):
    default_region: str
    default_lead_cap: int | None
    idle_return_days: int | None


async def update_lead_settings(cmd: UpdateLeadSettings, uow: Work) -> OrgSettingsRecord:
    """Replaces the org's settings; a member whose effective cap changes is announced."""
    require_admin(cmd.caller, "only an admin may change the org's lead settings")
    problems = ProblemCollector()
    region = cmd.default_region.strip().upper()
    if not normalise.is_valid_region(region):
        problems.add("defaultRegion", "is not a known ISO 3166 region code")
    domain.validate_cap(cmd.default_lead_cap, problems, "defaultLeadCap")
    if cmd.idle_return_days is not None and not 1 <= cmd.idle_return_days <= 3650:
        problems.add("idleReturnDays", "must be between 1 and 3650 (or null for off)")
    problems.raise_if_any()
    org_id = cmd.caller.org_id
    async with uow:
        before = await uow.repo.org_settings(org_id)
        after = await uow.repo.save_org_settings(
            org_id, default_region=region, default_lead_cap=cmd.default_lead_cap,
            idle_return_days=cmd.idle_return_days,
        )
        if after.default_lead_cap != before.default_lead_cap:
            for member in await uow.repo.list_members(org_id):
                if member.lead_cap is None:
                    emit(uow, cmd.caller, org_id, member.id, member.version,
                         member_event(member, after.default_lead_cap, ["lead_cap"],
                                      before.default_lead_cap, cmd.caller.member_id))
        await uow.commit()
        return after

"""Use cases of the leads service: ``async def x(cmd, uow)``; each commits once or not at all."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.auth import Caller
from crmkit.contracts.leads import (
    LeadConverted,
    LeadReleased,
    LeadStatusChanged,
    MemberUpdated,
)
from crmkit.errors import (
    ForbiddenError,
    InvalidInput,
    NotFoundError,
    ProblemCollector,
    VersionConflictError,
)
from crmkit.outbox import SqlUnitOfWork
from services.leads import domain, events, normalise
from services.leads.domain import LeadStatus
from services.leads.records import (
    AccountRecord,
    ContactRecord,
    LeadRecord,
    MemberRecord,
    OrgSettingsRecord,
)
from services.leads.repository import LeadsRepository, PoolFilter


class LeadsUnitOfWork(SqlUnitOfWork[LeadsRepository]):
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], outbox: Table, *, default_lead_cap: int
    ) -> None:
        super().__init__(
            sessions, outbox, partial(LeadsRepository, default_lead_cap=default_lead_cap)
        )


# --- helpers ------------------------------------------------------------------------------------


def _emit(uow: LeadsUnitOfWork, caller_or_actor: Caller | uuid.UUID | None, org_id: uuid.UUID,
          aggregate_id: uuid.UUID, version: int, event: Any) -> None:
    actor = caller_or_actor.member_id if isinstance(caller_or_actor, Caller) else caller_or_actor
    uow.emit(
        events.wrap(event, org_id=org_id, aggregate_id=aggregate_id, version=version,
                    actor_id=actor)
    )


async def _visible_lead(
    uow: LeadsUnitOfWork, caller: Caller, lead_id: uuid.UUID, *, lock: bool = True
) -> LeadRecord:
    """The lead, locked; another org's lead or one the caller may not see is 'not found'."""
    lead = await uow.repo.get_lead(caller.org_id, lead_id, lock=lock)
    if lead is None or not domain.can_see_lead(caller, lead.owner_id, lead.owner_team):
        raise NotFoundError("Lead", lead_id)
    return lead


def _check_version(entity: str, expected: int | None, current: int) -> None:
    if expected is not None and expected != current:
        raise VersionConflictError(entity, expected, current)


def _member_event(
    member: MemberRecord, cap: int, changed: list[str], previous_cap: int | None,
    updated_by: uuid.UUID | None,
) -> MemberUpdated:
    return MemberUpdated(
        member_id=member.id,
        team=member.team,
        lead_cap=cap,
        lead_cap_override=member.lead_cap,
        previous_lead_cap=previous_cap,
        name=member.name,
        roles=list(member.roles),
        changed=changed,
        updated_by=updated_by,
    )


# --- roster -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    member: MemberRecord
    lead_cap: int
    active_leads: int


async def register_member(caller: Caller, uow: LeadsUnitOfWork) -> MemberRecord:
    """Record the caller from their token claims; announce new members and changed ones."""
    roles = sorted(r.value for r in caller.roles)
    repo = uow.repo
    settings = await repo.org_settings(caller.org_id)
    member = await repo.get_member(caller.org_id, caller.member_id, lock=True)
    if member is None:
        member = await repo.insert_member(
            caller.org_id, caller.member_id, caller.name, caller.team, roles
        )
        if member is None:  # registered concurrently: fall through to the comparison
            member = await repo.get_member(caller.org_id, caller.member_id, lock=True)
            assert member is not None
        else:
            cap = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
            _emit(uow, caller, caller.org_id, member.id, member.version,
                  _member_event(member, cap, ["registered"], None, caller.member_id))
            await uow.commit()
            return member
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
        _emit(uow, caller, caller.org_id, member.id, member.version,
              _member_event(member, cap, sorted(changes), cap, caller.member_id))
    await uow.commit()
    return member


async def _member_views(
    uow: LeadsUnitOfWork, org_id: uuid.UUID, records: list[MemberRecord]
) -> list[MemberView]:
    settings = await uow.repo.org_settings(org_id)
    counts = await uow.repo.active_lead_counts(org_id, [m.id for m in records])
    return [
        MemberView(m, domain.effective_cap(m.lead_cap, settings.default_lead_cap),
                   counts.get(m.id, 0))
        for m in records
    ]


async def list_members(
    caller: Caller, uow: LeadsUnitOfWork, *, team: str | None = None,
    ids: list[uuid.UUID] | None = None,
) -> list[MemberView]:
    """The roster is visible to every member of the org (who to hand a lead to)."""
    records = await uow.repo.list_members(caller.org_id, team=team, ids=ids)
    return await _member_views(uow, caller.org_id, records)


@dataclass(frozen=True)
class SetLeadCap:
    caller: Caller
    member_id: uuid.UUID
    lead_cap: int | None
    """``None``: back to the org default."""


async def set_lead_cap(cmd: SetLeadCap, uow: LeadsUnitOfWork) -> MemberView:
    problems = ProblemCollector()
    domain.validate_cap(cmd.lead_cap, problems)
    problems.raise_if_any()
    caller = cmd.caller
    member = await uow.repo.get_member(caller.org_id, cmd.member_id, lock=True)
    if member is None:
        raise NotFoundError("Member", cmd.member_id)
    domain.require_manager_of(caller, member.team, "set a member's lead cap")
    settings = await uow.repo.org_settings(caller.org_id)
    previous = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
    if member.lead_cap != cmd.lead_cap:
        member = await uow.repo.update_member(caller.org_id, member.id, lead_cap=cmd.lead_cap)
        cap = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
        _emit(uow, caller, caller.org_id, member.id, member.version,
              _member_event(member, cap, ["lead_cap"], previous, caller.member_id))
    [view] = await _member_views(uow, caller.org_id, [member])
    await uow.commit()
    return view


@dataclass(frozen=True)
class UpdateLeadSettings:
    caller: Caller
    default_region: str
    default_lead_cap: int | None
    idle_return_days: int | None


async def update_lead_settings(cmd: UpdateLeadSettings, uow: LeadsUnitOfWork) -> OrgSettingsRecord:
    """Replaces the org's settings; a member whose effective cap changes is announced."""
    if not cmd.caller.is_admin:
        raise ForbiddenError("only an admin may change the org's lead settings")
    problems = ProblemCollector()
    region = cmd.default_region.strip().upper()
    if not normalise.is_valid_region(region):
        problems.add("defaultRegion", "is not a known ISO 3166 region code")
    domain.validate_cap(cmd.default_lead_cap, problems, "defaultLeadCap")
    if cmd.idle_return_days is not None and not 1 <= cmd.idle_return_days <= 3650:
        problems.add("idleReturnDays", "must be between 1 and 3650 (or null for off)")
    problems.raise_if_any()
    org_id = cmd.caller.org_id
    before = await uow.repo.org_settings(org_id)
    after = await uow.repo.save_org_settings(
        org_id, default_region=region, default_lead_cap=cmd.default_lead_cap,
        idle_return_days=cmd.idle_return_days,
    )
    if after.default_lead_cap != before.default_lead_cap:
        for member in await uow.repo.list_members(org_id):
            if member.lead_cap is None:
                _emit(uow, cmd.caller, org_id, member.id, member.version,
                      _member_event(member, after.default_lead_cap, ["lead_cap"],
                                    before.default_lead_cap, cmd.caller.member_id))
    await uow.commit()
    return after


# --- leads --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadInput:
    company: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    source: str | None = None
    notes: str | None = None
    tags: list[str] | None = None
    priority: int | None = None


@dataclass(frozen=True)
class CreateLead:
    caller: Caller
    data: LeadInput
    allow_duplicate: bool = False


def _lead_fields(data: LeadInput, region: str) -> domain.LeadFields:
    problems = ProblemCollector()
    fields = domain.build_lead_fields(
        company=data.company, contact_name=data.contact_name, email=data.email,
        phone=data.phone, website=data.website, source=data.source, notes=data.notes,
        tags=data.tags, priority=data.priority, region=region, problems=problems,
        prefix="input.",
    )
    problems.raise_if_any()
    return fields


def _field_values(fields: domain.LeadFields) -> dict[str, Any]:
    return {
        "company": fields.company, "company_key": fields.company_key,
        "contact_name": fields.contact_name, "email": fields.email, "phone": fields.phone,
        "website": fields.website, "domain": fields.domain, "source": fields.source,
        "notes": fields.notes, "tags": list(fields.tags), "priority": fields.priority,
    }


async def create_lead(cmd: CreateLead, uow: LeadsUnitOfWork) -> LeadRecord:
    """A new pool lead; ``DuplicateLead`` names a matching lead unless duplicates are allowed."""
    caller = cmd.caller
    settings = await uow.repo.org_settings(caller.org_id)
    fields = _lead_fields(cmd.data, settings.default_region)
    await uow.repo.lock_org_lead_creation(caller.org_id)
    if not cmd.allow_duplicate:
        found = await uow.repo.find_duplicate(caller.org_id, fields.dedupe_keys)
        if found is not None:
            raise domain.DuplicateLead(found[0].id, found[1])
    lead = await uow.repo.insert_lead(
        {"id": uuid.uuid4(), "org_id": caller.org_id, "created_by": caller.member_id,
         **_field_values(fields)}
    )
    _emit(uow, caller, caller.org_id, lead.id, lead.version, events.lead_created(lead))
    await uow.commit()
    return lead


@dataclass(frozen=True)
class UpdateLead:
    caller: Caller
    lead_id: uuid.UUID
    changes: dict[str, Any]
    """LeadInput field name -> new value; absent fields stay as they are."""
    expected_version: int | None = None


_UPDATABLE = ("company", "contact_name", "email", "phone", "website", "source", "notes", "tags",
              "priority")


async def update_lead(cmd: UpdateLead, uow: LeadsUnitOfWork) -> LeadRecord:
    caller = cmd.caller
    unknown = set(cmd.changes) - set(_UPDATABLE)
    if unknown:
        raise InvalidInput.field("input", f"unknown fields {sorted(unknown)}")
    lead = await _visible_lead(uow, caller, cmd.lead_id)
    if lead.owner_id is None and not caller.is_manager:
        raise ForbiddenError("claim a pool lead before editing it")
    _check_version("Lead", cmd.expected_version, lead.version)
    merged = {name: getattr(lead, name) for name in _UPDATABLE} | cmd.changes
    settings = await uow.repo.org_settings(caller.org_id)
    fields = _lead_fields(LeadInput(**merged), settings.default_region)
    values = _field_values(fields)
    changed = [k for k, v in values.items() if k != "company_key" and getattr(lead, k) != v]
    if not changed:
        await uow.rollback()
        return lead
    lead = await uow.repo.update_lead(
        caller.org_id, lead.id, {**values, "last_activity_at": _now()}
    )
    _emit(uow, caller, caller.org_id, lead.id, lead.version, events.lead_updated(lead, changed))
    await uow.commit()
    return lead


def _now() -> Any:
    return func.now()


@dataclass(frozen=True)
class ChangeStatus:
    caller: Caller
    lead_id: uuid.UUID
    status: LeadStatus
    reason: str | None = None


async def change_status(cmd: ChangeStatus, uow: LeadsUnitOfWork) -> LeadRecord:
    """contacted / qualified (owner, or their manager) and disqualified (with a reason)."""
    caller = cmd.caller
    reason = None
    if cmd.status is LeadStatus.DISQUALIFIED:
        reason = normalise.clean_text(cmd.reason, max_length=500) if cmd.reason else None
        if reason is None:
            raise InvalidInput.field("reason", "a disqualification needs a reason")
    lead = await _visible_lead(uow, caller, cmd.lead_id)
    if lead.owner_id is not None and lead.owner_id != caller.member_id and not caller.is_manager:
        raise ForbiddenError("only the lead's owner or their manager may change its status")
    if lead.owner_id is None and cmd.status is LeadStatus.DISQUALIFIED and not caller.is_manager:
        raise ForbiddenError("only a manager may disqualify a pool lead")
    domain.check_status_change(lead.lead_status, cmd.status, lead.owner_id)
    if lead.lead_status is cmd.status:  # marking contacted twice records activity only
        lead = await uow.repo.update_lead(caller.org_id, lead.id, {"last_activity_at": _now()})
        await uow.commit()
        return lead
    values: dict[str, Any] = {"status": cmd.status.value, "status_changed_at": _now(),
                              "last_activity_at": _now()}
    if reason is not None:
        values["disqualify_reason"] = reason
    previous = lead.status
    lead = await uow.repo.update_lead(caller.org_id, lead.id, values)
    _emit(uow, caller, caller.org_id, lead.id, lead.version, LeadStatusChanged(
        lead_id=lead.id, status=lead.status, previous_status=previous, owner_id=lead.owner_id,
        team=lead.owner_team, reason=reason, changed_by=caller.member_id,
    ))
    await uow.commit()
    return lead


# --- the pool -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimResult:
    leads: list[LeadRecord]
    requested: int
    lead_cap: int
    active_leads: int
    """Active leads the member holds after the claim."""


async def _lock_claimer(
    caller: Caller, uow: LeadsUnitOfWork
) -> tuple[MemberRecord, int, int]:
    """Lock the member row (serialises one member's claims and assignments: the cap check
    and the claim happen under the lock), then count what they hold."""
    member = await uow.repo.get_member(caller.org_id, caller.member_id, lock=True)
    if member is None:
        raise NotFoundError("Member", caller.member_id)
    settings = await uow.repo.org_settings(caller.org_id)
    cap = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
    active = await uow.repo.active_lead_count(caller.org_id, member.id)
    return member, cap, active


@dataclass(frozen=True)
class ClaimNextLeads:
    caller: Caller
    count: int
    pool_filter: PoolFilter = field(default_factory=PoolFilter)


async def claim_next_leads(cmd: ClaimNextLeads, uow: LeadsUnitOfWork) -> ClaimResult:
    """The highest-priority, oldest pool leads, as many as asked and the cap still allows
    (``domain.claimable``, applied in the claim statement); their ``lead.assigned`` events
    are written by that statement too, without a NOTIFY: the caller wakes the relay."""
    if not 1 <= cmd.count <= domain.MAX_CLAIM_BATCH:
        raise InvalidInput.field("count", f"must be between 1 and {domain.MAX_CLAIM_BATCH}")
    caller = cmd.caller
    claimer = await uow.repo.lock_claimer(caller.org_id, caller.member_id)
    if claimer is None:
        raise NotFoundError("Member", caller.member_id)
    batch = await uow.repo.claim_next(caller.org_id, claimer, cmd.count, cmd.pool_filter)
    active = batch.active_before
    claimed = list(batch.leads)
    room = domain.claimable(claimer.lead_cap, active, cmd.count)
    # A row that a rolled-back claimer held was skipped and may leave the batch short; try
    # again while the pool still yields rows (the statement re-counts, so the cap holds).
    while batch.leads and len(claimed) < room:
        batch = await uow.repo.claim_next(
            caller.org_id, claimer, cmd.count - len(claimed), cmd.pool_filter
        )
        claimed.extend(batch.leads)
    await uow.commit()
    return ClaimResult(claimed, cmd.count, claimer.lead_cap, active + len(claimed))


@dataclass(frozen=True)
class ClaimLead:
    caller: Caller
    lead_id: uuid.UUID


async def claim_lead(cmd: ClaimLead, uow: LeadsUnitOfWork) -> LeadRecord:
    caller = cmd.caller
    member, cap, active = await _lock_claimer(caller, uow)
    lead = await _visible_lead(uow, caller, cmd.lead_id)
    new_status = domain.status_after_claim(lead.lead_status, lead.owner_id)
    domain.check_assignment_fits(member.id, cap, active, 1)
    values: dict[str, Any] = {"owner_id": member.id, "owner_team": member.team,
                              "status": new_status.value, "assigned_at": _now()}
    if new_status.value != lead.status:
        values["status_changed_at"] = _now()
    previous_status = lead.status
    lead = await uow.repo.update_lead(caller.org_id, lead.id, values)
    _emit(uow, caller, caller.org_id, lead.id, lead.version, events.lead_assigned(
        lead, previous_status, None, None, cap, caller.member_id, "claim"))
    await uow.commit()
    return lead


@dataclass(frozen=True)
class ReleaseLead:
    caller: Caller
    lead_id: uuid.UUID


async def release_lead(cmd: ReleaseLead, uow: LeadsUnitOfWork) -> LeadRecord:
    """Back to the pool: by its owner, or by a manager of the owner's team, or an admin."""
    caller = cmd.caller
    lead = await _visible_lead(uow, caller, cmd.lead_id)
    new_status = domain.status_after_release(lead.lead_status, lead.owner_id)
    if lead.owner_id != caller.member_id and not caller.is_manager:
        raise ForbiddenError("only the lead's owner or their manager may release it")
    lead = await _release(uow, lead, new_status, caller.member_id, "released")
    await uow.commit()
    return lead


async def _release(
    uow: LeadsUnitOfWork, lead: LeadRecord, new_status: LeadStatus,
    actor: uuid.UUID | None, reason: str,
) -> LeadRecord:
    assert lead.owner_id is not None
    values: dict[str, Any] = {"owner_id": None, "owner_team": None, "assigned_at": None,
                              "status": new_status.value}
    if new_status.value != lead.status:
        values["status_changed_at"] = _now()
    previous = lead
    lead = await uow.repo.update_lead(lead.org_id, lead.id, values)
    _emit(uow, actor, lead.org_id, lead.id, lead.version, LeadReleased(
        lead_id=lead.id, previous_owner_id=previous.owner_id, previous_team=previous.owner_team,
        released_by=actor, reason=reason, status=lead.status,
        previous_status=previous.status,
    ))
    return lead


@dataclass(frozen=True)
class AssignLeads:
    caller: Caller
    lead_ids: list[uuid.UUID]
    member_id: uuid.UUID


async def assign_leads(cmd: AssignLeads, uow: LeadsUnitOfWork) -> list[LeadRecord]:
    """Give leads to a member (managers: their team; admins: anyone). All or nothing: when
    they do not all fit under the member's cap, ``CapExceeded`` says how many would."""
    caller = cmd.caller
    lead_ids = list(dict.fromkeys(cmd.lead_ids))
    if not 1 <= len(lead_ids) <= domain.MAX_ASSIGN_BATCH:
        raise InvalidInput.field("ids", f"give between 1 and {domain.MAX_ASSIGN_BATCH} leads")
    if not caller.is_manager:
        raise ForbiddenError("only a manager or an admin may assign leads")
    member = await uow.repo.get_member(caller.org_id, cmd.member_id, lock=True)
    if member is None:
        raise NotFoundError("Member", cmd.member_id)
    domain.require_manager_of(caller, member.team, "assign leads to this member")
    found = {lead.id: lead for lead in await uow.repo.get_leads_for_update(caller.org_id, lead_ids)}
    for lead_id in lead_ids:
        lead = found.get(lead_id)
        if lead is None or not domain.can_see_lead(caller, lead.owner_id, lead.owner_team):
            raise NotFoundError("Lead", lead_id)
        domain.status_after_assignment(lead.lead_status)
    moving = [found[i] for i in lead_ids if found[i].owner_id != member.id]
    settings = await uow.repo.org_settings(caller.org_id)
    cap = domain.effective_cap(member.lead_cap, settings.default_lead_cap)
    active = await uow.repo.active_lead_count(caller.org_id, member.id)
    domain.check_assignment_fits(member.id, cap, active, len(moving))
    result = {lead.id: lead for lead in found.values()}
    for lead in moving:
        new_status = domain.status_after_assignment(lead.lead_status)
        values: dict[str, Any] = {"owner_id": member.id, "owner_team": member.team,
                                  "status": new_status.value, "assigned_at": _now()}
        if new_status.value != lead.status:
            values["status_changed_at"] = _now()
        updated = await uow.repo.update_lead(caller.org_id, lead.id, values)
        via = "assignment" if lead.owner_id is None else "reassignment"
        _emit(uow, caller, caller.org_id, updated.id, updated.version, events.lead_assigned(
            updated, lead.status, lead.owner_id, lead.owner_team, cap, caller.member_id, via))
        result[lead.id] = updated
    await uow.commit()
    return [result[i] for i in lead_ids]


async def return_idle_leads(
    org_id: uuid.UUID, idle_days: int, uow: LeadsUnitOfWork, *, batch: int = 500
) -> int:
    """Idle return (org setting): owned leads without a status change for ``idle_days``
    go back to the pool, each with a ``lead.released`` event (reason ``idle_return``)."""
    idle = await uow.repo.idle_leads(org_id, idle_days, limit=batch)
    for lead in idle:
        await _release(uow, lead, domain.status_after_release(lead.lead_status, lead.owner_id),
                       None, "idle_return")
    await uow.commit()
    return len(idle)


# --- clients ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountInput:
    name: str | None = None
    domain: str | None = None
    website: str | None = None
    nip: str | None = None
    address: str | None = None


def _account_fields(data: AccountInput, prefix: str) -> domain.AccountFields:
    problems = ProblemCollector()
    fields = domain.build_account_fields(
        name=data.name, domain=data.domain, website=data.website, nip=data.nip,
        address=data.address, problems=problems, prefix=prefix,
    )
    problems.raise_if_any()
    return fields


async def _ensure_nip_free(
    uow: LeadsUnitOfWork, org_id: uuid.UUID, nip: str | None, exclude: uuid.UUID | None = None
) -> None:
    if nip is not None and await uow.repo.nip_taken(org_id, nip, exclude=exclude):
        raise InvalidInput.field("input.nip", "another account already has this NIP")


@dataclass(frozen=True)
class CreateAccount:
    caller: Caller
    data: AccountInput


async def create_account(cmd: CreateAccount, uow: LeadsUnitOfWork) -> AccountRecord:
    caller = cmd.caller
    fields = _account_fields(cmd.data, "input.")
    await _ensure_nip_free(uow, caller.org_id, fields.nip)
    account = await uow.repo.insert_account({
        "id": uuid.uuid4(), "org_id": caller.org_id, "name": fields.name,
        "domain": fields.domain, "nip": fields.nip, "address": fields.address,
        "owner_id": caller.member_id, "owner_team": caller.team,
    })
    _emit(uow, caller, caller.org_id, account.id, account.version,
          events.account_created(account, None))
    await uow.commit()
    return account


@dataclass(frozen=True)
class UpdateAccount:
    caller: Caller
    account_id: uuid.UUID
    data: AccountInput
    expected_version: int | None = None


async def update_account(cmd: UpdateAccount, uow: LeadsUnitOfWork) -> AccountRecord:
    """Replace an account's fields: its owner, a manager of the owner's team, or an admin."""
    caller = cmd.caller
    account = await uow.repo.get_account(caller.org_id, cmd.account_id, lock=True)
    if account is None:
        raise NotFoundError("Account", cmd.account_id)
    if account.owner_id != caller.member_id and not domain.can_manage_member(
        caller, account.owner_team
    ):
        raise ForbiddenError("only the account's owner or their manager may change it")
    _check_version("Account", cmd.expected_version, account.version)
    fields = _account_fields(cmd.data, "input.")
    await _ensure_nip_free(uow, caller.org_id, fields.nip, exclude=account.id)
    values = {"name": fields.name, "domain": fields.domain, "nip": fields.nip,
              "address": fields.address}
    changed = [k for k, v in values.items() if getattr(account, k) != v]
    if not changed:
        await uow.rollback()
        return account
    account = await uow.repo.update_account(caller.org_id, account.id, values)
    _emit(uow, caller, caller.org_id, account.id, account.version,
          events.account_updated(account, changed))
    await uow.commit()
    return account


@dataclass(frozen=True)
class ContactInput:
    name: str | None
    email: str | None = None
    phone: str | None = None
    position: str | None = None


@dataclass(frozen=True)
class CreateContact:
    caller: Caller
    account_id: uuid.UUID
    data: ContactInput


def _contact_values(data: ContactInput, region: str, prefix: str) -> dict[str, Any]:
    problems = ProblemCollector()
    values: dict[str, Any] = {}
    for name, raw, length in (("name", data.name, 300), ("position", data.position, 200)):
        try:
            values[name] = normalise.clean_text(raw, max_length=length)
        except normalise.NormalisationError as error:
            problems.add(prefix + name, str(error))
    if values.get("name") is None:
        problems.add(prefix + "name", "is required")
    try:
        values["email"] = normalise.normalise_email(data.email)
    except normalise.NormalisationError as error:
        problems.add(prefix + "email", str(error))
    try:
        values["phone"] = normalise.normalise_phone(data.phone, region)
    except normalise.NormalisationError as error:
        problems.add(prefix + "phone", str(error))
    problems.raise_if_any()
    return values


async def create_contact(cmd: CreateContact, uow: LeadsUnitOfWork) -> ContactRecord:
    caller = cmd.caller
    account = await uow.repo.get_account(caller.org_id, cmd.account_id)
    if account is None:
        raise NotFoundError("Account", cmd.account_id)
    settings = await uow.repo.org_settings(caller.org_id)
    values = _contact_values(cmd.data, settings.default_region, "input.")
    contact = await uow.repo.insert_contact(
        {"id": uuid.uuid4(), "org_id": caller.org_id, "account_id": account.id, **values}
    )
    _emit(uow, caller, caller.org_id, contact.id, contact.version,
          events.contact_created(contact))
    await uow.commit()
    return contact


# --- conversion ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpportunityInput:
    name: str
    amount: Decimal | str
    currency: str
    expected_close_date: date | None = None


@dataclass(frozen=True)
class ConvertLead:
    caller: Caller
    lead_id: uuid.UUID
    opportunity: OpportunityInput
    account_id: uuid.UUID | None = None
    account: AccountInput | None = None
    """Overrides of the account made from the lead (name, NIP, address, ...)."""


@dataclass(frozen=True)
class Conversion:
    lead: LeadRecord
    account: AccountRecord
    contact: ContactRecord | None
    opportunity_id: uuid.UUID
    account_created: bool


async def convert_lead(cmd: ConvertLead, uow: LeadsUnitOfWork) -> Conversion:
    """Lead -> account (linked when given or matched by NIP/domain, else created) + contact;
    the lead becomes CONVERTED and ``lead.converted`` carries a new opportunity id for the
    pipeline service to create the opportunity with."""
    caller = cmd.caller
    problems = ProblemCollector()
    # The rules of the contract's fields: the pipeline accepts the event this builds.
    opportunity_name = domain.validate_deal_name(cmd.opportunity.name, problems,
                                                 "opportunity.name")
    money = domain.validate_money(
        cmd.opportunity.amount, cmd.opportunity.currency, problems, "opportunity."
    )
    problems.raise_if_any()
    assert opportunity_name is not None and money is not None

    lead = await _visible_lead(uow, caller, cmd.lead_id)
    if lead.owner_id is not None and lead.owner_id != caller.member_id and not caller.is_manager:
        raise ForbiddenError("only the lead's owner or their manager may convert it")
    domain.check_convertible(lead.lead_status)
    owner_id = lead.owner_id or caller.member_id
    owner_team = lead.owner_team if lead.owner_id else caller.team

    account_created = False
    if cmd.account_id is not None:
        account = await uow.repo.get_account(caller.org_id, cmd.account_id)
        if account is None:
            raise NotFoundError("Account", cmd.account_id)
    else:
        overrides = cmd.account or AccountInput()
        fields = _account_fields(AccountInput(
            name=overrides.name or lead.company or lead.contact_name,
            domain=overrides.domain or lead.domain,
            website=overrides.website,
            nip=overrides.nip,
            address=overrides.address,
        ), "account.")
        matched = await uow.repo.find_account(caller.org_id, nip=fields.nip, domain=fields.domain)
        if matched is not None:
            account = matched
        else:
            account = await uow.repo.insert_account({
                "id": uuid.uuid4(), "org_id": caller.org_id, "name": fields.name,
                "domain": fields.domain, "nip": fields.nip, "address": fields.address,
                "owner_id": owner_id, "owner_team": owner_team,
            })
            account_created = True
            _emit(uow, caller, caller.org_id, account.id, account.version,
                  events.account_created(account, lead.id))

    contact = None
    if lead.contact_name or lead.email or lead.phone:
        contact = await uow.repo.insert_contact({
            "id": uuid.uuid4(), "org_id": caller.org_id, "account_id": account.id,
            "name": lead.contact_name or lead.email or lead.phone, "email": lead.email,
            "phone": lead.phone, "lead_id": lead.id,
        })
        _emit(uow, caller, caller.org_id, contact.id, contact.version,
              events.contact_created(contact))

    opportunity_id = uuid.uuid4()
    previous = lead
    lead = await uow.repo.update_lead(caller.org_id, lead.id, {
        "status": LeadStatus.CONVERTED.value, "status_changed_at": _now(),
        "last_activity_at": _now(), "owner_id": owner_id, "owner_team": owner_team,
        "account_id": account.id, "contact_id": contact.id if contact else None,
        "opportunity_id": opportunity_id,
    })
    _emit(uow, caller, caller.org_id, lead.id, lead.version, LeadConverted(
        lead_id=lead.id, opportunity_id=opportunity_id, name=opportunity_name,
        amount=money.amount, currency=money.currency.code,
        expected_close_date=cmd.opportunity.expected_close_date, account_id=account.id,
        contact_id=contact.id if contact else None, owner_id=owner_id, team=owner_team,
        status=lead.status, previous_status=previous.status,
        previous_owner_id=previous.owner_id if previous.owner_id != owner_id else None,
        account_created=account_created, company=lead.company, converted_by=caller.member_id,
    ))
    await uow.commit()
    return Conversion(lead, account, contact, opportunity_id, account_created)

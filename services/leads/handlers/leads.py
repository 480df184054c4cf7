"""Leads: creating, editing and qualifying them, and reading what the caller may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from crmkit.commands import ById, Command, require_admin
from crmkit.contracts.leads import LeadStatusChanged
from crmkit.errors import ForbiddenError, InvalidInput, ProblemCollector
from crmkit.paging import Page, page_of, page_request
from services.leads import domain, events, normalise
from services.leads.domain import LeadStatus
from services.leads.handlers.common import Work, check_version, emit, now, visible_lead
from services.leads.ports import LeadFilter
from services.leads.records import LeadRecord


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


UPDATABLE = ("company", "contact_name", "email", "phone", "website", "source", "notes", "tags",
             "priority")


def lead_fields(data: LeadInput, region: str) -> domain.LeadFields:
    problems = ProblemCollector()
    fields = domain.build_lead_fields(
        company=data.company, contact_name=data.contact_name, email=data.email,
        phone=data.phone, website=data.website, source=data.source, notes=data.notes,
        tags=data.tags, priority=data.priority, region=region, problems=problems,
        prefix="input.",
    )
    problems.raise_if_any()
    return fields


def field_values(fields: domain.LeadFields) -> dict[str, Any]:
    return {
        "company": fields.company, "company_key": fields.company_key,
        "contact_name": fields.contact_name, "email": fields.email, "phone": fields.phone,
        "website": fields.website, "domain": fields.domain, "source": fields.source,
        "notes": fields.notes, "tags": list(fields.tags), "priority": fields.priority,
    }


class CreateLead(Command):
    data: LeadInput
    allow_duplicate: bool = False


async def create_lead(cmd: CreateLead, uow: Work) -> LeadRecord:
    """A new pool lead; ``DuplicateLead`` when it matches one unless duplicates are allowed."""
    caller = cmd.caller
    async with uow:
        settings = await uow.repo.org_settings(caller.org_id)
        fields = lead_fields(cmd.data, settings.default_region)
        await uow.repo.lock_org_lead_creation(caller.org_id)
        if not cmd.allow_duplicate:
            found = await uow.repo.find_duplicate(caller.org_id, fields.dedupe_keys)
            if found is not None:
                existing, matched_on = found
                raise domain.DuplicateLead(domain.nameable(
                    caller, existing.id, existing.owner_id, existing.owner_team), matched_on)
        lead = await uow.repo.insert_lead(
            {"id": uuid.uuid4(), "org_id": caller.org_id, "created_by": caller.member_id,
             **field_values(fields)}
        )
        emit(uow, caller, caller.org_id, lead.id, lead.version, events.lead_created(lead))
        await uow.commit()
        return lead


class UpdateLead(Command):
    lead_id: uuid.UUID
    changes: dict[str, Any]
    """LeadInput field name -> new value; absent fields stay as they are."""
    expected_version: int | None = None


async def update_lead(cmd: UpdateLead, uow: Work) -> LeadRecord:
    caller = cmd.caller
    unknown = set(cmd.changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInput.field("input", f"unknown fields {sorted(unknown)}")
    async with uow:
        lead = await visible_lead(uow.repo, caller, cmd.lead_id)
        domain.check_may_work_on(caller, lead.owner_id, "editing it")
        check_version("Lead", cmd.expected_version, lead.version)
        merged = {name: getattr(lead, name) for name in UPDATABLE} | cmd.changes
        settings = await uow.repo.org_settings(caller.org_id)
        values = field_values(lead_fields(LeadInput(**merged), settings.default_region))
        changed = [k for k, v in values.items() if k != "company_key" and getattr(lead, k) != v]
        if not changed:
            return lead
        lead = await uow.repo.update_lead(
            caller.org_id, lead.id, {**values, "last_activity_at": now()}
        )
        emit(uow, caller, caller.org_id, lead.id, lead.version,
             events.lead_updated(lead, changed))
        await uow.commit()
        return lead


class ChangeStatus(Command):
    lead_id: uuid.UUID
    status: LeadStatus
    reason: str | None = None


async def change_status(cmd: ChangeStatus, uow: Work) -> LeadRecord:
    """contacted / qualified (owner, or their manager) and disqualified (with a reason)."""
    caller = cmd.caller
    reason = None
    if cmd.status is LeadStatus.DISQUALIFIED:
        try:
            reason = normalise.clean_text(cmd.reason, max_length=500) if cmd.reason else None
        except normalise.NormalisationError as error:  # too long: it was an internal error
            raise InvalidInput.field("reason", str(error)) from None
        if reason is None:
            raise InvalidInput.field("reason", "a disqualification needs a reason")
    async with uow:
        lead = await visible_lead(uow.repo, caller, cmd.lead_id)
        if (lead.owner_id is not None and lead.owner_id != caller.member_id
                and not caller.is_manager):
            raise ForbiddenError("only the lead's owner or their manager may change its status")
        if (lead.owner_id is None and cmd.status is LeadStatus.DISQUALIFIED
                and not caller.is_manager):
            raise ForbiddenError("only a manager may disqualify a pool lead")
        domain.check_status_change(lead.lead_status, cmd.status, lead.owner_id)
        at = now()
        if lead.lead_status is cmd.status:  # marking contacted twice records activity only
            lead = await uow.repo.update_lead(caller.org_id, lead.id, {"last_activity_at": at})
            await uow.commit()
            return lead
        values: dict[str, Any] = {"status": cmd.status.value, "status_changed_at": at,
                                  "last_activity_at": at}
        if reason is not None:
            values["disqualify_reason"] = reason
        previous = lead.status
        lead = await uow.repo.update_lead(caller.org_id, lead.id, values)
        emit(uow, caller, caller.org_id, lead.id, lead.version, LeadStatusChanged(
            lead_id=lead.id, status=lead.status, previous_status=previous,
            owner_id=lead.owner_id, team=lead.owner_team, reason=reason,
            changed_by=caller.member_id,
        ))
        await uow.commit()
        return lead


class EraseLead(Command):
    lead_id: uuid.UUID
    expected_version: int | None = None


async def erase_lead(cmd: EraseLead, uow: Work) -> LeadRecord:
    """Erase a lead for good (the person behind it asked to be forgotten): the row goes, and
    ``lead.erased``, which carries none of its details, tells the services holding a copy to
    drop it. Admins only (it is for good, and answers a person's request the org has to
    account for); the lead as it was, for the answer."""
    caller = cmd.caller
    require_admin(caller, "only an admin may erase a lead")
    async with uow:
        lead = await visible_lead(uow.repo, caller, cmd.lead_id)
        check_version("Lead", cmd.expected_version, lead.version)
        await uow.repo.delete_lead(caller.org_id, lead.id)
        emit(uow, caller, caller.org_id, lead.id, lead.version + 1,
             events.lead_erased(lead, caller.member_id))
        await uow.commit()
        return lead


class ListLeads(Command):
    first: int | None = None
    after: str | None = None
    lead_filter: LeadFilter = field(default_factory=LeadFilter)


async def list_leads(cmd: ListLeads, uow: Work) -> Page[LeadRecord]:
    """Leads the caller may see, newest first."""
    request = page_request(cmd.first, cmd.after)
    async with uow:
        rows = await uow.repo.list_leads(cmd.caller, cmd.lead_filter, request)
    return page_of(rows, request, lambda r: (r.created_at, r.id))


async def leads_by_id(cmd: ById, uow: Work) -> dict[uuid.UUID, LeadRecord]:
    """The leads among ``ids`` the caller may see (one query, however many ids)."""
    caller = cmd.caller
    async with uow:
        found = await uow.repo.get_leads(caller.org_id, cmd.ids)
    return {r.id: r for r in found if domain.can_see_lead(caller, r.owner_id, r.owner_team)}

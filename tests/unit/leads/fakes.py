"""The leads repository in memory: what the handler unit tests run on. The repository contract
suite (``tests/integration/leads/test_repository.py``) holds it to the same behaviour as the
SQL repository, the claim's fast path included."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from crmkit.auth import Caller
from crmkit.contracts import Envelope
from crmkit.paging import PageRequest
from crmkit.testing.fakes import FakeUnitOfWork
from crmkit.testing.paging import keyset_page
from crmkit.values import search_form
from services.leads import domain, events
from services.leads.csv_import import parse_csv
from services.leads.domain import DedupeKeys
from services.leads.import_report import CreatedRow, DuplicateRow, ImportReport, Progress
from services.leads.nip import nip_digits
from services.leads.ports import ClaimBatch, Claimer, ImportCsv, LeadFilter, PoolFilter
from services.leads.records import (
    AccountRecord,
    ContactRecord,
    LeadRecord,
    MemberRecord,
    OrgSettingsRecord,
)

DEFAULT_LEAD_CAP = 50
_KEYS = ("email", "phone", "domain and company")


def _now() -> datetime:
    return datetime.now(UTC)


def _keys(lead: LeadRecord | domain.LeadFields) -> tuple[Any, Any, Any]:
    pair = (lead.domain, lead.company_key) if lead.domain and lead.company_key else None
    return (lead.email, lead.phone, pair)


@dataclass
class FakeLeadsRepository:
    default_lead_cap: int = DEFAULT_LEAD_CAP
    settings_rows: dict[uuid.UUID, OrgSettingsRecord] = field(default_factory=dict)
    member_rows: dict[tuple[uuid.UUID, uuid.UUID], MemberRecord] = field(default_factory=dict)
    lead_rows: dict[uuid.UUID, LeadRecord] = field(default_factory=dict)
    account_rows: dict[uuid.UUID, AccountRecord] = field(default_factory=dict)
    contact_rows: dict[uuid.UUID, ContactRecord] = field(default_factory=dict)
    outbox: list[Envelope] = field(default_factory=list)
    """Events the repository wrote itself (the claim's fast path, the import)."""
    analyzed: int = 0

    # --- org settings ---------------------------------------------------------------------

    async def org_settings(self, org_id: uuid.UUID) -> OrgSettingsRecord:
        found = self.settings_rows.get(org_id)
        if found is None:
            return OrgSettingsRecord(org_id, "PL", self.default_lead_cap, None, None, 0)
        override = found.default_lead_cap_override
        return replace(found, default_lead_cap=self.default_lead_cap if override is None
                       else override)

    async def save_org_settings(
        self, org_id: uuid.UUID, *, default_region: str, default_lead_cap: int | None,
        idle_return_days: int | None,
    ) -> OrgSettingsRecord:
        before = self.settings_rows.get(org_id)
        self.settings_rows[org_id] = OrgSettingsRecord(
            org_id, default_region, 0, default_lead_cap, idle_return_days,
            1 if before is None else before.version + 1)
        return await self.org_settings(org_id)

    async def orgs_with_idle_return(self) -> list[tuple[uuid.UUID, int]]:
        return [(s.org_id, s.idle_return_days) for s in self.settings_rows.values()
                if s.idle_return_days is not None]

    # --- members --------------------------------------------------------------------------

    async def get_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, *, lock: bool = False
    ) -> MemberRecord | None:
        return self.member_rows.get((org_id, member_id))

    async def insert_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, name: str, team: str | None,
        roles: list[str],
    ) -> MemberRecord | None:
        if (org_id, member_id) in self.member_rows:
            return None
        at = _now()
        member = MemberRecord(org_id, member_id, name, team, list(roles), None, 1, at, at)
        self.member_rows[(org_id, member_id)] = member
        return member

    async def update_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, **values: Any
    ) -> MemberRecord:
        found = self.member_rows[(org_id, member_id)]
        changed = replace(found, **values, version=found.version + 1, updated_at=_now())
        self.member_rows[(org_id, member_id)] = changed
        return changed

    async def retag_owner_team(
        self, org_id: uuid.UUID, member_id: uuid.UUID, team: str | None
    ) -> None:
        for lead in list(self.lead_rows.values()):
            if lead.org_id == org_id and lead.owner_id == member_id:
                self.lead_rows[lead.id] = replace(lead, owner_team=team)
        for account in list(self.account_rows.values()):
            if account.org_id == org_id and account.owner_id == member_id:
                self.account_rows[account.id] = replace(account, owner_team=team)

    async def list_members(
        self, org_id: uuid.UUID, *, team: str | None = None,
        ids: Sequence[uuid.UUID] | None = None,
    ) -> list[MemberRecord]:
        return sorted(
            (m for m in self.member_rows.values()
             if m.org_id == org_id and (team is None or m.team == team)
             and (ids is None or m.id in ids)),
            key=lambda m: (m.name, m.id),
        )

    async def members_by_id(
        self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[MemberRecord]:
        return [m for m in self.member_rows.values() if m.org_id == org_id and m.id in ids]

    async def active_lead_counts(
        self, org_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        counts: dict[uuid.UUID, int] = {}
        for lead in self.lead_rows.values():
            owner = lead.owner_id
            if (owner is not None and lead.org_id == org_id and owner in member_ids
                    and lead.lead_status.is_active):
                counts[owner] = counts.get(owner, 0) + 1
        return counts

    # --- leads ----------------------------------------------------------------------------

    async def get_lead(
        self, org_id: uuid.UUID, lead_id: uuid.UUID, *, lock: bool = False
    ) -> LeadRecord | None:
        found = self.lead_rows.get(lead_id)
        return found if found is not None and found.org_id == org_id else None

    async def get_leads(
        self, org_id: uuid.UUID, lead_ids: Sequence[uuid.UUID], *, lock: bool = False
    ) -> list[LeadRecord]:
        return sorted((x for x in self.lead_rows.values()
                       if x.org_id == org_id and x.id in lead_ids), key=lambda x: x.id)

    async def lock_org_lead_creation(self, org_id: uuid.UUID) -> None:
        return None

    async def find_duplicate(
        self, org_id: uuid.UUID, keys: DedupeKeys
    ) -> tuple[LeadRecord, list[str]] | None:
        if keys.is_empty:
            return None
        for lead in sorted((x for x in self.lead_rows.values() if x.org_id == org_id),
                           key=lambda x: (x.created_at, x.id)):
            other = DedupeKeys(lead.email, lead.phone, lead.domain, lead.company_key)
            matched = keys.matched_on(other)
            if matched:
                return lead, matched
        return None

    async def insert_lead(self, values: dict[str, Any]) -> LeadRecord:
        at = _now()
        row: dict[str, Any] = {
            "company": None, "company_key": None, "contact_name": None, "email": None,
            "phone": None, "website": None, "domain": None, "source": None, "notes": None,
            "tags": [], "priority": 0, "status": "NEW", "owner_id": None, "owner_team": None,
            "assigned_at": None, "status_changed_at": at, "last_activity_at": None,
            "disqualify_reason": None, "account_id": None, "contact_id": None,
            "opportunity_id": None, "import_id": None, "created_by": None, "version": 1,
            "created_at": at, "updated_at": at,
        } | values
        lead = LeadRecord(**row)
        self.lead_rows[lead.id] = lead
        return lead

    async def update_lead(
        self, org_id: uuid.UUID, lead_id: uuid.UUID, values: dict[str, Any]
    ) -> LeadRecord:
        found = self.lead_rows[lead_id]
        assert found.org_id == org_id
        changed = replace(found, **values, version=found.version + 1, updated_at=_now())
        self.lead_rows[lead_id] = changed
        return changed

    async def list_leads(
        self, caller: Caller, lead_filter: LeadFilter, page: PageRequest
    ) -> list[LeadRecord]:
        search = search_form(lead_filter.search or "").strip()

        def shown(x: LeadRecord) -> bool:
            return (
                x.org_id == caller.org_id
                and domain.can_see_lead(caller, x.owner_id, x.owner_team)
                and (lead_filter.status is None or x.status == lead_filter.status.value)
                and (lead_filter.owner_id is None or x.owner_id == lead_filter.owner_id)
                and (not lead_filter.pool_only
                     or (x.owner_id is None and x.lead_status.is_active))
                and (not search or search in domain.lead_search_text(
                    x.company, x.contact_name, x.email))
            )

        return keyset_page(filter(shown, self.lead_rows.values()),
                           lambda x: (x.created_at, x.id), page, newest_first=True)

    async def pool_leads(
        self, org_id: uuid.UUID, pool_filter: PoolFilter, *, limit: int
    ) -> list[LeadRecord]:
        pool = [x for x in self.lead_rows.values()
                if x.org_id == org_id and x.owner_id is None and x.lead_status.is_active
                and pool_filter.admits(x)]
        pool.sort(key=lambda x: (-x.priority, x.created_at, x.id))
        return pool[:limit]

    async def idle_leads(
        self, org_id: uuid.UUID, before: datetime, *, limit: int
    ) -> list[LeadRecord]:
        idle = [x for x in self.lead_rows.values()
                if x.org_id == org_id and x.owner_id is not None and x.lead_status.is_active
                and max(x.status_changed_at, x.assigned_at or x.status_changed_at) < before]
        return sorted(idle, key=lambda x: x.id)[:limit]

    # --- the claim (the general path: what the SQL statement does in one) --------------------

    async def lock_claimer(self, org_id: uuid.UUID, member_id: uuid.UUID) -> Claimer | None:
        member = await self.get_member(org_id, member_id)
        if member is None:
            return None
        settings = await self.org_settings(org_id)
        return Claimer(member_id, member.team,
                       domain.effective_cap(member.lead_cap, settings.default_lead_cap))

    async def claim_next(
        self, org_id: uuid.UUID, claimer: Claimer, requested: int, pool_filter: PoolFilter,
        now: datetime,
    ) -> ClaimBatch:
        counts = await self.active_lead_counts(org_id, [claimer.member_id])
        active = counts.get(claimer.member_id, 0)
        room = domain.claimable(claimer.lead_cap, active, requested)
        claimed = []
        for lead in await self.pool_leads(org_id, pool_filter, limit=room):
            status = domain.status_after_claim(lead.lead_status, None)
            values: dict[str, Any] = {"owner_id": claimer.member_id,
                                      "owner_team": claimer.team, "status": status.value,
                                      "assigned_at": now}
            if status.value != lead.status:
                values["status_changed_at"] = now
            updated = await self.update_lead(org_id, lead.id, values)
            self.outbox.append(events.wrap(
                events.lead_assigned(updated, lead.status, None, None, claimer.lead_cap,
                                     claimer.member_id, "claim"),
                org_id=org_id, aggregate_id=updated.id, version=updated.version,
                actor_id=claimer.member_id))
            claimed.append(updated)
        return ClaimBatch(active_before=active, leads=claimed)

    # --- accounts and contacts --------------------------------------------------------------

    async def get_account(
        self, org_id: uuid.UUID, account_id: uuid.UUID, *, lock: bool = False
    ) -> AccountRecord | None:
        found = self.account_rows.get(account_id)
        return found if found is not None and found.org_id == org_id else None

    async def find_account(
        self, org_id: uuid.UUID, *, nip: str | None, domain: str | None
    ) -> AccountRecord | None:
        ordered = sorted((a for a in self.account_rows.values() if a.org_id == org_id),
                         key=lambda a: (a.created_at, a.id))
        for name, value in (("nip", nip), ("domain", domain)):
            if value is not None:
                for account in ordered:
                    if getattr(account, name) == value:
                        return account
        return None

    async def insert_account(self, values: dict[str, Any]) -> AccountRecord:
        at = _now()
        account = AccountRecord(**({"domain": None, "nip": None, "address": None,
                                    "owner_id": None, "owner_team": None, "version": 1,
                                    "created_at": at, "updated_at": at} | values))
        self.account_rows[account.id] = account
        return account

    async def update_account(
        self, org_id: uuid.UUID, account_id: uuid.UUID, values: dict[str, Any]
    ) -> AccountRecord:
        found = self.account_rows[account_id]
        assert found.org_id == org_id
        changed = replace(found, **values, version=found.version + 1, updated_at=_now())
        self.account_rows[account_id] = changed
        return changed

    async def list_accounts(
        self, org_id: uuid.UUID, page: PageRequest, search: str | None = None
    ) -> list[AccountRecord]:
        def found(a: AccountRecord) -> bool:
            if not search:
                return True
            digits = nip_digits(search)
            typed = search_form(search.strip())
            people = (domain.contact_search_text(c.name, c.email)
                      for c in self.contact_rows.values()
                      if c.org_id == org_id and c.account_id == a.id)
            return (typed in domain.account_search_text(a.name, a.domain)
                    or any(typed in person for person in people)
                    or bool(digits and digits in (a.nip or "")))

        return keyset_page(
            (a for a in self.account_rows.values() if a.org_id == org_id and found(a)),
            lambda a: (a.created_at, a.id), page, newest_first=True)

    async def accounts_by_id(
        self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[AccountRecord]:
        return [a for a in self.account_rows.values() if a.org_id == org_id and a.id in ids]

    async def nip_taken(
        self, org_id: uuid.UUID, nip: str, *, exclude: uuid.UUID | None = None
    ) -> bool:
        return any(a.org_id == org_id and a.nip == nip and a.id != exclude
                   for a in self.account_rows.values())

    async def insert_contact(self, values: dict[str, Any]) -> ContactRecord:
        at = _now()
        contact = ContactRecord(**({"email": None, "phone": None, "position": None,
                                    "lead_id": None, "version": 1, "created_at": at,
                                    "updated_at": at} | values))
        self.contact_rows[contact.id] = contact
        return contact

    async def get_contact(
        self, org_id: uuid.UUID, contact_id: uuid.UUID, *, lock: bool = False
    ) -> ContactRecord | None:
        found = self.contact_rows.get(contact_id)
        return found if found is not None and found.org_id == org_id else None

    async def update_contact(
        self, org_id: uuid.UUID, contact_id: uuid.UUID, values: dict[str, Any]
    ) -> ContactRecord:
        found = self.contact_rows[contact_id]
        assert found.org_id == org_id
        changed = replace(found, **values, version=found.version + 1, updated_at=_now())
        self.contact_rows[contact_id] = changed
        return changed

    async def contact_page(
        self, org_id: uuid.UUID, page: PageRequest, search: str | None = None
    ) -> list[ContactRecord]:
        typed = search_form(search.strip()) if search else ""
        return keyset_page(
            (c for c in self.contact_rows.values() if c.org_id == org_id
             and typed in domain.contact_search_text(c.name, c.email)),
            lambda c: (c.created_at, c.id), page, newest_first=True)

    async def delete_lead(self, org_id: uuid.UUID, lead_id: uuid.UUID) -> None:
        found = self.lead_rows[lead_id]
        assert found.org_id == org_id
        del self.lead_rows[lead_id]

    async def delete_contact(self, org_id: uuid.UUID, contact_id: uuid.UUID) -> None:
        found = self.contact_rows[contact_id]
        assert found.org_id == org_id
        del self.contact_rows[contact_id]

    async def list_contacts(
        self, org_id: uuid.UUID, *, account_id: uuid.UUID | None = None,
        ids: Sequence[uuid.UUID] | None = None, limit: int = 200,
    ) -> list[ContactRecord]:
        found = sorted(
            (c for c in self.contact_rows.values()
             if c.org_id == org_id and (account_id is None or c.account_id == account_id)
             and (ids is None or c.id in ids)),
            key=lambda c: (c.created_at, c.id))
        return found[:limit]

    # --- CSV import ------------------------------------------------------------------------

    async def import_csv(
        self, request: ImportCsv, progress: Progress | None = None
    ) -> ImportReport:
        parsed = parse_csv(request.csv_text, request.region)
        report = ImportReport(import_id=uuid.uuid4(), dry_run=request.dry_run,
                              total_rows=parsed.total_rows, invalid=list(parsed.invalid),
                              ignored_columns=list(parsed.ignored_columns))
        oldest: list[dict[Any, uuid.UUID]] = [{}, {}, {}]
        for lead in sorted(self.lead_rows.values(), key=lambda x: (x.created_at, x.id),
                           reverse=True):
            if lead.org_id == request.org_id:
                for index, key in enumerate(_keys(lead)):
                    if key is not None:
                        oldest[index][key] = lead.id
        earlier: list[dict[Any, int]] = [{}, {}, {}]
        at = _now()
        for row in parsed.rows:
            keys = _keys(row.fields)
            existing = [oldest[i].get(k) if k is not None else None
                        for i, k in enumerate(keys)]
            lines = [earlier[i].get(k) if k is not None else None for i, k in enumerate(keys)]
            for i, k in enumerate(keys):
                if k is not None:
                    earlier[i].setdefault(k, row.line)
            if any(existing):
                report.duplicates.append(DuplicateRow(
                    row.line, [n for n, e in zip(_KEYS, existing, strict=True) if e],
                    next(e for e in existing if e),
                    min((x for x in lines if x is not None), default=None)))
            elif any(x is not None for x in lines):
                report.duplicates.append(DuplicateRow(
                    row.line, [n for n, x in zip(_KEYS, lines, strict=True) if x is not None],
                    None, min(x for x in lines if x is not None)))
            else:
                lead_id = uuid.uuid4()
                report.created.append(CreatedRow(row.line, lead_id))
                if not request.dry_run:
                    fields = row.fields
                    lead = await self.insert_lead({
                        "id": lead_id, "org_id": request.org_id,
                        "created_by": request.actor_id, "import_id": report.import_id,
                        "company": fields.company, "company_key": fields.company_key,
                        "contact_name": fields.contact_name, "email": fields.email,
                        "phone": fields.phone, "website": fields.website,
                        "domain": fields.domain, "source": fields.source,
                        "notes": fields.notes, "tags": list(fields.tags),
                        "priority": fields.priority, "created_at": at, "updated_at": at,
                        "status_changed_at": at,
                    })
                    self.outbox.append(events.wrap(
                        events.lead_created(lead), org_id=request.org_id,
                        aggregate_id=lead.id, version=1, actor_id=request.actor_id))
        return report

    async def refresh_lead_statistics(self) -> None:
        self.analyzed += 1


def fake_uow(repo: FakeLeadsRepository | None = None) -> FakeUnitOfWork[FakeLeadsRepository]:
    return FakeUnitOfWork(repo or FakeLeadsRepository())

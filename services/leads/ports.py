"""What the leads handlers need from storage: the repository protocol. The SQL repository
(:mod:`services.leads.repository`) and the in-memory one of the unit tests implement it; one
contract suite runs against both (``tests/integration/leads/test_repository.py``).

Every method takes the org id (or the caller, who carries it) and sees that org's rows only.
Changes bump the row's version and stamp ``updated_at``; times the rules depend on (status
changes, assignments, activity, the idle cutoff) come from the handler.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from crmkit.auth import Caller
from crmkit.paging import PageRequest
from services.leads.domain import DedupeKeys, LeadStatus
from services.leads.import_report import ImportReport, Progress
from services.leads.records import (
    AccountRecord,
    ContactRecord,
    LeadRecord,
    MemberRecord,
    OrgSettingsRecord,
)


@dataclass(frozen=True, slots=True)
class PoolFilter:
    source: str | None = None
    tag: str | None = None
    min_priority: int | None = None

    def admits(self, lead: LeadRecord) -> bool:
        return (
            (self.source is None or lead.source == self.source)
            and (self.tag is None or self.tag in lead.tags)
            and (self.min_priority is None or lead.priority >= self.min_priority)
        )


@dataclass(frozen=True, slots=True)
class LeadFilter:
    status: LeadStatus | None = None
    owner_id: uuid.UUID | None = None
    pool_only: bool = False
    search: str | None = None


@dataclass(frozen=True, slots=True)
class Claimer:
    """A member about to claim, locked for the rest of the unit of work."""

    member_id: uuid.UUID
    team: str | None
    lead_cap: int
    """Effective: the member's own cap, else the org's default, else the service default."""


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    active_before: int
    """Active leads the member held before this batch."""
    leads: list[LeadRecord]


@dataclass(frozen=True, slots=True)
class ImportCsv:
    """One CSV import's file and whose it is (:meth:`LeadsRepository.import_csv`)."""

    org_id: uuid.UUID
    actor_id: uuid.UUID | None
    csv_text: str
    region: str
    dry_run: bool = False


class LeadsRepository(Protocol):
    # --- org settings ---------------------------------------------------------------------

    async def org_settings(self, org_id: uuid.UUID) -> OrgSettingsRecord:
        """The org's settings, the service defaults where it set none."""
        ...

    async def save_org_settings(
        self, org_id: uuid.UUID, *, default_region: str, default_lead_cap: int | None,
        idle_return_days: int | None,
    ) -> OrgSettingsRecord: ...

    async def orgs_with_idle_return(self) -> list[tuple[uuid.UUID, int]]:
        """(org, idle days) of every org that turned idle return on."""
        ...

    # --- members --------------------------------------------------------------------------

    async def get_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, *, lock: bool = False
    ) -> MemberRecord | None: ...

    async def insert_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, name: str, team: str | None,
        roles: list[str],
    ) -> MemberRecord | None:
        """The new member, or ``None`` when a concurrent request registered them first."""
        ...

    async def update_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, **values: Any
    ) -> MemberRecord: ...

    async def retag_owner_team(
        self, org_id: uuid.UUID, member_id: uuid.UUID, team: str | None
    ) -> None:
        """A member moved team: their leads and accounts follow them."""
        ...

    async def list_members(
        self, org_id: uuid.UUID, *, team: str | None = None,
        ids: Sequence[uuid.UUID] | None = None,
    ) -> list[MemberRecord]:
        """By name, then id."""
        ...

    async def members_by_id(
        self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[MemberRecord]:
        """The members among ``ids``, any order (hot path: on a connection of its own, outside
        the unit of work's transaction; for reads with no write of their own before them)."""
        ...

    async def active_lead_counts(
        self, org_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        """Active leads per member (members holding none are left out)."""
        ...

    # --- leads ----------------------------------------------------------------------------

    async def get_lead(
        self, org_id: uuid.UUID, lead_id: uuid.UUID, *, lock: bool = False
    ) -> LeadRecord | None: ...

    async def get_leads(
        self, org_id: uuid.UUID, lead_ids: Sequence[uuid.UUID], *, lock: bool = False
    ) -> list[LeadRecord]:
        """The leads among ``lead_ids``; ``lock`` takes them in id order (no deadlock
        between two concurrent assignments)."""
        ...

    async def lock_org_lead_creation(self, org_id: uuid.UUID) -> None:
        """Serialises duplicate checks and inserts of one org (API and import)."""
        ...

    async def find_duplicate(
        self, org_id: uuid.UUID, keys: DedupeKeys
    ) -> tuple[LeadRecord, list[str]] | None:
        """The org's oldest lead sharing a key with ``keys``, and the keys it shares."""
        ...

    async def insert_lead(self, values: dict[str, Any]) -> LeadRecord:
        """A new lead (``NEW``, in the pool, version 1) with these column values."""
        ...

    async def update_lead(
        self, org_id: uuid.UUID, lead_id: uuid.UUID, values: dict[str, Any]
    ) -> LeadRecord: ...

    async def list_leads(
        self, caller: Caller, lead_filter: LeadFilter, page: PageRequest
    ) -> list[LeadRecord]:
        """Up to ``page.fetch`` leads the caller sees, newest first (``(created_at, id)``
        descending), after ``page.after``."""
        ...

    async def pool_leads(
        self, org_id: uuid.UUID, pool_filter: PoolFilter, *, limit: int
    ) -> list[LeadRecord]:
        """The pool's next leads in claim order: priority descending, oldest first."""
        ...

    async def idle_leads(
        self, org_id: uuid.UUID, before: datetime, *, limit: int
    ) -> list[LeadRecord]:
        """Owned, active leads whose last status change and assignment are both older than
        ``before``, locked (rows busy elsewhere are left for the next round), by id."""
        ...

    # --- the claim's fast path --------------------------------------------------------------

    async def lock_claimer(self, org_id: uuid.UUID, member_id: uuid.UUID) -> Claimer | None:
        """Lock the member (serialises one member's claims and assignments) and read their
        effective cap."""
        ...

    async def claim_next(
        self, org_id: uuid.UUID, claimer: Claimer, requested: int, pool_filter: PoolFilter,
        now: datetime,
    ) -> ClaimBatch:
        """Take up to ``requested`` pool leads (:meth:`pool_leads` order) within the
        claimer's cap, writing their ``lead.assigned`` events with them: what claiming each
        with :meth:`update_lead` and ``uow.emit`` would do, in one statement."""
        ...

    # --- accounts and contacts --------------------------------------------------------------

    async def get_account(
        self, org_id: uuid.UUID, account_id: uuid.UUID, *, lock: bool = False
    ) -> AccountRecord | None: ...

    async def find_account(
        self, org_id: uuid.UUID, *, nip: str | None, domain: str | None
    ) -> AccountRecord | None:
        """The oldest account matching by NIP first, then by domain."""
        ...

    async def insert_account(self, values: dict[str, Any]) -> AccountRecord: ...

    async def update_account(
        self, org_id: uuid.UUID, account_id: uuid.UUID, values: dict[str, Any]
    ) -> AccountRecord: ...

    async def list_accounts(
        self, org_id: uuid.UUID, page: PageRequest, search: str | None = None
    ) -> list[AccountRecord]:
        """Up to ``page.fetch`` accounts, newest first, after ``page.after``; with ``search``,
        those whose name or domain holds it (:func:`services.leads.domain.account_search_text`:
        any case, Polish letters or not) or whose NIP holds its digits
        (:func:`services.leads.nip.nip_digits`)."""
        ...

    async def accounts_by_id(
        self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[AccountRecord]:
        """The accounts among ``ids``, any order (hot path, as :meth:`members_by_id`)."""
        ...

    async def nip_taken(
        self, org_id: uuid.UUID, nip: str, *, exclude: uuid.UUID | None = None
    ) -> bool: ...

    async def insert_contact(self, values: dict[str, Any]) -> ContactRecord: ...

    async def get_contact(
        self, org_id: uuid.UUID, contact_id: uuid.UUID, *, lock: bool = False
    ) -> ContactRecord | None: ...

    async def update_contact(
        self, org_id: uuid.UUID, contact_id: uuid.UUID, values: dict[str, Any]
    ) -> ContactRecord: ...

    async def delete_lead(self, org_id: uuid.UUID, lead_id: uuid.UUID) -> None: ...

    async def delete_contact(self, org_id: uuid.UUID, contact_id: uuid.UUID) -> None: ...

    async def list_contacts(
        self, org_id: uuid.UUID, *, account_id: uuid.UUID | None = None,
        ids: Sequence[uuid.UUID] | None = None, limit: int = 200,
    ) -> list[ContactRecord]:
        """Oldest first."""
        ...

    async def contact_page(
        self, org_id: uuid.UUID, page: PageRequest, search: str | None = None
    ) -> list[ContactRecord]:
        """The org's contact people, newest first; with ``search``, those whose name or email
        it finds (the search form: any case, with or without Polish letters)."""
        ...

    # --- CSV import ------------------------------------------------------------------------

    async def import_csv(
        self, request: ImportCsv, progress: Progress | None = None
    ) -> ImportReport:
        """Validate, dedupe and write a file's leads with their ``lead.created`` events (a
        dry run writes nothing); the caller holds the org's creation lock."""
        ...

    async def refresh_lead_statistics(self) -> None:
        """After a large import: the planner's statistics of the leads."""
        ...

"""The SQL repository of the leads service (:class:`services.leads.ports.LeadsRepository`);
every statement is scoped to one org. The claim's fast path is :mod:`.claims`, the CSV
import's :mod:`.imports`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import (
    ColumnElement,
    and_,
    any_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crmkit.auth import Caller
from crmkit.db import driver_connection, session_driver_connection
from crmkit.outbox import note_outbox_rows
from crmkit.paging import PageRequest
from crmkit.tables import org_row, org_rows
from crmkit.values import like_pattern, search_form
from services.leads.domain import (
    ACTIVE_STATUSES,
    DedupeKeys,
    account_search_text,
    contact_search_text,
    lead_search_text,
)
from services.leads.import_report import ImportReport, Progress
from services.leads.nip import nip_digits
from services.leads.ports import ClaimBatch, Claimer, ImportCsv, LeadFilter, PoolFilter
from services.leads.records import (
    AccountRecord,
    ContactRecord,
    LeadRecord,
    MemberRecord,
    OrgSettingsRecord,
)
from services.leads.repository import claims, imports, references
from services.leads.tables import accounts, contacts, leads, members, org_settings


def visible_leads(caller: Caller) -> ColumnElement[bool]:
    """The SQL twin of :func:`services.leads.domain.can_see_lead`."""
    org = leads.c.org_id == caller.org_id
    if caller.is_admin:
        return org
    seen = [leads.c.owner_id.is_(None), leads.c.owner_id == caller.member_id]
    if caller.is_manager and caller.team is not None:
        seen.append(leads.c.owner_team == caller.team)
    return and_(org, or_(*seen))


_SEARCHED = ("company", "contact_name", "email")


def _searchable(values: dict[str, Any], *, new: bool = False) -> dict[str, Any]:
    """A lead's values with their search form. A new lead's absent fields are empty; a
    change of any searched field holds all three (the handlers write them together)."""
    if not new and not any(name in values for name in _SEARCHED):
        return values
    held = (values.get(name) if new else values[name] for name in _SEARCHED)
    return {**values, "search_text": lead_search_text(*held)}


class SqlLeadsRepository:
    def __init__(self, session: AsyncSession, default_lead_cap: int) -> None:
        self.session = session
        self.default_lead_cap = default_lead_cap

    # --- org settings ------------------------------------------------------------------------

    async def org_settings(self, org_id: uuid.UUID) -> OrgSettingsRecord:
        row = (
            await self.session.execute(select(org_settings).where(org_settings.c.org_id == org_id))
        ).first()
        if row is None:
            return OrgSettingsRecord(org_id, "PL", self.default_lead_cap, None, None, 0)
        override = row.default_lead_cap
        return OrgSettingsRecord(
            org_id=org_id,
            default_region=row.default_region,
            default_lead_cap=self.default_lead_cap if override is None else override,
            default_lead_cap_override=override,
            idle_return_days=row.idle_return_days,
            version=row.version,
        )

    async def save_org_settings(
        self,
        org_id: uuid.UUID,
        *,
        default_region: str,
        default_lead_cap: int | None,
        idle_return_days: int | None,
    ) -> OrgSettingsRecord:
        values = {
            "default_region": default_region,
            "default_lead_cap": default_lead_cap,
            "idle_return_days": idle_return_days,
        }
        statement = pg_insert(org_settings).values(org_id=org_id, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[org_settings.c.org_id],
            set_={**values, "version": org_settings.c.version + 1, "updated_at": func.now()},
        )
        await self.session.execute(statement)
        return await self.org_settings(org_id)

    async def orgs_with_idle_return(self) -> list[tuple[uuid.UUID, int]]:
        rows = await self.session.execute(
            select(org_settings.c.org_id, org_settings.c.idle_return_days).where(
                org_settings.c.idle_return_days.is_not(None)
            )
        )
        return [(r.org_id, r.idle_return_days) for r in rows]

    # --- members ---------------------------------------------------------------------------

    async def get_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, *, lock: bool = False
    ) -> MemberRecord | None:
        row = (await self.session.execute(org_row(members, org_id, member_id, lock=lock))).first()
        return None if row is None else MemberRecord.from_row(row)

    async def insert_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, name: str, team: str | None,
        roles: list[str],
    ) -> MemberRecord | None:
        """The new member, or ``None`` when a concurrent request registered them first."""
        statement = (
            pg_insert(members)
            .values(org_id=org_id, id=member_id, name=name, team=team, roles=roles)
            .on_conflict_do_nothing()
            .returning(*members.c)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else MemberRecord.from_row(row)

    async def update_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, **values: Any
    ) -> MemberRecord:
        statement = (
            update(members)
            .where(members.c.org_id == org_id, members.c.id == member_id)
            .values(**values, version=members.c.version + 1, updated_at=func.now())
            .returning(*members.c)
        )
        return MemberRecord.from_row((await self.session.execute(statement)).one())

    async def retag_owner_team(
        self, org_id: uuid.UUID, member_id: uuid.UUID, team: str | None
    ) -> None:
        """A member moved team: their leads follow them (managers see leads by team)."""
        for table in (leads, accounts):
            await self.session.execute(
                update(table)
                .where(table.c.org_id == org_id, table.c.owner_id == member_id)
                .values(owner_team=team)
            )

    async def list_members(
        self, org_id: uuid.UUID, *, team: str | None = None,
        ids: Sequence[uuid.UUID] | None = None,
    ) -> list[MemberRecord]:
        statement = select(members).where(members.c.org_id == org_id)
        if team is not None:
            statement = statement.where(members.c.team == team)
        if ids is not None:
            statement = statement.where(members.c.id.in_(ids))
        rows = await self.session.execute(statement.order_by(members.c.name, members.c.id))
        return [MemberRecord.from_row(r) for r in rows]

    async def members_by_id(
        self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[MemberRecord]:
        async with self._own_connection() as conn:
            return await references.members_by_id(conn, org_id, ids)

    async def active_lead_counts(
        self, org_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        rows = await self.session.execute(
            select(leads.c.owner_id, func.count())
            .where(
                leads.c.org_id == org_id,
                leads.c.owner_id.in_(member_ids),
                leads.c.status.in_(ACTIVE_STATUSES),
            )
            .group_by(leads.c.owner_id)
        )
        return {owner: count for owner, count in rows}

    # --- leads -----------------------------------------------------------------------------

    async def get_lead(
        self, org_id: uuid.UUID, lead_id: uuid.UUID, *, lock: bool = False
    ) -> LeadRecord | None:
        row = (await self.session.execute(org_row(leads, org_id, lead_id, lock=lock))).first()
        return None if row is None else LeadRecord.from_row(row)

    async def get_leads(
        self, org_id: uuid.UUID, lead_ids: Sequence[uuid.UUID], *, lock: bool = False
    ) -> list[LeadRecord]:
        statement = org_rows(leads, org_id, lead_ids)
        if lock:
            # A fixed lock order (by id) keeps two concurrent assignments from deadlocking.
            statement = statement.order_by(leads.c.id).with_for_update()
        return [LeadRecord.from_row(r) for r in await self.session.execute(statement)]

    async def lock_org_lead_creation(self, org_id: uuid.UUID) -> None:
        """Serialises duplicate checks and inserts of one org (API and import) until commit."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"leads.create:{org_id}"},
        )

    async def find_duplicate(
        self, org_id: uuid.UUID, keys: DedupeKeys
    ) -> tuple[LeadRecord, list[str]] | None:
        if keys.is_empty:
            return None
        matches: list[ColumnElement[bool]] = []
        if keys.email:
            matches.append(leads.c.email == keys.email)
        if keys.phone:
            matches.append(leads.c.phone == keys.phone)
        if keys.domain and keys.company_key:
            matches.append(
                and_(leads.c.domain == keys.domain, leads.c.company_key == keys.company_key)
            )
        statement = (
            select(leads)
            .where(leads.c.org_id == org_id, or_(*matches))
            .order_by(leads.c.created_at, leads.c.id)
            .limit(1)
        )
        row = (await self.session.execute(statement)).first()
        if row is None:
            return None
        existing = LeadRecord.from_row(row)
        other = DedupeKeys(existing.email, existing.phone, existing.domain, existing.company_key)
        return existing, keys.matched_on(other)

    async def insert_lead(self, values: dict[str, Any]) -> LeadRecord:
        row = (await self.session.execute(
            insert(leads).values(**_searchable(values, new=True)).returning(*leads.c))).one()
        return LeadRecord.from_row(row)

    async def update_lead(
        self, org_id: uuid.UUID, lead_id: uuid.UUID, values: dict[str, Any]
    ) -> LeadRecord:
        statement = (
            update(leads)
            .where(leads.c.org_id == org_id, leads.c.id == lead_id)
            .values(**_searchable(values), version=leads.c.version + 1, updated_at=func.now())
            .returning(*leads.c)
        )
        return LeadRecord.from_row((await self.session.execute(statement)).one())

    async def _driver(self) -> asyncpg.Connection:
        return await session_driver_connection(self.session)

    def _own_connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A pooled asyncpg connection outside the unit of work's transaction (each statement
        commits on its own): the references' reads."""
        engine = self.session.bind
        assert isinstance(engine, AsyncEngine)
        return driver_connection(engine)

    async def lock_claimer(self, org_id: uuid.UUID, member_id: uuid.UUID) -> Claimer | None:
        return await claims.lock_claimer(
            await self._driver(), org_id, member_id, self.default_lead_cap
        )

    async def claim_next(
        self, org_id: uuid.UUID, claimer: Claimer, requested: int, pool_filter: PoolFilter,
        now: datetime,
    ) -> ClaimBatch:
        batch = await claims.claim_next(
            await self._driver(), org_id, claimer, requested, pool_filter, now
        )
        if batch.leads:
            note_outbox_rows(self.session)
        return batch

    async def list_leads(
        self, caller: Caller, lead_filter: LeadFilter, page: PageRequest
    ) -> list[LeadRecord]:
        statement = select(leads).where(visible_leads(caller))
        if lead_filter.status is not None:
            statement = statement.where(leads.c.status == lead_filter.status.value)
        if lead_filter.owner_id is not None:
            statement = statement.where(leads.c.owner_id == lead_filter.owner_id)
        if lead_filter.pool_only:
            statement = statement.where(
                leads.c.owner_id.is_(None), leads.c.status.in_(ACTIVE_STATUSES)
            )
        if lead_filter.search:
            statement = statement.where(
                leads.c.search_text.like(like_pattern(search_form(lead_filter.search))))
        if page.after is not None:
            statement = statement.where(tuple_(leads.c.created_at, leads.c.id) < page.after)
        statement = statement.order_by(leads.c.created_at.desc(), leads.c.id.desc())
        rows = await self.session.execute(statement.limit(page.fetch))
        return [LeadRecord.from_row(r) for r in rows]

    async def pool_leads(
        self, org_id: uuid.UUID, pool_filter: PoolFilter, *, limit: int
    ) -> list[LeadRecord]:
        statement = select(leads).where(
            leads.c.org_id == org_id, leads.c.owner_id.is_(None),
            leads.c.status.in_(ACTIVE_STATUSES),
        )
        if pool_filter.source is not None:
            statement = statement.where(leads.c.source == pool_filter.source)
        if pool_filter.tag is not None:
            statement = statement.where(literal(pool_filter.tag) == any_(leads.c.tags))
        if pool_filter.min_priority is not None:
            statement = statement.where(leads.c.priority >= pool_filter.min_priority)
        statement = statement.order_by(
            leads.c.priority.desc(), leads.c.created_at, leads.c.id
        ).limit(limit)
        return [LeadRecord.from_row(r) for r in await self.session.execute(statement)]

    async def idle_leads(
        self, org_id: uuid.UUID, before: datetime, *, limit: int
    ) -> list[LeadRecord]:
        statement = (
            select(leads)
            .where(
                leads.c.org_id == org_id,
                leads.c.owner_id.is_not(None),
                leads.c.status.in_(ACTIVE_STATUSES),
                func.greatest(leads.c.status_changed_at, leads.c.assigned_at) < before,
            )
            .order_by(leads.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [LeadRecord.from_row(r) for r in await self.session.execute(statement)]

    # --- accounts and contacts -----------------------------------------------------------------

    async def get_account(
        self, org_id: uuid.UUID, account_id: uuid.UUID, *, lock: bool = False
    ) -> AccountRecord | None:
        row = (await self.session.execute(org_row(accounts, org_id, account_id, lock=lock))).first()
        return None if row is None else AccountRecord.from_row(row)

    async def find_account(
        self, org_id: uuid.UUID, *, nip: str | None, domain: str | None
    ) -> AccountRecord | None:
        """An account matching by NIP first, then by domain."""
        for column, value in ((accounts.c.nip, nip), (accounts.c.domain, domain)):
            if value is None:
                continue
            row = (
                await self.session.execute(
                    select(accounts)
                    .where(accounts.c.org_id == org_id, column == value)
                    .order_by(accounts.c.created_at, accounts.c.id)
                    .limit(1)
                )
            ).first()
            if row is not None:
                return AccountRecord.from_row(row)
        return None

    async def insert_account(self, values: dict[str, Any]) -> AccountRecord:
        searchable = {**values, "search_text": account_search_text(values["name"],
                                                                   values.get("domain"))}
        row = (
            await self.session.execute(
                insert(accounts).values(**searchable).returning(*accounts.c))
        ).one()
        return AccountRecord.from_row(row)

    async def update_account(
        self, org_id: uuid.UUID, account_id: uuid.UUID, values: dict[str, Any]
    ) -> AccountRecord:
        searchable = dict(values)
        if "name" in values or "domain" in values:
            name, domain = values.get("name"), values.get("domain")
            if not {"name", "domain"} <= values.keys():  # the other as it is
                held = await self.get_account(org_id, account_id)
                if held is not None:
                    name, domain = values.get("name", held.name), values.get("domain", held.domain)
            searchable["search_text"] = account_search_text(name or "", domain)
        statement = (
            update(accounts)
            .where(accounts.c.org_id == org_id, accounts.c.id == account_id)
            .values(**searchable, version=accounts.c.version + 1, updated_at=func.now())
            .returning(*accounts.c)
        )
        return AccountRecord.from_row((await self.session.execute(statement)).one())

    async def list_accounts(
        self, org_id: uuid.UUID, page: PageRequest, search: str | None = None
    ) -> list[AccountRecord]:
        statement = select(accounts).where(accounts.c.org_id == org_id)
        if search:
            pattern = like_pattern(search_form(search))
            people = select(contacts.c.id).where(
                contacts.c.org_id == org_id, contacts.c.account_id == accounts.c.id,
                contacts.c.search_text.like(pattern))
            matches = [accounts.c.search_text.like(pattern), exists(people)]
            digits = nip_digits(search)
            if digits:
                matches.append(accounts.c.nip.like(like_pattern(digits)))
            statement = statement.where(or_(*matches))
        if page.after is not None:
            statement = statement.where(tuple_(accounts.c.created_at, accounts.c.id) < page.after)
        statement = statement.order_by(accounts.c.created_at.desc(), accounts.c.id.desc())
        rows = await self.session.execute(statement.limit(page.fetch))
        return [AccountRecord.from_row(r) for r in rows]

    async def accounts_by_id(
        self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[AccountRecord]:
        async with self._own_connection() as conn:
            return await references.accounts_by_id(conn, org_id, ids)

    async def nip_taken(
        self, org_id: uuid.UUID, nip: str, *, exclude: uuid.UUID | None = None
    ) -> bool:
        statement = select(accounts.c.id).where(
            accounts.c.org_id == org_id,
            accounts.c.nip == nip,
            accounts.c.id != exclude if exclude is not None else true(),
        )
        return (await self.session.execute(statement.limit(1))).first() is not None

    async def insert_contact(self, values: dict[str, Any]) -> ContactRecord:
        searchable = {**values, "search_text": contact_search_text(values["name"],
                                                                   values.get("email"))}
        row = (await self.session.execute(
            insert(contacts).values(**searchable).returning(*contacts.c))).one()
        return ContactRecord.from_row(row)

    async def get_contact(
        self, org_id: uuid.UUID, contact_id: uuid.UUID, *, lock: bool = False
    ) -> ContactRecord | None:
        row = (await self.session.execute(org_row(contacts, org_id, contact_id, lock=lock))).first()
        return None if row is None else ContactRecord.from_row(row)

    async def update_contact(
        self, org_id: uuid.UUID, contact_id: uuid.UUID, values: dict[str, Any]
    ) -> ContactRecord:
        statement = (
            update(contacts)
            .where(contacts.c.org_id == org_id, contacts.c.id == contact_id)
            .values(**values, version=contacts.c.version + 1, updated_at=func.now(),
                    # Every change holds all of the contact's fields (ADR 0019).
                    search_text=contact_search_text(values["name"], values.get("email")))
            .returning(*contacts.c)
        )
        return ContactRecord.from_row((await self.session.execute(statement)).one())

    async def contact_page(
        self, org_id: uuid.UUID, page: PageRequest, search: str | None = None
    ) -> list[ContactRecord]:
        statement = select(contacts).where(contacts.c.org_id == org_id)
        if search:
            statement = statement.where(
                contacts.c.search_text.like(like_pattern(search_form(search))))
        if page.after is not None:
            statement = statement.where(tuple_(contacts.c.created_at, contacts.c.id) < page.after)
        statement = statement.order_by(contacts.c.created_at.desc(), contacts.c.id.desc())
        return [ContactRecord.from_row(r)
                for r in await self.session.execute(statement.limit(page.fetch))]

    async def delete_lead(self, org_id: uuid.UUID, lead_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(leads).where(leads.c.org_id == org_id, leads.c.id == lead_id))

    async def delete_contact(self, org_id: uuid.UUID, contact_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(contacts).where(contacts.c.org_id == org_id, contacts.c.id == contact_id))

    async def list_contacts(
        self, org_id: uuid.UUID, *, account_id: uuid.UUID | None = None,
        ids: Sequence[uuid.UUID] | None = None, limit: int = 200,
    ) -> list[ContactRecord]:
        statement = select(contacts).where(contacts.c.org_id == org_id)
        if account_id is not None:
            statement = statement.where(contacts.c.account_id == account_id)
        if ids is not None:
            statement = statement.where(contacts.c.id.in_(ids))
        statement = statement.order_by(contacts.c.created_at, contacts.c.id).limit(limit)
        return [ContactRecord.from_row(r) for r in await self.session.execute(statement)]

    # --- CSV import ----------------------------------------------------------------------------

    async def import_csv(
        self, request: ImportCsv, progress: Progress | None = None
    ) -> ImportReport:
        return await imports.import_csv(self.session, request, progress)

    async def refresh_lead_statistics(self) -> None:
        await self.session.execute(text("ANALYZE leads"))

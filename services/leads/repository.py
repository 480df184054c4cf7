"""Reading and writing the leads database; every statement is scoped to one org."""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg
from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    insert,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Caller
from crmkit.contracts.leads import LeadAssigned
from crmkit.db import session_driver_connection
from services.leads.domain import ACTIVE_STATUSES, DedupeKeys, LeadStatus
from services.leads.records import (
    AccountRecord,
    ContactRecord,
    LeadRecord,
    MemberRecord,
    OrgSettingsRecord,
)
from services.leads.tables import accounts, contacts, leads, members, org_settings


@dataclass(frozen=True, slots=True)
class PoolFilter:
    source: str | None = None
    tag: str | None = None
    min_priority: int | None = None


@dataclass(frozen=True, slots=True)
class LeadFilter:
    status: LeadStatus | None = None
    owner_id: uuid.UUID | None = None
    pool_only: bool = False
    search: str | None = None


@dataclass(frozen=True, slots=True)
class Claimer:
    """A member about to claim, locked for the rest of the transaction."""

    member_id: uuid.UUID
    team: str | None
    lead_cap: int
    """Effective: the member's own cap, else the org's default, else the service default."""


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    active_before: int
    """Active leads the member held before this statement."""
    leads: list[LeadRecord]


def visible_leads(caller: Caller) -> ColumnElement[bool]:
    """The SQL twin of :func:`services.leads.domain.can_see_lead`."""
    org = leads.c.org_id == caller.org_id
    if caller.is_admin:
        return org
    seen = [leads.c.owner_id.is_(None), leads.c.owner_id == caller.member_id]
    if caller.is_manager and caller.team is not None:
        seen.append(leads.c.owner_team == caller.team)
    return and_(org, or_(*seen))


def _positional(sql: str, names: tuple[str, ...]) -> str:
    """``:name`` parameters as asyncpg's ``$n``, in the order of ``names``."""
    for number, name in enumerate(names, 1):
        sql = re.sub(rf"(?<![:\w]):{name}\b", f"${number}", sql)
    return sql


# The claim path talks to asyncpg directly (inside the session's transaction): SQLAlchemy's
# statement handling cost more CPU than PostgreSQL's work per claim. asyncpg prepares each
# statement once per connection and reuses it.
_LOCK_CLAIMER_SQL = _positional("""
SELECT m.team, COALESCE(m.lead_cap, s.default_lead_cap, CAST(:service_cap AS integer)) AS cap
FROM members m LEFT JOIN org_settings s ON s.org_id = m.org_id
WHERE m.org_id = :org_id AND m.id = :member_id
FOR UPDATE OF m
""", ("org_id", "member_id", "service_cap"))

# One round trip per claim: count what the member holds, take up to what the cap still
# allows (``domain.claimable``) from the pool, hand the rows over and write their
# ``lead.assigned`` outbox rows, whose envelopes are built here in the exact shape of
# ``Envelope.wrap(LeadAssigned(...))`` (a test compares them with the Python side).
# No NOTIFY: PostgreSQL serialises the commits of notifying transactions, WAL flush included;
# the caller wakes its process's relay instead (other processes' relays poll).
# The count needs a snapshot taken after the member row was locked (by an earlier
# statement), so that a concurrent claim of the same member is seen.
_CLAIM_SQL = """
WITH active AS (
    SELECT count(*) AS n FROM leads
    WHERE org_id = :org_id AND owner_id = :member_id AND status = ANY(:active)
),
picked AS (
    SELECT id, status AS previous_status FROM leads
    WHERE org_id = :org_id AND owner_id IS NULL AND status = ANY(:active)
      {filters}
    ORDER BY priority DESC, created_at, id
    LIMIT (SELECT GREATEST(LEAST(CAST(:requested AS integer), CAST(:cap AS integer) - n), 0)
           FROM active)
    FOR UPDATE SKIP LOCKED
),
claimed AS (
    UPDATE leads AS l SET
        owner_id = :member_id,
        owner_team = :team,
        status = CASE WHEN l.status = 'NEW' THEN 'ASSIGNED' ELSE l.status END,
        status_changed_at = CASE WHEN l.status = 'NEW' THEN now() ELSE l.status_changed_at END,
        assigned_at = now(),
        updated_at = now(),
        version = l.version + 1
    FROM picked
    -- ANY(ARRAY(...)) keeps the update on the primary key whatever the planner guesses of
    -- the LIMIT above (a subquery: estimated as a tenth of the pool, which made it hash the
    -- whole org's leads with a sequential scan).
    WHERE l.id = ANY(ARRAY(SELECT id FROM picked)) AND l.id = picked.id
    RETURNING l.*, picked.previous_status
),
events AS (
    INSERT INTO outbox (event_id, subject, aggregate_id, envelope)
    SELECT e.event_id, CAST(:subject AS text), e.id, json_build_object(
        'id', e.event_id, 'type', CAST(:subject AS text),
        'version', CAST(:event_version AS integer), 'occurred_at', now(),
        'org_id', e.org_id, 'actor_id', CAST(:member_id AS uuid),
        'aggregate_id', e.id, 'aggregate_version', e.version,
        'payload', json_build_object(
            'lead_id', e.id, 'owner_id', e.owner_id, 'team', e.owner_team,
            'owner_lead_cap', CAST(:cap AS integer), 'assigned_by', CAST(:member_id AS uuid),
            'via', 'claim', 'previous_owner_id', NULL, 'previous_team', NULL,
            'status', e.status, 'previous_status', e.previous_status,
            'assigned_at', e.assigned_at))
    FROM (SELECT gen_random_uuid() AS event_id, c.* FROM claimed c
          ORDER BY c.priority DESC, c.created_at, c.id) AS e
    RETURNING 1
)
SELECT a.n AS active_before, (SELECT count(*) FROM events) AS events, c.*
FROM active a LEFT JOIN claimed c ON true
ORDER BY c.priority DESC, c.created_at, c.id
"""
_CLAIM_PARAMS: Final = ("org_id", "member_id", "team", "cap", "requested", "active", "subject",
                        "event_version")
_POOL_FILTERS: Final = (("source", "AND source = :source"), ("tag", "AND :tag = ANY(tags)"),
                        ("min_priority", "AND priority >= :min_priority"))


@functools.cache
def _claim_sql(source: bool, tag: bool, min_priority: bool) -> str:
    """The claim statement with the pool filters in use (one prepared statement each)."""
    used = [f for f, on in zip(_POOL_FILTERS, (source, tag, min_priority), strict=True) if on]
    sql = _CLAIM_SQL.format(filters=" ".join(clause for _, clause in used))
    return _positional(sql, _CLAIM_PARAMS + tuple(name for name, _ in used))


_ACTIVE: Final = list(ACTIVE_STATUSES)


class LeadsRepository:
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
        statement = select(members).where(members.c.org_id == org_id, members.c.id == member_id)
        if lock:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).first()
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
        self, org_id: uuid.UUID, *, team: str | None = None, ids: list[uuid.UUID] | None = None
    ) -> list[MemberRecord]:
        statement = select(members).where(members.c.org_id == org_id)
        if team is not None:
            statement = statement.where(members.c.team == team)
        if ids is not None:
            statement = statement.where(members.c.id.in_(ids))
        rows = await self.session.execute(statement.order_by(members.c.name, members.c.id))
        return [MemberRecord.from_row(r) for r in rows]

    async def active_lead_count(self, org_id: uuid.UUID, member_id: uuid.UUID) -> int:
        counts = await self.active_lead_counts(org_id, [member_id])
        return counts.get(member_id, 0)

    async def active_lead_counts(
        self, org_id: uuid.UUID, member_ids: list[uuid.UUID]
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
        statement = select(leads).where(leads.c.org_id == org_id, leads.c.id == lead_id)
        if lock:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).first()
        return None if row is None else LeadRecord.from_row(row)

    async def get_leads(self, org_id: uuid.UUID, lead_ids: list[uuid.UUID]) -> list[LeadRecord]:
        """The leads among ``lead_ids`` (any order): entity references, one query."""
        statement = select(leads).where(leads.c.org_id == org_id, leads.c.id.in_(lead_ids))
        return [LeadRecord.from_row(r) for r in await self.session.execute(statement)]

    async def get_leads_for_update(
        self, org_id: uuid.UUID, lead_ids: list[uuid.UUID]
    ) -> list[LeadRecord]:
        # A fixed lock order (by id) keeps two concurrent assignments from deadlocking.
        statement = (
            select(leads)
            .where(leads.c.org_id == org_id, leads.c.id.in_(lead_ids))
            .order_by(leads.c.id)
            .with_for_update()
        )
        return [LeadRecord.from_row(r) for r in await self.session.execute(statement)]

    async def lock_org_lead_creation(self, org_id: uuid.UUID) -> None:
        """Serialises duplicate checks and inserts of one org (API and import) until commit."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"leads.create:{org_id}"},
        )

    async def find_duplicate(
        self, org_id: uuid.UUID, keys: DedupeKeys, *, exclude: uuid.UUID | None = None
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
        if exclude is not None:
            statement = statement.where(leads.c.id != exclude)
        row = (await self.session.execute(statement)).first()
        if row is None:
            return None
        existing = LeadRecord.from_row(row)
        other = DedupeKeys(existing.email, existing.phone, existing.domain, existing.company_key)
        return existing, keys.matched_on(other)

    async def insert_lead(self, values: dict[str, Any]) -> LeadRecord:
        row = (await self.session.execute(insert(leads).values(**values).returning(*leads.c))).one()
        return LeadRecord.from_row(row)

    async def update_lead(
        self, org_id: uuid.UUID, lead_id: uuid.UUID, values: dict[str, Any]
    ) -> LeadRecord:
        statement = (
            update(leads)
            .where(leads.c.org_id == org_id, leads.c.id == lead_id)
            .values(**values, version=leads.c.version + 1, updated_at=func.now())
            .returning(*leads.c)
        )
        return LeadRecord.from_row((await self.session.execute(statement)).one())

    async def _driver(self) -> asyncpg.Connection:
        return await session_driver_connection(self.session)

    async def lock_claimer(self, org_id: uuid.UUID, member_id: uuid.UUID) -> Claimer | None:
        """Lock the member row (serialises one member's claims and assignments, so the cap
        check and the claim happen under the lock) and read their effective cap."""
        conn = await self._driver()
        row = await conn.fetchrow(_LOCK_CLAIMER_SQL, org_id, member_id, self.default_lead_cap)
        return None if row is None else Claimer(member_id, row["team"], row["cap"])

    async def claim_next(
        self, org_id: uuid.UUID, claimer: Claimer, requested: int, pool_filter: PoolFilter
    ) -> ClaimBatch:
        """Take up to ``requested`` pool leads within the claimer's cap, with their events.
        Rows another transaction holds are skipped; a row claimed meanwhile fails the
        ``owner_id IS NULL`` recheck, so no lead gets two owners."""
        args: list[Any] = [org_id, claimer.member_id, claimer.team, claimer.lead_cap, requested,
                           _ACTIVE, LeadAssigned.TYPE, LeadAssigned.VERSION]
        filters = (pool_filter.source, pool_filter.tag, pool_filter.min_priority)
        args += [value for value in filters if value is not None]
        statement = _claim_sql(*(value is not None for value in filters))
        rows = await (await self._driver()).fetch(statement, *args)
        leads = [LeadRecord.from_row(r) for r in rows if r["id"] is not None]
        return ClaimBatch(active_before=rows[0]["active_before"], leads=leads)

    async def list_leads(
        self,
        caller: Caller,
        lead_filter: LeadFilter,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
    ) -> list[LeadRecord]:
        """Newest first; ``after`` is the (created_at, id) of the previous page's last lead."""
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
            pattern = "%" + lead_filter.search.replace("\\", "\\\\").replace("%", "\\%") + "%"
            statement = statement.where(
                or_(
                    leads.c.company.ilike(pattern),
                    leads.c.contact_name.ilike(pattern),
                    leads.c.email.ilike(pattern),
                )
            )
        if after is not None:
            statement = statement.where(tuple_(leads.c.created_at, leads.c.id) < after)
        statement = statement.order_by(leads.c.created_at.desc(), leads.c.id.desc()).limit(limit)
        return [LeadRecord.from_row(r) for r in await self.session.execute(statement)]

    async def idle_leads(
        self, org_id: uuid.UUID, idle_days: int, *, limit: int
    ) -> list[LeadRecord]:
        """Owned, open leads whose status has not changed for ``idle_days`` (locked; rows
        busy in another transaction are left for the next round)."""
        statement = (
            select(leads)
            .where(
                leads.c.org_id == org_id,
                leads.c.owner_id.is_not(None),
                leads.c.status.in_(ACTIVE_STATUSES),
                func.greatest(leads.c.status_changed_at, leads.c.assigned_at)
                < func.now() - func.make_interval(0, 0, 0, idle_days),
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
        statement = select(accounts).where(
            accounts.c.org_id == org_id, accounts.c.id == account_id
        )
        if lock:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).first()
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
        row = (
            await self.session.execute(insert(accounts).values(**values).returning(*accounts.c))
        ).one()
        return AccountRecord.from_row(row)

    async def update_account(
        self, org_id: uuid.UUID, account_id: uuid.UUID, values: dict[str, Any]
    ) -> AccountRecord:
        statement = (
            update(accounts)
            .where(accounts.c.org_id == org_id, accounts.c.id == account_id)
            .values(**values, version=accounts.c.version + 1, updated_at=func.now())
            .returning(*accounts.c)
        )
        return AccountRecord.from_row((await self.session.execute(statement)).one())

    async def list_accounts(
        self, org_id: uuid.UUID, *, limit: int, after: tuple[datetime, uuid.UUID] | None,
        ids: list[uuid.UUID] | None = None,
    ) -> list[AccountRecord]:
        statement = select(accounts).where(accounts.c.org_id == org_id)
        if ids is not None:
            statement = statement.where(accounts.c.id.in_(ids))
        if after is not None:
            statement = statement.where(tuple_(accounts.c.created_at, accounts.c.id) < after)
        statement = statement.order_by(accounts.c.created_at.desc(), accounts.c.id.desc())
        rows = await self.session.execute(statement.limit(limit))
        return [AccountRecord.from_row(r) for r in rows]

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
        row = (
            await self.session.execute(insert(contacts).values(**values).returning(*contacts.c))
        ).one()
        return ContactRecord.from_row(row)

    async def list_contacts(
        self, org_id: uuid.UUID, *, account_id: uuid.UUID | None = None,
        ids: list[uuid.UUID] | None = None, limit: int = 200,
    ) -> list[ContactRecord]:
        statement = select(contacts).where(contacts.c.org_id == org_id)
        if account_id is not None:
            statement = statement.where(contacts.c.account_id == account_id)
        if ids is not None:
            statement = statement.where(contacts.c.id.in_(ids))
        statement = statement.order_by(contacts.c.created_at, contacts.c.id).limit(limit)
        return [ContactRecord.from_row(r) for r in await self.session.execute(statement)]

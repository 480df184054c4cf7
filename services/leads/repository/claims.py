"""The claim's fast path: one statement takes a member's next pool leads and writes their
``lead.assigned`` events (:meth:`services.leads.ports.LeadsRepository.claim_next`). It does
what claiming each lead through the general path (``update_lead`` and ``uow.emit``) does; a
differential test holds the two to the same leads, rows and events
(``tests/integration/leads/test_repository.py``)."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import datetime
from typing import Any, Final

import asyncpg

from crmkit.contracts.leads import LeadAssigned
from services.leads.domain import ACTIVE_STATUSES
from services.leads.ports import ClaimBatch, Claimer, PoolFilter
from services.leads.records import LeadRecord


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
# the commit wakes this process's relay instead (other processes' relays poll).
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
        status_changed_at = CASE WHEN l.status = 'NEW' THEN CAST(:now AS timestamptz)
                                 ELSE l.status_changed_at END,
        assigned_at = :now,
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
                        "event_version", "now")
_POOL_FILTERS: Final = (("source", "AND source = :source"), ("tag", "AND :tag = ANY(tags)"),
                        ("min_priority", "AND priority >= :min_priority"))


@functools.cache
def _claim_sql(source: bool, tag: bool, min_priority: bool) -> str:
    """The claim statement with the pool filters in use (one prepared statement each)."""
    used = [f for f, on in zip(_POOL_FILTERS, (source, tag, min_priority), strict=True) if on]
    sql = _CLAIM_SQL.format(filters=" ".join(clause for _, clause in used))
    return _positional(sql, _CLAIM_PARAMS + tuple(name for name, _ in used))


_ACTIVE: Final = list(ACTIVE_STATUSES)


async def lock_claimer(
    conn: asyncpg.Connection, org_id: uuid.UUID, member_id: uuid.UUID, default_cap: int
) -> Claimer | None:
    row = await conn.fetchrow(_LOCK_CLAIMER_SQL, org_id, member_id, default_cap)
    return None if row is None else Claimer(member_id, row["team"], row["cap"])


async def claim_next(
    conn: asyncpg.Connection, org_id: uuid.UUID, claimer: Claimer, requested: int,
    pool_filter: PoolFilter, now: datetime,
) -> ClaimBatch:
    """Rows another transaction holds are skipped; a row claimed meanwhile fails the
    ``owner_id IS NULL`` recheck, so no lead gets two owners."""
    args: list[Any] = [org_id, claimer.member_id, claimer.team, claimer.lead_cap, requested,
                       _ACTIVE, LeadAssigned.TYPE, LeadAssigned.VERSION, now]
    filters = (pool_filter.source, pool_filter.tag, pool_filter.min_priority)
    args += [value for value in filters if value is not None]
    statement = _claim_sql(*(value is not None for value in filters))
    rows = await conn.fetch(statement, *args)
    leads = [LeadRecord.from_row(r) for r in rows if r["id"] is not None]
    return ClaimBatch(active_before=rows[0]["active_before"], leads=leads)

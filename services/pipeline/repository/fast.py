"""The hot paths' SQL, run straight on a pooled asyncpg connection outside any transaction.

Listing opportunities and moving one are what the service does most. Through SQLAlchemy each
cost several milliseconds of CPU in statement building and result processing alone; here they
are plain SQL over asyncpg (prepared and cached per connection by asyncpg), mapped by
:mod:`.rows` like every other read.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from crmkit.auth import Caller
from crmkit.contracts import Envelope
from crmkit.paging import PageRequest
from crmkit.values import like_pattern, search_form
from services.pipeline import domain as d
from services.pipeline.domain.ordering import NEVER_CLOSED, NO_CLOSE_DATE
from services.pipeline.ports import ActivityQuery, OpportunityQuery
from services.pipeline.repository.rows import (
    ACTIVITY_COLUMNS,
    OPPORTUNITY_COLUMNS,
    activity_of,
    opportunity_of,
    stage_of,
)
from services.pipeline.tables import activities, opportunities, pipelines, stages

# -------------------------------------------------------------------------- pipelines

PIPELINE_VERSIONS = f"SELECT id, version FROM {pipelines.name} WHERE org_id = $1"

PIPELINES_WITH_STAGES = f"""
SELECT p.id, p.org_id, p.name, p.is_default, p.version,
       s.id AS stage_id, s.name AS stage_name, s.pipeline_id, s.position, s.probability,
       s.kind, s.rotting_days, s.requirements
FROM {pipelines.name} p
LEFT JOIN {stages.name} s ON s.pipeline_id = p.id AND s.org_id = p.org_id
WHERE p.org_id = $1
ORDER BY p.is_default DESC, p.created_at, p.id, s.position
"""


async def pipeline_versions(conn: asyncpg.Connection, org_id: uuid.UUID) -> dict[uuid.UUID, int]:
    return {r["id"]: r["version"] for r in await conn.fetch(PIPELINE_VERSIONS, org_id)}


async def org_pipelines(conn: asyncpg.Connection, org_id: uuid.UUID) -> list[d.Pipeline]:
    """The org's pipelines with their stages, the default one first."""
    found: dict[uuid.UUID, d.Pipeline] = {}
    for r in await conn.fetch(PIPELINES_WITH_STAGES, org_id):
        pipeline = found.get(r["id"])
        if pipeline is None:
            pipeline = found[r["id"]] = d.Pipeline(
                id=r["id"], org_id=r["org_id"], name=r["name"], is_default=r["is_default"],
                stages=[], version=r["version"],
            )
        if r["stage_id"] is not None:
            pipeline.stages.append(stage_of(r, prefix="stage_"))
    return list(found.values())


# ---------------------------------------------------------------------------- filters


class Params:
    """Positional parameters for asyncpg: ``add`` returns the placeholder."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"

    def one_of(self, column: str, values: list[Any]) -> str:
        # ``IN ($2, $3)`` rather than ``= ANY($2)``: with one value it is a plain equality,
        # which the keyset indexes serve in order even under a generic plan.
        return f"{column} IN ({', '.join(self.add(v) for v in values)})"


def visible(p: Params, caller: Caller) -> list[str]:
    """The rows of ``caller``'s org they see (:func:`services.pipeline.domain.can_see`):
    their own, their team's for a manager, all for an admin."""
    where = [f"org_id = {p.add(caller.org_id)}"]
    if not caller.is_admin:
        if caller.is_manager and caller.team is not None:
            where.append(f"(team = {p.add(caller.team)} OR owner_id = {p.add(caller.member_id)})")
        else:
            where.append(f"owner_id = {p.add(caller.member_id)}")
    return where


# ---------------------------------------------------------------------- opportunities

OPPORTUNITY_SELECT = f"SELECT {', '.join(OPPORTUNITY_COLUMNS)} FROM {opportunities.name}"


async def opportunity_page(
    conn: asyncpg.Connection, caller: Caller, query: OpportunityQuery, page: PageRequest
) -> list[d.Opportunity]:
    p = Params()
    where = visible(p, caller)
    if query.owner_ids:
        where.append(p.one_of("owner_id", list(query.owner_ids)))
    if query.stage_ids:
        where.append(p.one_of("stage_id", list(query.stage_ids)))
    if query.statuses:
        where.append(p.one_of("status", [s.value for s in query.statuses]))
    if query.pipeline_id is not None:
        where.append(f"pipeline_id = {p.add(query.pipeline_id)}")
    if query.account_ids:
        where.append(p.one_of("account_id", list(query.account_ids)))
    if query.close_from is not None:
        where.append(f"expected_close_date >= {p.add(query.close_from)}")
    if query.close_to is not None:
        where.append(f"expected_close_date <= {p.add(query.close_to)}")
    if query.stale_before is not None:
        where.append("status = 'open'")
        stale = [f"(stage_id = {p.add(stage_id)} AND stage_entered_at < {p.add(before)})"
                 for stage_id, before in query.stale_before.items()]
        where.append(f"({' OR '.join(stale)})" if stale else "false")
    if query.no_next_contact:
        where.append("status = 'open' AND next_contact_at IS NULL")
    if query.text:
        where.append(f"search_text LIKE {p.add(like_pattern(search_form(query.text)))}")
    key, after = ORDER_KEYS[query.order], page.after
    direction, beyond = ("DESC", "<") if query.order.descending else ("ASC", ">")
    if after is not None:
        at: object = after[0].date() if query.order is d.OpportunityOrder.CLOSING_SOONEST \
            else after[0]
        where.append(f"({key}, id) {beyond} ({p.add(at)}, {p.add(after[1])})")
    sql = (f"{OPPORTUNITY_SELECT} WHERE {' AND '.join(where)} "
           f"ORDER BY {key} {direction}, id {direction} LIMIT {p.add(page.fetch)}")
    return [opportunity_of(r) for r in await conn.fetch(sql, *p.values)]


# Each order's sort value, as domain.order_key makes it (a missing date at the order's end).
ORDER_KEYS = {
    d.OpportunityOrder.NEWEST: "created_at",
    d.OpportunityOrder.RECENTLY_UPDATED: "updated_at",
    d.OpportunityOrder.CLOSING_SOONEST:
        f"COALESCE(expected_close_date, DATE '{NO_CLOSE_DATE.isoformat()}')",
    d.OpportunityOrder.RECENTLY_CLOSED:
        f"COALESCE(closed_at, TIMESTAMPTZ '{NEVER_CLOSED.isoformat()}')",
}


LOAD_OPPORTUNITY = f"{OPPORTUNITY_SELECT} WHERE org_id = $1 AND id = $2"
LOAD_OPPORTUNITIES = f"{OPPORTUNITY_SELECT} WHERE org_id = $1 AND id = ANY($2::uuid[])"


async def load_opportunity(
    conn: asyncpg.Connection, org_id: uuid.UUID, opportunity_id: uuid.UUID
) -> d.Opportunity | None:
    row = await conn.fetchrow(LOAD_OPPORTUNITY, org_id, opportunity_id)
    return opportunity_of(row) if row is not None else None


async def load_opportunities(
    conn: asyncpg.Connection, org_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[d.Opportunity]:
    return [opportunity_of(row) for row in await conn.fetch(LOAD_OPPORTUNITIES, org_id, ids)]


# One statement, so it commits as a whole: the opportunity's new stage, its history entry
# and its event land together or not at all. The row is only changed when it is exactly as
# the caller's decision saw it: same version (every user-visible change bumps it), same
# derived gate inputs (activities and offers change those without a version bump) and the
# pipeline at the version the decision used. Otherwise nothing is written and no row comes
# back. No NOTIFY: PostgreSQL serialises the commits of notifying transactions, WAL flush
# included, which capped moves at one per flush (~50/s on a busy disk); the caller wakes
# its process's relay instead.
WRITE_MOVE = f"""
WITH moved AS (
    UPDATE {opportunities.name} o
    SET stage_id = $3, probability = $4, stage_entered_at = $5, updated_at = $5,
        version = $6 + 1
    WHERE o.org_id = $1 AND o.id = $2 AND o.version = $6
      AND o.contact_made_at IS NOT DISTINCT FROM $7
      AND o.next_contact_at IS NOT DISTINCT FROM $8
      AND o.offer_issued_at IS NOT DISTINCT FROM $9
      AND EXISTS (SELECT 1 FROM {pipelines.name} p
                  WHERE p.id = o.pipeline_id AND p.org_id = o.org_id AND p.version = $10)
    RETURNING o.id
), history AS (
    INSERT INTO stage_history (id, org_id, opportunity_id, from_stage_id, to_stage_id,
                               changed_at, changed_by, seconds_in_previous_stage)
    SELECT $11, $1, moved.id, $12, $3, $5, $13, $14 FROM moved
), event AS (
    INSERT INTO outbox (event_id, subject, aggregate_id, envelope)
    SELECT $15, $16, moved.id, CAST($17::text AS json) FROM moved
)
SELECT id FROM moved
"""


async def write_move(
    conn: asyncpg.Connection,
    opp: d.Opportunity,
    seen_version: int,
    change: d.StageChange,
    pipeline: d.Pipeline,
    event: Envelope,
) -> bool:
    """Write a move decided on the row at ``seen_version`` (``opp`` is the moved
    opportunity; a move leaves the derived gate inputs as they were read); False when the
    row or the pipeline changed in between, and then nothing was written."""
    row = await conn.fetchrow(
        WRITE_MOVE, opp.org_id, opp.id, opp.stage_id, opp.probability, opp.stage_entered_at,
        seen_version, opp.contact_made_at, opp.next_contact_at, opp.offer_issued_at,
        pipeline.version, change.id, change.from_stage_id, change.changed_by,
        change.seconds_in_previous_stage, event.id, event.subject, event.model_dump_json(),
    )
    return row is not None


# ------------------------------------------------------------------------- activities

ACTIVITY_SELECT = f"SELECT {', '.join(ACTIVITY_COLUMNS)} FROM {activities.name}"


async def activity_page(
    conn: asyncpg.Connection, caller: Caller, query: ActivityQuery, page: PageRequest
) -> list[d.Activity]:
    p = Params()
    where = visible(p, caller)
    if query.owner_id is not None:
        where.append(f"owner_id = {p.add(query.owner_id)}")
    if query.opportunity_id is not None:
        where.append(f"opportunity_id = {p.add(query.opportunity_id)}")
    if query.due_from is not None:
        where.append(f"due_at >= {p.add(query.due_from)}")
    if query.due_to is not None:
        where.append(f"due_at < {p.add(query.due_to)}")
    if query.statuses:
        where.append(p.one_of("status", [s.value for s in query.statuses]))
    if query.overdue_at is not None:
        where.append(overdue_sql(p.add(query.overdue_at)))
    if page.after is not None:
        where.append(f"(due_at, id) > ({p.add(page.after[0])}, {p.add(page.after[1])})")
    sql = (f"{ACTIVITY_SELECT} WHERE {' AND '.join(where)} "
           f"ORDER BY due_at, id LIMIT {p.add(page.fetch)}")
    return [activity_of(r) for r in await conn.fetch(sql, *p.values)]


def overdue_sql(now: str) -> str:
    """:func:`services.pipeline.domain.is_overdue` in SQL: open and due before the moment
    the placeholder ``now`` names."""
    return f"(status = 'open' AND due_at < {now})"


# Run through the unit of work's session (its transaction holds the locks).
CLAIM_OVERDUE = f"""
{ACTIVITY_SELECT}
WHERE {overdue_sql(":now")} AND overdue_notified_at IS NULL
ORDER BY due_at
LIMIT :limit
FOR UPDATE SKIP LOCKED
"""

"""The hot paths' SQL, run straight on the pooled asyncpg connection.

Listing opportunities and moving one are what the service does most. Through the ORM session
each cost several milliseconds of CPU in statement building and result processing alone;
here they are plain SQL over asyncpg (prepared and cached per connection by asyncpg),
mapped straight into the domain objects. Everything else stays in ``repository.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from crmkit.auth import Caller
from crmkit.contracts import Envelope
from services.pipeline import domain as d
from services.pipeline.repository import OpportunityQuery
from services.pipeline.tables import opportunities, pipelines, stages

# An asyncpg row (the package ships no type hints): read by column name.
Record: TypeAlias = Mapping[str, Any]


# ------------------------------------------------------------------------ row mapping

OPPORTUNITY_COLUMNS = ", ".join(c.name for c in opportunities.columns)


def opportunity(r: Record) -> d.Opportunity:
    return d.Opportunity(
        id=r["id"], org_id=r["org_id"], name=r["name"], amount=r["amount"],
        currency=r["currency"], owner_id=r["owner_id"], team=r["team"],
        pipeline_id=r["pipeline_id"], stage_id=r["stage_id"], probability=r["probability"],
        created_at=r["created_at"], updated_at=r["updated_at"],
        stage_entered_at=r["stage_entered_at"], status=d.OpportunityStatus(r["status"]),
        account_id=r["account_id"], expected_close_date=r["expected_close_date"],
        qualification=d.Qualification(
            needs=r["needs"], pain_points=r["pain_points"], budget_amount=r["budget_amount"],
            budget_currency=r["budget_currency"], decision_makers=r["decision_makers"],
            customer_preferences=r["customer_preferences"],
            offer_requirements=r["offer_requirements"],
        ),
        negotiation=d.Negotiation(
            price=r["negotiation_price"], terms=r["negotiation_terms"],
            delivery=r["negotiation_delivery"], contract=r["negotiation_contract"],
        ),
        close_reason_id=r["close_reason_id"], close_comment=r["close_comment"],
        lessons_learned=r["lessons_learned"], closed_at=r["closed_at"],
        last_open_stage_id=r["last_open_stage_id"], contact_made_at=r["contact_made_at"],
        offer_issued_at=r["offer_issued_at"], next_contact_at=r["next_contact_at"],
        lead_id=r["lead_id"], created_by=r["created_by"], version=r["version"],
    )


# -------------------------------------------------------------------------- pipelines

PIPELINE_VERSIONS = f"SELECT id, version FROM {pipelines.name} WHERE org_id = $1"

PIPELINES_WITH_STAGES = f"""
SELECT p.id, p.org_id, p.name, p.is_default, p.version,
       s.id AS stage_id, s.name AS stage_name, s.position, s.probability, s.kind,
       s.rotting_days, s.requirements
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
            pipeline.stages.append(d.Stage(
                id=r["stage_id"], pipeline_id=r["id"], name=r["stage_name"],
                position=r["position"], probability=r["probability"],
                kind=d.StageKind(r["kind"]), rotting_days=r["rotting_days"],
                requirements=tuple(d.Requirement(x) for x in r["requirements"]),
            ))
    return list(found.values())


# ---------------------------------------------------------------------- opportunities


class _Params:
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


async def opportunity_page(
    conn: asyncpg.Connection,
    caller: Caller,
    query: OpportunityQuery,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[d.Opportunity]:
    """Newest first, keyset-paged on ``(created_at, id)``; ``limit + 1`` rows tell whether
    there is a next page. Same filters as ``PipelineRepository.opportunity_page``."""
    p = _Params()
    where = [f"org_id = {p.add(caller.org_id)}"]
    if not caller.is_admin:
        if caller.is_manager and caller.team is not None:
            where.append(f"(team = {p.add(caller.team)} OR owner_id = {p.add(caller.member_id)})")
        else:
            where.append(f"owner_id = {p.add(caller.member_id)}")
    if query.owner_ids:
        where.append(p.one_of("owner_id", list(query.owner_ids)))
    if query.stage_ids:
        where.append(p.one_of("stage_id", list(query.stage_ids)))
    if query.statuses:
        where.append(p.one_of("status", [s.value for s in query.statuses]))
    if query.pipeline_id is not None:
        where.append(f"pipeline_id = {p.add(query.pipeline_id)}")
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
        where.append(f"name ILIKE {p.add(d.like_pattern(query.text))}")
    if after is not None:
        where.append(f"(created_at, id) < ({p.add(after[0])}, {p.add(after[1])})")
    sql = (f"SELECT {OPPORTUNITY_COLUMNS} FROM {opportunities.name} WHERE {' AND '.join(where)} "
           f"ORDER BY created_at DESC, id DESC LIMIT {p.add(limit + 1)}")
    return [opportunity(r) for r in await conn.fetch(sql, *p.values)]


LOAD_OPPORTUNITY = (
    f"SELECT {OPPORTUNITY_COLUMNS} FROM {opportunities.name} WHERE org_id = $1 AND id = $2"
)


async def load_opportunity(
    conn: asyncpg.Connection, org_id: uuid.UUID, opportunity_id: uuid.UUID
) -> d.Opportunity | None:
    row = await conn.fetchrow(LOAD_OPPORTUNITY, org_id, opportunity_id)
    return opportunity(row) if row is not None else None


LOAD_OPPORTUNITIES = (
    f"SELECT {OPPORTUNITY_COLUMNS} FROM {opportunities.name} "
    "WHERE org_id = $1 AND id = ANY($2::uuid[])"
)


async def load_opportunities(
    conn: asyncpg.Connection, org_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[d.Opportunity]:
    """The opportunities among ``ids`` (any order): entity references, one query."""
    return [opportunity(row) for row in await conn.fetch(LOAD_OPPORTUNITIES, org_id, ids)]


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
    opportunity; the move leaves the derived gate inputs as they were read); False when the
    row or the pipeline changed in between, and then nothing was written."""
    row = await conn.fetchrow(
        WRITE_MOVE, opp.org_id, opp.id, opp.stage_id, opp.probability, opp.stage_entered_at,
        seen_version, opp.contact_made_at, opp.next_contact_at, opp.offer_issued_at,
        pipeline.version, change.id, change.from_stage_id, change.changed_by,
        change.seconds_in_previous_stage, event.id, event.subject, event.model_dump_json(),
    )
    return row is not None

"""Bulk-load one org with N opportunities straight into PostgreSQL (not through the API).

The org's default pipeline is written through the repository, then the opportunities with
one ``INSERT ... SELECT generate_series`` while the secondary indexes are dropped, then the
indexes are rebuilt and the table analysed.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crmkit.db import session_factory
from services.pipeline import domain as d
from services.pipeline.repository import PipelineCache, SqlPipelineRepository

OWNERS = 50
TEAM_SIZE = 10
WORDS = ["fleet", "laptops", "software", "consulting", "printers", "cloud", "support",
         "training"]


@dataclass(frozen=True)
class Dataset:
    org_id: uuid.UUID
    pipeline: d.Pipeline
    owners: list[uuid.UUID]

    def team_of(self, owner_index: int) -> str:
        return f"team-{owner_index // TEAM_SIZE}"


def dataset_for(org_id: uuid.UUID, pipeline: d.Pipeline) -> Dataset:
    # Owners are derived from the org id, so a reused database finds the same ones.
    owners = [uuid.uuid5(org_id, f"owner-{i}") for i in range(OWNERS)]
    return Dataset(org_id, pipeline, owners)


INSERT = """
INSERT INTO opportunities (
    id, org_id, name, amount, currency, expected_close_date, account_id, owner_id, team,
    pipeline_id, stage_id, status, probability, contact_made_at, next_contact_at,
    close_comment, closed_at, version, created_at, updated_at, stage_entered_at)
SELECT
    gen_random_uuid(), CAST(:org AS uuid),
    'Opportunity ' || g || ' ' || (CAST(:words AS text[]))[1 + g % 8],
    round(CAST(random() * 100000 AS numeric), 2),
    (ARRAY['EUR', 'PLN', 'USD'])[1 + g % 3],
    DATE '2024-01-01' + (g % 900),
    gen_random_uuid(),
    (CAST(:owners AS uuid[]))[1 + g % :owner_count],
    'team-' || ((g % :owner_count) / :team_size),
    CAST(:pipeline AS uuid),
    (CAST(:stages AS uuid[]))[1 + s.slot],
    (CAST(:statuses AS text[]))[1 + s.slot],
    (CAST(:probabilities AS int[]))[1 + s.slot],
    now() - g * interval '1 minute',
    CASE WHEN g % 3 = 0 THEN NULL ELSE now() + interval '1 day' END,
    CASE WHEN s.slot = 4 THEN 'signed' END,
    CASE WHEN s.slot >= 4 THEN now() END,
    1,
    now() - g * interval '1 minute',
    now() - g * interval '1 minute',
    now() - (g % 60) * interval '1 day'
FROM generate_series(1, :count) AS g,
LATERAL (SELECT CASE WHEN g % 10 < 2 THEN 0 WHEN g % 10 < 4 THEN 1 WHEN g % 10 < 6 THEN 2
                     WHEN g % 10 < 7 THEN 3 WHEN g % 10 < 9 THEN 4 ELSE 5 END AS slot) AS s
"""


async def existing(engine: AsyncEngine) -> Dataset | None:
    async with session_factory(engine)() as session:
        org_id = await session.scalar(text("SELECT org_id FROM pipelines LIMIT 1"))
        if org_id is None:
            return None
        pipelines = await SqlPipelineRepository(session, PipelineCache()).pipelines(org_id)
    return dataset_for(org_id, pipelines[0])


async def vacuum(engine: AsyncEngine) -> float:
    """VACUUM the tables that moves churn; seconds taken. A reused database keeps the dead
    rows of earlier runs, and a server with autovacuum off (the shared one here) would let
    them slow every later run down."""
    started = time.perf_counter()
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE) opportunities, stage_history, outbox"))
    return time.perf_counter() - started


async def load(engine: AsyncEngine, count: int) -> Dataset:
    org_id = uuid.uuid4()
    pipeline = d.new_pipeline(org_id, d.Locale.EN, is_default=True)
    async with session_factory(engine)() as session:
        repo = SqlPipelineRepository(session, PipelineCache())
        await repo.insert_default_pipeline(pipeline, datetime.now(UTC))
        await repo.save_lost_reasons(d.default_lost_reasons(org_id, d.Locale.EN))
        await session.commit()
    data = dataset_for(org_id, pipeline)
    stages = pipeline.ordered_stages()
    started = time.perf_counter()
    async with engine.begin() as conn:
        indexes = (await conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'opportunities' "
            "AND indexname <> 'pk_opportunities'"))).all()
        for name, _ in indexes:
            await conn.execute(text(f'DROP INDEX "{name}"'))
        await conn.execute(text(INSERT), {
            "org": str(org_id), "words": WORDS, "owners": [str(o) for o in data.owners],
            "owner_count": OWNERS, "team_size": TEAM_SIZE, "pipeline": str(pipeline.id),
            "stages": [str(s.id) for s in stages],
            "statuses": ["open", "open", "open", "open", "won", "lost"],
            "probabilities": [s.probability for s in stages], "count": count,
        })
        inserted = time.perf_counter()
        for _, definition in indexes:
            await conn.execute(text(definition))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE opportunities"))
    print(f"loaded {count:,} opportunities: insert {inserted - started:.1f} s, "
          f"indexes + analyse {time.perf_counter() - inserted:.1f} s")
    return data

"""Reporting's own database.

Read tables (everything derived from events) live in the PostgreSQL schema ``reporting``, so a
rebuild can fill a fresh schema and swap it in with two renames in one transaction. What is not
derived from events (exchange rates, the base currency, the inbox) lives in ``public`` and
survives a rebuild.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY

from crmkit.tables import org_id, org_keyed_table, service_metadata, team, updated_at

PROJECTION_SCHEMA = "reporting"

metadata, outbox, inbox = service_metadata(named_constraints=False)

MONEY = Numeric(20, 4)


pipelines = org_keyed_table(
    "pipelines",
    metadata,
    "pipeline_id",
    Column("name", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
    schema=PROJECTION_SCHEMA,
)

pipeline_stages = org_keyed_table(
    "pipeline_stages",
    metadata,
    "stage_id",
    Column("pipeline_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("position", Integer, nullable=False),
    Column("probability", Integer, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("removed", Boolean, nullable=False),
    Index("ix_pipeline_stages_pipeline", "org_id", "pipeline_id"),
    schema=PROJECTION_SCHEMA,
)

# The latest state of every opportunity (guarded by ``version``).
opportunities = org_keyed_table(
    "opportunities",
    metadata,
    "opportunity_id",
    Column("name", String(300), nullable=False),
    Column("pipeline_id", Uuid, nullable=False),
    Column("stage_id", Uuid, nullable=False),
    Column("stage_kind", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("owner_id", Uuid, nullable=False),
    team(),
    Column("account_id", Uuid),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("probability", Integer, nullable=False),
    Column("expected_close_date", Date),
    Column("created_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("close_reason_id", Uuid),
    Column("close_reason_label", String(200)),
    Column("visited_stage_ids", ARRAY(Uuid), nullable=False),
    Column("furthest_stage_id", Uuid),
    Column("version", BigInteger, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_opportunities_owner", "org_id", "owner_id", "status"),
    Index("ix_opportunities_team", "org_id", "team", "status"),
    Index("ix_opportunities_close", "org_id", "pipeline_id", "expected_close_date"),
    Index("ix_opportunities_closed_at", "org_id", "closed_at"),
    schema=PROJECTION_SCHEMA,
)

# One row per opportunity version: the stage history (``asOf``, time in stage).
opportunity_versions = org_keyed_table(
    "opportunity_versions",
    metadata,
    "opportunity_id",
    Column("version", BigInteger, primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("pipeline_id", Uuid, nullable=False),
    Column("stage_id", Uuid, nullable=False),
    Column("stage_kind", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("owner_id", Uuid, nullable=False),
    team(),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("probability", Integer, nullable=False),
    Column("expected_close_date", Date),
    Index("ix_opportunity_versions_time", "org_id", "pipeline_id", "occurred_at"),
    schema=PROJECTION_SCHEMA,
)

def _funnel_counters() -> list[Column[Any]]:
    """What every funnel row adds up (see ``domain.Counters``)."""
    return [
        Column("count", BigInteger, nullable=False),
        Column("amount", MONEY, nullable=False),
        Column("weighted", MONEY, nullable=False),
        Column("reached", BigInteger, nullable=False),
    ]


# The maintained funnel aggregate: moved by deltas in the same transaction as each event.
# Each total is kept at three levels (``domain.RollupLevel``): per owner, per team (owner
# ``NO_OWNER``) and per org (owner ``NO_OWNER``, no team); the compactor folds a delta into all
# three.
funnel_totals = Table(
    "funnel_totals",
    metadata,
    org_id(),
    Column("pipeline_id", Uuid, nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("stage_id", Uuid, nullable=False),
    Column("status", String(10), nullable=False),
    Column("owner_id", Uuid, nullable=False),
    team(),
    Column("currency", String(3), nullable=False),
    Column("close_month", Date),
    *_funnel_counters(),
    Index(
        "ux_funnel_totals_key",
        "org_id", "pipeline_id", "level", "owner_id", "stage_id", "status", "team",
        "currency", "close_month",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
    Index("ix_funnel_totals_team", "org_id", "pipeline_id", "level", "team"),
    schema=PROJECTION_SCHEMA,
)

# The same totals by expected close day, for close ranges that start or end inside a month:
# such a range reads at most a month's days at each end, however many opportunities there
# are. Keyed day before team, so every level reads one index range per close range.
funnel_day_totals = Table(
    "funnel_day_totals",
    metadata,
    org_id(),
    Column("pipeline_id", Uuid, nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("owner_id", Uuid, nullable=False),
    Column("close_date", Date),
    team(),
    Column("stage_id", Uuid, nullable=False),
    Column("status", String(10), nullable=False),
    Column("currency", String(3), nullable=False),
    *_funnel_counters(),
    Index(
        "ux_funnel_day_totals_key",
        "org_id", "pipeline_id", "level", "owner_id", "close_date", "team", "stage_id",
        "status", "currency",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
    schema=PROJECTION_SCHEMA,
)

# Deltas appended by each event's transaction: no two events contend for a row (a hot
# aggregate row would serialise every event touching it through its commit). The compactor
# folds them into ``funnel_totals`` and ``funnel_day_totals`` moments later; queries read
# totals plus pending deltas, in one statement, so they are exact at all times.
funnel_deltas = Table(
    "funnel_deltas",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    org_id(),
    Column("pipeline_id", Uuid, nullable=False),
    Column("stage_id", Uuid, nullable=False),
    Column("status", String(10), nullable=False),
    Column("owner_id", Uuid, nullable=False),
    team(),
    Column("currency", String(3), nullable=False),
    Column("close_date", Date),
    *_funnel_counters(),
    Index("ix_funnel_deltas_pipeline", "org_id", "pipeline_id"),
    schema=PROJECTION_SCHEMA,
)

activities = org_keyed_table(
    "activities",
    metadata,
    "activity_id",
    Column("opportunity_id", Uuid, nullable=False),
    Column("owner_id", Uuid, nullable=False),
    team(),
    Column("kind", String(10), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(10), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("version", BigInteger, nullable=False),
    Index("ix_activities_owner_due", "org_id", "owner_id", "status", "due_at"),
    Index("ix_activities_opportunity", "org_id", "opportunity_id", "status"),
    Index("ix_activities_completed", "org_id", "completed_at"),
    schema=PROJECTION_SCHEMA,
)

leads = org_keyed_table(
    "leads",
    metadata,
    "lead_id",
    Column("owner_id", Uuid),
    team(),
    Column("status", String(20), nullable=False),
    Column("owner_lead_cap", Integer),
    Column("version", BigInteger, nullable=False),
    Index("ix_leads_owner", "org_id", "owner_id", "status"),
    schema=PROJECTION_SCHEMA,
)

members = org_keyed_table(
    "members",
    metadata,
    "member_id",
    Column("name", String(300)),
    team(),
    Column("lead_cap", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    schema=PROJECTION_SCHEMA,
)

offers = org_keyed_table(
    "offers",
    metadata,
    "offer_id",
    Column("opportunity_id", Uuid, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("version", BigInteger, nullable=False),
    Index("ix_offers_issued", "org_id", "issued_at"),
    schema=PROJECTION_SCHEMA,
)

# --- not derived from events: kept across rebuilds -------------------------------------------

org_settings = Table(
    "org_settings",
    metadata,
    org_id(primary_key=True),
    Column("base_currency", String(3), nullable=False),
    updated_at(),
)

exchange_rates = Table(
    "exchange_rates",
    metadata,
    org_id(primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("rate", Numeric(24, 10), nullable=False),
    Column("updated_by", Uuid, nullable=False),
    updated_at(),
)

PROJECTION_TABLES = tuple(t for t in metadata.sorted_tables if t.schema == PROJECTION_SCHEMA)

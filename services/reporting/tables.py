"""Reporting's own database.

Read tables (everything derived from events) live in the PostgreSQL schema ``reporting``, so a
rebuild can fill a fresh schema and swap it in with two renames in one transaction. What is not
derived from events (exchange rates, the base currency, the inbox) lives in ``public`` and
survives a rebuild.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crmkit.tables import org_id, org_keyed_table, service_metadata, team, updated_at

PROJECTION_SCHEMA = "reporting"

metadata, outbox, inbox = service_metadata(named_constraints=False)

MONEY = sa.Numeric(20, 4)


pipelines = org_keyed_table(
    "pipelines",
    metadata,
    "pipeline_id",
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    schema=PROJECTION_SCHEMA,
)

pipeline_stages = org_keyed_table(
    "pipeline_stages",
    metadata,
    "stage_id",
    sa.Column("pipeline_id", sa.Uuid, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("probability", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("removed", sa.Boolean, nullable=False),
    sa.Index("ix_pipeline_stages_pipeline", "org_id", "pipeline_id"),
    schema=PROJECTION_SCHEMA,
)

# The latest state of every opportunity (guarded by ``version``).
opportunities = org_keyed_table(
    "opportunities",
    metadata,
    "opportunity_id",
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("pipeline_id", sa.Uuid, nullable=False),
    sa.Column("stage_id", sa.Uuid, nullable=False),
    sa.Column("stage_kind", sa.String(10), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    team(),
    sa.Column("account_id", sa.Uuid),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("probability", sa.Integer, nullable=False),
    sa.Column("expected_close_date", sa.Date),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("close_reason_id", sa.Uuid),
    sa.Column("close_reason_label", sa.String(200)),
    sa.Column("visited_stage_ids", postgresql.ARRAY(sa.Uuid), nullable=False),
    sa.Column("furthest_stage_id", sa.Uuid),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_opportunities_owner", "org_id", "owner_id", "status"),
    sa.Index("ix_opportunities_team", "org_id", "team", "status"),
    sa.Index("ix_opportunities_close", "org_id", "pipeline_id", "expected_close_date"),
    sa.Index("ix_opportunities_closed_at", "org_id", "closed_at"),
    schema=PROJECTION_SCHEMA,
)

# One row per opportunity version: the stage history (``asOf``, time in stage).
opportunity_versions = org_keyed_table(
    "opportunity_versions",
    metadata,
    "opportunity_id",
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("pipeline_id", sa.Uuid, nullable=False),
    sa.Column("stage_id", sa.Uuid, nullable=False),
    sa.Column("stage_kind", sa.String(10), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    team(),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("probability", sa.Integer, nullable=False),
    sa.Column("expected_close_date", sa.Date),
    sa.Index("ix_opportunity_versions_time", "org_id", "pipeline_id", "occurred_at"),
    schema=PROJECTION_SCHEMA,
)

def _funnel_counters() -> list[sa.Column[Any]]:
    """What every funnel row adds up (see ``domain.Counters``)."""
    return [
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("weighted", MONEY, nullable=False),
        sa.Column("reached", sa.BigInteger, nullable=False),
    ]


# The maintained funnel aggregate: moved by deltas in the same transaction as each event.
# Each total is kept at three levels (``domain.RollupLevel``): per owner, per team (owner
# ``NO_OWNER``) and per org (owner ``NO_OWNER``, no team); the compactor folds a delta into all
# three.
funnel_totals = sa.Table(
    "funnel_totals",
    metadata,
    org_id(),
    sa.Column("pipeline_id", sa.Uuid, nullable=False),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("stage_id", sa.Uuid, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    team(),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("close_month", sa.Date),
    *_funnel_counters(),
    sa.Index(
        "ux_funnel_totals_key",
        "org_id", "pipeline_id", "level", "owner_id", "stage_id", "status", "team",
        "currency", "close_month",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
    sa.Index("ix_funnel_totals_team", "org_id", "pipeline_id", "level", "team"),
    schema=PROJECTION_SCHEMA,
)

# The same totals by expected close day, for close ranges that start or end inside a month:
# such a range reads at most a month's days at each end, however many opportunities there
# are. Keyed day before team, so every level reads one index range per close range.
funnel_day_totals = sa.Table(
    "funnel_day_totals",
    metadata,
    org_id(),
    sa.Column("pipeline_id", sa.Uuid, nullable=False),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    sa.Column("close_date", sa.Date),
    team(),
    sa.Column("stage_id", sa.Uuid, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    *_funnel_counters(),
    sa.Index(
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
funnel_deltas = sa.Table(
    "funnel_deltas",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    org_id(),
    sa.Column("pipeline_id", sa.Uuid, nullable=False),
    sa.Column("stage_id", sa.Uuid, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    team(),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("close_date", sa.Date),
    *_funnel_counters(),
    sa.Index("ix_funnel_deltas_pipeline", "org_id", "pipeline_id"),
    schema=PROJECTION_SCHEMA,
)

activities = org_keyed_table(
    "activities",
    metadata,
    "activity_id",
    sa.Column("opportunity_id", sa.Uuid, nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    team(),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Index("ix_activities_owner_due", "org_id", "owner_id", "status", "due_at"),
    sa.Index("ix_activities_opportunity", "org_id", "opportunity_id", "status"),
    sa.Index("ix_activities_completed", "org_id", "completed_at"),
    schema=PROJECTION_SCHEMA,
)

leads = org_keyed_table(
    "leads",
    metadata,
    "lead_id",
    sa.Column("owner_id", sa.Uuid),
    team(),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("owner_lead_cap", sa.Integer),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Index("ix_leads_owner", "org_id", "owner_id", "status"),
    schema=PROJECTION_SCHEMA,
)

members = org_keyed_table(
    "members",
    metadata,
    "member_id",
    sa.Column("name", sa.String(300)),
    team(),
    sa.Column("lead_cap", sa.Integer, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    schema=PROJECTION_SCHEMA,
)

offers = org_keyed_table(
    "offers",
    metadata,
    "offer_id",
    sa.Column("opportunity_id", sa.Uuid, nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Index("ix_offers_issued", "org_id", "issued_at"),
    schema=PROJECTION_SCHEMA,
)

# --- not derived from events: kept across rebuilds -------------------------------------------

org_settings = sa.Table(
    "org_settings",
    metadata,
    org_id(primary_key=True),
    sa.Column("base_currency", sa.String(3), nullable=False),
    updated_at(),
)

exchange_rates = sa.Table(
    "exchange_rates",
    metadata,
    org_id(primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("rate", sa.Numeric(24, 10), nullable=False),
    sa.Column("updated_by", sa.Uuid, nullable=False),
    updated_at(),
)

PROJECTION_TABLES = tuple(t for t in metadata.sorted_tables if t.schema == PROJECTION_SCHEMA)

"""The pipeline service's tables. Every row carries ``org_id``; lists page by keyset on
``(org_id, ..., created_at, id)`` indexes."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from crmkit.tables import (
    money,
    org_id,
    org_keyed_table,
    org_table,
    row_version,
    service_metadata,
    team,
    timestamps,
)

metadata, outbox, inbox = service_metadata()


org_settings = Table(
    "org_settings",
    metadata,
    org_id(primary_key=True),
    Column("locale", String(8), nullable=False, server_default="en"),
    *timestamps(),
)

pipelines = org_table(
    "pipelines",
    metadata,
    Column("name", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    row_version(),
    *timestamps(),
    Index("ix_pipelines_org", "org_id", "created_at"),
    # One default pipeline per org, so two first uses racing cannot both create one.
    Index(
        "uq_pipelines_org_default",
        "org_id",
        unique=True,
        postgresql_where=text("is_default"),
    ),
)

stages = org_table(
    "stages",
    metadata,
    Column(
        "pipeline_id", Uuid, ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(80), nullable=False),
    Column("position", Integer, nullable=False),
    Column("probability", Integer, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("rotting_days", Integer),
    Column("requirements", ARRAY(String(40)), nullable=False, server_default=text("'{}'")),
    Index("ix_stages_org_pipeline", "org_id", "pipeline_id", "position"),
    CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
    CheckConstraint("kind IN ('open', 'won', 'lost')", name="kind"),
)

lost_reasons = org_table(
    "lost_reasons",
    metadata,
    Column("code", String(40)),
    Column("label", String(120), nullable=False),
    Column("position", Integer, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Index("ix_lost_reasons_org", "org_id", "position"),
)

opportunities = org_table(
    "opportunities",
    metadata,
    Column("name", String(200), nullable=False),
    *money(nullable=False),
    Column("expected_close_date", Date),
    Column("account_id", Uuid),
    Column("owner_id", Uuid, nullable=False),
    team(),
    Column("pipeline_id", Uuid, ForeignKey("pipelines.id"), nullable=False),
    Column("stage_id", Uuid, ForeignKey("stages.id"), nullable=False),
    Column("last_open_stage_id", Uuid),
    Column("status", String(8), nullable=False),
    Column("probability", Integer, nullable=False),
    Column("needs", Text),
    Column("pain_points", Text),
    *money("budget_amount", "budget_currency"),
    Column("decision_makers", Text),
    Column("customer_preferences", Text),
    Column("offer_requirements", Text),
    Column("negotiation_price", Text),
    Column("negotiation_terms", Text),
    Column("negotiation_delivery", Text),
    Column("negotiation_contract", Text),
    Column("close_reason_id", Uuid),
    Column("close_comment", Text),
    Column("lessons_learned", Text),
    Column("closed_at", DateTime(timezone=True)),
    Column("contact_made_at", DateTime(timezone=True)),
    Column("offer_issued_at", DateTime(timezone=True)),
    Column("next_contact_at", DateTime(timezone=True)),
    Column("lead_id", Uuid),
    Column("created_by", Uuid),
    row_version(),
    *timestamps(),
    Column("stage_entered_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount >= 0", name="amount"),
    CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
    # Keyset pagination: newest first within the org, optionally narrowed by one filter.
    Index("ix_opportunities_org_created", "org_id", "created_at", "id"),
    Index("ix_opportunities_org_owner_created", "org_id", "owner_id", "created_at", "id"),
    Index("ix_opportunities_org_team_created", "org_id", "team", "created_at", "id"),
    Index("ix_opportunities_org_stage_created", "org_id", "stage_id", "created_at", "id"),
    Index("ix_opportunities_org_status_created", "org_id", "status", "created_at", "id"),
    # A rep's own list (and an admin's owner filter) narrowed by stage or status: without
    # these, a combination matching little walks the owner's whole range.
    Index("ix_opportunities_org_owner_stage_created",
          "org_id", "owner_id", "stage_id", "created_at", "id"),
    Index("ix_opportunities_org_owner_status_created",
          "org_id", "owner_id", "status", "created_at", "id"),
    Index("ix_opportunities_org_close_date", "org_id", "expected_close_date"),
    Index("ix_opportunities_org_stage_entered", "org_id", "stage_id", "stage_entered_at"),
    Index(
        "ix_opportunities_no_next_contact",
        "org_id",
        "created_at",
        "id",
        postgresql_where=text("status = 'open' AND next_contact_at IS NULL"),
    ),
    Index(
        "ix_opportunities_name_trgm",
        "name",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    ),
)

stage_history = org_table(
    "stage_history",
    metadata,
    Column(
        "opportunity_id",
        Uuid,
        ForeignKey("opportunities.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("from_stage_id", Uuid, nullable=False),
    Column("to_stage_id", Uuid, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", Uuid),
    Column("seconds_in_previous_stage", Integer, nullable=False),
    Index("ix_stage_history_opportunity", "opportunity_id", "changed_at"),
)

activities = org_table(
    "activities",
    metadata,
    Column(
        "opportunity_id",
        Uuid,
        ForeignKey("opportunities.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("owner_id", Uuid, nullable=False),
    team(),
    Column("kind", String(8), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("notes", Text),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(10), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("outcome", Text),
    Column("overdue_notified_at", DateTime(timezone=True)),
    row_version(),
    *timestamps(),
    CheckConstraint("kind IN ('call', 'email', 'meeting', 'task')", name="kind"),
    CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status"),
    Index("ix_activities_org_owner_due", "org_id", "owner_id", "due_at", "id"),
    Index("ix_activities_org_due", "org_id", "due_at", "id"),
    Index("ix_activities_opportunity_open", "opportunity_id", "due_at",
          postgresql_where=text("status = 'open'")),
    # What the overdue worker scans: open, not yet announced, by due time.
    Index(
        "ix_activities_overdue_pending",
        "due_at",
        postgresql_where=text("status = 'open' AND overdue_notified_at IS NULL"),
    ),
)

# Offers issued by the documents service, kept even when the opportunity is not here yet.
issued_offers = Table(
    "issued_offers",
    metadata,
    Column("offer_id", Uuid, primary_key=True),
    org_id(),
    Column("opportunity_id", Uuid, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Index("ix_issued_offers_opportunity", "org_id", "opportunity_id", "issued_at"),
)

# The leads service's roster and client accounts, as its events announce them: who may own
# an opportunity or activity, and which accounts an opportunity may name.
members = org_keyed_table(
    "members",
    metadata,
    "member_id",
    team(),
    Column("version", Integer, nullable=False),
)

accounts = org_keyed_table(
    "accounts",
    metadata,
    "account_id",
    Column("version", Integer, nullable=False),
)

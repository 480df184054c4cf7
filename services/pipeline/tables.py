"""The pipeline service's tables. Every row carries ``org_id``; lists page by keyset on
``(org_id, ..., created_at, id)`` indexes."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from crmkit.tables import (
    created_at,
    money,
    org_id,
    org_keyed_table,
    org_table,
    row_version,
    service_metadata,
    string_list,
    team,
    timestamps,
)

metadata, outbox, inbox = service_metadata()


org_settings = sa.Table(
    "org_settings",
    metadata,
    org_id(primary_key=True),
    sa.Column("locale", sa.String(8), nullable=False, server_default="en"),
    *timestamps(),
)

pipelines = org_table(
    "pipelines",
    metadata,
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.text("false")),
    row_version(),
    *timestamps(),
    sa.Index("ix_pipelines_org", "org_id", "created_at"),
    # One default pipeline per org, so two first uses racing cannot both create one.
    sa.Index(
        "uq_pipelines_org_default",
        "org_id",
        unique=True,
        postgresql_where=sa.text("is_default"),
    ),
)

stages = org_table(
    "stages",
    metadata,
    sa.Column(
        "pipeline_id", sa.Uuid, sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("probability", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("rotting_days", sa.Integer),
    string_list("requirements", 40),
    sa.Index("ix_stages_org_pipeline", "org_id", "pipeline_id", "position"),
    sa.CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
    sa.CheckConstraint("kind IN ('open', 'won', 'lost')", name="kind"),
)

lost_reasons = org_table(
    "lost_reasons",
    metadata,
    sa.Column("code", sa.String(40)),
    sa.Column("label", sa.String(120), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Index("ix_lost_reasons_org", "org_id", "position"),
)

opportunities = org_table(
    "opportunities",
    metadata,
    sa.Column("name", sa.String(200), nullable=False),
    # The name in the kit's search form (crmkit.values.search_form, written with every save):
    # the board's text filter finds "Żabka" as "zabka" (ILIKE folds only ASCII under C).
    sa.Column("search_text", sa.Text, nullable=False, server_default=sa.text("''")),
    *money(nullable=False),
    sa.Column("expected_close_date", sa.Date),
    sa.Column("account_id", sa.Uuid),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    team(),
    sa.Column("pipeline_id", sa.Uuid, sa.ForeignKey("pipelines.id"), nullable=False),
    sa.Column("stage_id", sa.Uuid, sa.ForeignKey("stages.id"), nullable=False),
    sa.Column("last_open_stage_id", sa.Uuid),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("probability", sa.Integer, nullable=False),
    sa.Column("needs", sa.Text),
    sa.Column("pain_points", sa.Text),
    *money("budget_amount", "budget_currency"),
    sa.Column("decision_makers", sa.Text),
    sa.Column("customer_preferences", sa.Text),
    sa.Column("offer_requirements", sa.Text),
    sa.Column("negotiation_price", sa.Text),
    sa.Column("negotiation_terms", sa.Text),
    sa.Column("negotiation_delivery", sa.Text),
    sa.Column("negotiation_contract", sa.Text),
    sa.Column("close_reason_id", sa.Uuid),
    sa.Column("close_comment", sa.Text),
    sa.Column("lessons_learned", sa.Text),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("contact_made_at", sa.DateTime(timezone=True)),
    sa.Column("offer_issued_at", sa.DateTime(timezone=True)),
    sa.Column("next_contact_at", sa.DateTime(timezone=True)),
    sa.Column("lead_id", sa.Uuid),
    sa.Column("created_by", sa.Uuid),
    row_version(),
    *timestamps(),
    sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount >= 0", name="amount"),
    sa.CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
    # Keyset pagination: newest first within the org, optionally narrowed by one filter.
    sa.Index("ix_opportunities_org_created", "org_id", "created_at", "id"),
    sa.Index("ix_opportunities_org_owner_created", "org_id", "owner_id", "created_at", "id"),
    sa.Index("ix_opportunities_org_team_created", "org_id", "team", "created_at", "id"),
    sa.Index("ix_opportunities_org_stage_created", "org_id", "stage_id", "created_at", "id"),
    sa.Index("ix_opportunities_org_status_created", "org_id", "status", "created_at", "id"),
    # A rep's own list (and an admin's owner filter) narrowed by stage or status: without
    # these, a combination matching little walks the owner's whole range.
    sa.Index("ix_opportunities_org_owner_stage_created",
             "org_id", "owner_id", "stage_id", "created_at", "id"),
    sa.Index("ix_opportunities_org_owner_status_created",
             "org_id", "owner_id", "status", "created_at", "id"),
    sa.Index("ix_opportunities_org_close_date", "org_id", "expected_close_date"),
    # A client's deals (its page in the web app).
    sa.Index("ix_opportunities_org_account_created", "org_id", "account_id", "created_at", "id",
             postgresql_where=sa.text("account_id IS NOT NULL")),
    sa.Index("ix_opportunities_org_stage_entered", "org_id", "stage_id", "stage_entered_at"),
    sa.Index(
        "ix_opportunities_no_next_contact",
        "org_id",
        "created_at",
        "id",
        postgresql_where=sa.text("status = 'open' AND next_contact_at IS NULL"),
    ),
    sa.Index(
        "ix_opportunities_name_trgm",
        "name",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    ),
)

def of_opportunity() -> sa.Column[uuid.UUID]:
    """The opportunity a row belongs to, deleted with it (its history, notes, activities)."""
    return sa.Column("opportunity_id", sa.Uuid, sa.ForeignKey("opportunities.id",
                                                              ondelete="CASCADE"),
                     nullable=False)


stage_history = org_table(
    "stage_history",
    metadata,
    of_opportunity(),
    sa.Column("from_stage_id", sa.Uuid, nullable=False),
    sa.Column("to_stage_id", sa.Uuid, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("changed_by", sa.Uuid),
    sa.Column("seconds_in_previous_stage", sa.Integer, nullable=False),
    sa.Index("ix_stage_history_opportunity", "opportunity_id", "changed_at"),
)

# Each handover of a deal to another owner (reassignOpportunity), shown on the deal's page.
owner_history = org_table(
    "owner_history",
    metadata,
    of_opportunity(),
    sa.Column("from_owner_id", sa.Uuid, nullable=False),
    sa.Column("to_owner_id", sa.Uuid, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("changed_by", sa.Uuid, nullable=False),
    sa.Index("ix_owner_history_opportunity", "opportunity_id", "changed_at"),
)

# What salespeople and their managers write down about a deal (it goes with the deal).
notes = org_table(
    "notes",
    metadata,
    of_opportunity(),
    sa.Column("author_id", sa.Uuid, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    created_at(),
    sa.Index("ix_notes_opportunity", "org_id", "opportunity_id", "created_at", "id"),
)

activities = org_table(
    "activities",
    metadata,
    of_opportunity(),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    team(),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("notes", sa.Text),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("outcome", sa.Text),
    sa.Column("overdue_notified_at", sa.DateTime(timezone=True)),
    row_version(),
    *timestamps(),
    sa.CheckConstraint("kind IN ('call', 'email', 'meeting', 'task')", name="kind"),
    sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status"),
    sa.Index("ix_activities_org_owner_due", "org_id", "owner_id", "due_at", "id"),
    sa.Index("ix_activities_org_due", "org_id", "due_at", "id"),
    sa.Index("ix_activities_opportunity_open", "opportunity_id", "due_at",
             postgresql_where=sa.text("status = 'open'")),
    # What the overdue worker scans: open, not yet announced, by due time.
    sa.Index(
        "ix_activities_overdue_pending",
        "due_at",
        postgresql_where=sa.text("status = 'open' AND overdue_notified_at IS NULL"),
    ),
)

# Offers issued by the documents service, kept even when the opportunity is not here yet.
issued_offers = sa.Table(
    "issued_offers",
    metadata,
    sa.Column("offer_id", sa.Uuid, primary_key=True),
    org_id(),
    sa.Column("opportunity_id", sa.Uuid, nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_issued_offers_opportunity", "org_id", "opportunity_id", "issued_at"),
)

# The leads service's roster and client accounts, as its events announce them: who may own
# an opportunity or activity, and which accounts an opportunity may name.
members = org_keyed_table(
    "members",
    metadata,
    "member_id",
    team(),
    sa.Column("version", sa.Integer, nullable=False),
)

accounts = org_keyed_table(
    "accounts",
    metadata,
    "account_id",
    sa.Column("version", sa.Integer, nullable=False),
)

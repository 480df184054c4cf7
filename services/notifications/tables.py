"""The notifications service's tables. Every row carries ``org_id``; every query filters on it.

``notifications`` are what members are told; ``member_preferences`` how they want it; the
rest are projections of other services' events (only what reminders, digests and the calendar
feed need), each row kept at the ``aggregate_version`` of the newest event applied.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crmkit.tables import (
    aggregate_version,
    key,
    org_id,
    org_keyed_table,
    org_table,
    row_version,
    service_metadata,
    updated_at,
)
from crmkit.values import DEFAULT_TIME_ZONE

metadata, outbox, inbox = service_metadata()

KINDS = (
    "'ACTIVITY_DUE', 'ACTIVITY_OVERDUE', 'LEAD_ASSIGNED', 'NO_NEXT_CONTACT', "
    "'OFFER_ACCEPTED', 'OFFER_REJECTED', 'WEBHOOK_DISABLED', 'DEAL_ASSIGNED'"
)

# The id is derived from what the notification is about (domain.notification_id): inserting
# it again does nothing.
notifications = org_table(
    "notifications",
    metadata,
    sa.Column("member_id", sa.Uuid, nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("subject_id", sa.Uuid, nullable=False),
    sa.Column("opportunity_id", sa.Uuid),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("detail", sa.String(300), nullable=False, server_default=""),
    sa.Column("due_at", sa.DateTime(timezone=True)),
    sa.Column("in_app", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("read_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(f"kind IN ({KINDS})", name="kind"),
    sa.Index("ix_notifications_member", "org_id", "member_id", "created_at", "id"),
    sa.Index("ix_notifications_subject", "subject_id"),
    sa.Index(
        "ix_notifications_unread",
        "org_id",
        "member_id",
        postgresql_where=sa.text("read_at IS NULL AND in_app"),
    ),
)

member_preferences = org_keyed_table(
    "member_preferences",
    metadata,
    "member_id",
    sa.Column("email", sa.String(254)),
    sa.Column("language", sa.String(2), nullable=False, server_default="en"),
    sa.Column("time_zone", sa.String(64), nullable=False, server_default=DEFAULT_TIME_ZONE),
    sa.Column("digest_hour", sa.Integer),
    sa.Column("lead_minutes", sa.Integer, nullable=False, server_default=sa.text("15")),
    # {"KIND": {"in_app": bool, "email": bool}}; a kind not listed has both on.
    sa.Column("channels", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    row_version(),
    updated_at(),
    sa.CheckConstraint("language IN ('en', 'pl')", name="language"),
    sa.CheckConstraint("digest_hour IS NULL OR digest_hour BETWEEN 0 AND 23", name="digest_hour"),
    sa.CheckConstraint("lead_minutes BETWEEN 0 AND 10080", name="lead_minutes"),
)

activities = org_table(
    "activities",
    metadata,
    sa.Column("opportunity_id", sa.Uuid, nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    aggregate_version(),
    updated_at(),
    sa.Index("ix_activities_open_due", "due_at", postgresql_where=sa.text("status = 'open'")),
    sa.Index("ix_activities_org_owner", "org_id", "owner_id", "due_at"),
    sa.Index("ix_activities_org_opportunity", "org_id", "opportunity_id"),
)

opportunities = org_table(
    "opportunities",
    metadata,
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("stage_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("account_id", sa.Uuid),
    sa.Column("moved_at", sa.DateTime(timezone=True)),
    aggregate_version(),
    updated_at(),
    sa.Index(
        "ix_opportunities_moved", "moved_at", postgresql_where=sa.text("moved_at IS NOT NULL")
    ),
)

accounts = org_table(
    "accounts",
    metadata,
    sa.Column("name", sa.String(300), nullable=False),
    updated_at(),
)

leads = org_table(
    "leads",
    metadata,
    sa.Column("owner_id", sa.Uuid),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("company", sa.String(300), nullable=False, server_default=""),
    aggregate_version(),
    updated_at(),
    sa.Index("ix_leads_pool", "org_id", postgresql_where=sa.text("owner_id IS NULL")),
)

members = org_keyed_table(
    "members",
    metadata,
    "member_id",
    sa.Column("name", sa.String(300), nullable=False, server_default=""),
    sa.Column("roles", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    updated_at(),
)

# Every email the service sends, keyed by what it is (a notification's id, or a member's
# digest of one day): the sent log that keeps an email from going twice, and the queue the
# sender works from (with its retries and a permanent failure's reason).
emails = org_table(
    "emails",
    metadata,
    sa.Column("member_id", sa.Uuid, nullable=False),
    sa.Column("notification_id", sa.Uuid),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("to_address", sa.String(254), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.String(500)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
    sa.Index("ix_emails_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")),
    sa.Index("ix_emails_member", "org_id", "member_id", "created_at"),
    sa.Index("ix_emails_notification", "notification_id"),
)

# Each member's secret calendar feed address (the token in its URL); rotating replaces it.
calendar_feeds = org_keyed_table(
    "calendar_feeds",
    metadata,
    "member_id",
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Endpoints an org's admins registered; deliveries (one per event and endpoint, in order per
# aggregate by ``seq``) and each attempt of each.
webhook_endpoints = org_table(
    "webhook_endpoints",
    metadata,
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("event_types", postgresql.ARRAY(sa.String(200)), nullable=False),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("disabled_reason", sa.String(500)),
    sa.Column("created_by", sa.Uuid),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_webhook_endpoints_org", "org_id", "created_at"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    key(),
    sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
    org_id(),
    sa.Column("endpoint_id", sa.Uuid, nullable=False),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("aggregate_id", sa.Uuid, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.String(500)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"]),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    sa.Index("ix_webhook_deliveries_due", "next_attempt_at",
             postgresql_where=sa.text("status = 'pending'")),
    sa.Index("ix_webhook_deliveries_order", "endpoint_id", "aggregate_id", "seq",
             postgresql_where=sa.text("status = 'pending'")),
    sa.Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at", "id"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("delivery_id", sa.Uuid, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.String(500)),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("delivery_id", "number"),
    sa.ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.id"]),
)

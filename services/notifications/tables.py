"""The notifications service's tables. Every row carries ``org_id``; every query filters on it.

``notifications`` are what members are told; ``member_preferences`` how they want it; the
rest are projections of other services' events (only what reminders, digests and the calendar
feed need), each row kept at the ``aggregate_version`` of the newest event applied.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

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
    "'OFFER_ACCEPTED', 'OFFER_REJECTED', 'WEBHOOK_DISABLED'"
)

# The id is derived from what the notification is about (domain.notification_id): inserting
# it again does nothing.
notifications = org_table(
    "notifications",
    metadata,
    Column("member_id", Uuid, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("subject_id", Uuid, nullable=False),
    Column("opportunity_id", Uuid),
    Column("title", String(300), nullable=False),
    Column("detail", String(300), nullable=False, server_default=""),
    Column("due_at", DateTime(timezone=True)),
    Column("in_app", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    CheckConstraint(f"kind IN ({KINDS})", name="kind"),
    Index("ix_notifications_member", "org_id", "member_id", "created_at", "id"),
    Index("ix_notifications_subject", "subject_id"),
    Index(
        "ix_notifications_unread",
        "org_id",
        "member_id",
        postgresql_where=text("read_at IS NULL AND in_app"),
    ),
)

member_preferences = org_keyed_table(
    "member_preferences",
    metadata,
    "member_id",
    Column("email", String(254)),
    Column("language", String(2), nullable=False, server_default="en"),
    Column("time_zone", String(64), nullable=False, server_default=DEFAULT_TIME_ZONE),
    Column("digest_hour", Integer),
    Column("lead_minutes", Integer, nullable=False, server_default=text("15")),
    # {"KIND": {"in_app": bool, "email": bool}}; a kind not listed has both on.
    Column("channels", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    row_version(),
    updated_at(),
    CheckConstraint("language IN ('en', 'pl')", name="language"),
    CheckConstraint("digest_hour IS NULL OR digest_hour BETWEEN 0 AND 23", name="digest_hour"),
    CheckConstraint("lead_minutes BETWEEN 0 AND 10080", name="lead_minutes"),
)

activities = org_table(
    "activities",
    metadata,
    Column("opportunity_id", Uuid, nullable=False),
    Column("owner_id", Uuid, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    aggregate_version(),
    updated_at(),
    Index("ix_activities_open_due", "due_at", postgresql_where=text("status = 'open'")),
    Index("ix_activities_org_owner", "org_id", "owner_id", "due_at"),
    Index("ix_activities_org_opportunity", "org_id", "opportunity_id"),
)

opportunities = org_table(
    "opportunities",
    metadata,
    Column("name", String(200), nullable=False),
    Column("owner_id", Uuid, nullable=False),
    Column("status", String(10), nullable=False),
    Column("stage_name", String(200), nullable=False, server_default=""),
    Column("account_id", Uuid),
    Column("moved_at", DateTime(timezone=True)),
    aggregate_version(),
    updated_at(),
    Index("ix_opportunities_moved", "moved_at", postgresql_where=text("moved_at IS NOT NULL")),
)

accounts = org_table(
    "accounts",
    metadata,
    Column("name", String(300), nullable=False),
    updated_at(),
)

leads = org_table(
    "leads",
    metadata,
    Column("owner_id", Uuid),
    Column("status", String(20), nullable=False),
    Column("company", String(300), nullable=False, server_default=""),
    aggregate_version(),
    updated_at(),
    Index("ix_leads_pool", "org_id", postgresql_where=text("owner_id IS NULL")),
)

members = org_keyed_table(
    "members",
    metadata,
    "member_id",
    Column("name", String(300), nullable=False, server_default=""),
    Column("roles", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    updated_at(),
)

# Every email the service sends, keyed by what it is (a notification's id, or a member's
# digest of one day): the sent log that keeps an email from going twice, and the queue the
# sender works from (with its retries and a permanent failure's reason).
emails = org_table(
    "emails",
    metadata,
    Column("member_id", Uuid, nullable=False),
    Column("notification_id", Uuid),
    Column("kind", String(30), nullable=False),
    Column("to_address", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(10), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
    Index("ix_emails_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    Index("ix_emails_member", "org_id", "member_id", "created_at"),
    Index("ix_emails_notification", "notification_id"),
)

# Each member's secret calendar feed address (the token in its URL); rotating replaces it.
calendar_feeds = org_keyed_table(
    "calendar_feeds",
    metadata,
    "member_id",
    Column("token", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Endpoints an org's admins registered; deliveries (one per event and endpoint, in order per
# aggregate by ``seq``) and each attempt of each.
webhook_endpoints = org_table(
    "webhook_endpoints",
    metadata,
    Column("url", String(2000), nullable=False),
    Column("event_types", ARRAY(String(200)), nullable=False),
    Column("description", String(500), nullable=False, server_default=""),
    Column("secret", String(100), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("disabled_reason", String(500)),
    Column("created_by", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_endpoints_org", "org_id", "created_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    key(),
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    org_id(),
    Column("endpoint_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("aggregate_id", Uuid, nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(10), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"]),
    CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    Index("ix_webhook_deliveries_due", "next_attempt_at",
          postgresql_where=text("status = 'pending'")),
    Index("ix_webhook_deliveries_order", "endpoint_id", "aggregate_id", "seq",
          postgresql_where=text("status = 'pending'")),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at", "id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", Uuid, nullable=False),
    Column("number", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("error", String(500)),
    Column("duration_ms", Integer, nullable=False),
    PrimaryKeyConstraint("delivery_id", "number"),
    ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.id"]),
)

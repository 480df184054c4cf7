"""The documents service's tables. Every row carries ``org_id``; every query filters on it.

A version's bytes live in the blob store (ADR 0015), named by the org and the sha256; versions
written before it keep theirs in ``document_versions.content`` (``bytea``), read from there.
One row per version, so history is never overwritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crmkit.tables import (
    aggregate_version,
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
    updated_at,
)

metadata, outbox, inbox = service_metadata()


def _groups(name: str = "allowed_groups") -> sa.Column[list[str]]:
    """Groups of members (a group name is at most 100 characters); none unless given."""
    return string_list(name, 100)


folders = org_table(
    "folders",
    metadata,
    sa.Column("name", sa.String(200), nullable=False),
    _groups(),
    row_version(),
    sa.Column("created_by", sa.Uuid, nullable=False),
    *timestamps(),
    # One level of nesting: the parent is a top-level folder (the use cases keep it so).
    sa.Column("parent_id", sa.Uuid),
    # Who may write in it besides managers (upload, new versions, rename, move, delete).
    _groups("write_groups"),
    sa.Column("archived_at", sa.DateTime(timezone=True)),
    sa.Column("archived_by", sa.Uuid),
    sa.ForeignKeyConstraint(["parent_id"], ["folders.id"]),
    sa.Index("uq_folders_org_name", "org_id", sa.text("lower(name)"), unique=True),
    sa.Index("ix_folders_parent", "parent_id"),
)

documents = org_table(
    "documents",
    metadata,
    sa.Column("folder_id", sa.Uuid, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    _groups(),
    # The number of the latest content version; also the optimistic-concurrency version.
    sa.Column("current_version", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("created_by", sa.Uuid, nullable=False),
    *timestamps(),
    # Soft deletion: who and when.
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    sa.Column("deleted_by", sa.Uuid),
    sa.ForeignKeyConstraint(["folder_id"], ["folders.id"]),
    sa.CheckConstraint(
        "kind IN ('OFFER_TEMPLATE', 'PRICE_LIST', 'NDA', 'CONTRACT', 'OTHER')", name="kind"
    ),
    sa.Index("ix_documents_org_listing", "org_id", "created_at", "id"),
    sa.Index("ix_documents_org_folder", "org_id", "folder_id", "created_at", "id"),
)

document_versions = sa.Table(
    "document_versions",
    metadata,
    sa.Column("document_id", sa.Uuid, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    org_id(),
    # Only versions written before the blob store: theirs stay here (ADR 0015).
    sa.Column("content", sa.LargeBinary, nullable=True),
    sa.Column("media_type", sa.String(130), nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_by", sa.Uuid, nullable=False),
    created_at(),
    sa.PrimaryKeyConstraint("document_id", "number"),
    sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
    sa.CheckConstraint("size_bytes <= 52428800", name="size_limit"),
)

offers = org_table(
    "offers",
    metadata,
    sa.Column("opportunity_id", sa.Uuid, nullable=False),
    # The current revision's template, text, file type and net total.
    sa.Column("template_id", sa.Uuid, nullable=False),
    sa.Column("template_version", sa.Integer, nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("media_type", sa.String(130), nullable=False),
    *money(),
    sa.Column("issued_by", sa.Uuid),
    sa.Column("issued_at", sa.DateTime(timezone=True)),
    sa.Column("number", sa.String(60)),
    sa.Column("status", sa.String(10), nullable=False, server_default=sa.text("'ISSUED'")),
    sa.Column("revision", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("valid_until", sa.Date),
    sa.Column("created_by", sa.Uuid),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("decided_by", sa.Uuid),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("decision_note", sa.Text, nullable=False, server_default=sa.text("''")),
    # The offer's title and text in search form (lower case, no diacritics).
    sa.Column("search_text", sa.Text, nullable=False, server_default=sa.text("''")),
    sa.ForeignKeyConstraint(
        ["template_id", "template_version"],
        ["document_versions.document_id", "document_versions.number"],
    ),
    sa.CheckConstraint("(amount IS NULL) = (currency IS NULL)", name="money"),
    sa.CheckConstraint(
        "status IN ('DRAFT', 'ISSUED', 'ACCEPTED', 'REJECTED', 'EXPIRED')", name="status"
    ),
    sa.Index("ix_offers_org_opportunity", "org_id", "opportunity_id", "issued_at"),
    sa.Index("uq_offers_org_number", "org_id", "number", unique=True),
    sa.Index(
        "ix_offers_issued_until", "valid_until", postgresql_where=sa.text("status = 'ISSUED'")
    ),
)

# Every rendering of an offer, never overwritten: its file, merge data and author.
offer_revisions = sa.Table(
    "offer_revisions",
    metadata,
    sa.Column("offer_id", sa.Uuid, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    org_id(),
    sa.Column("template_id", sa.Uuid, nullable=False),
    sa.Column("template_version", sa.Integer, nullable=False),
    sa.Column("file", sa.LargeBinary, nullable=False),
    sa.Column("media_type", sa.String(130), nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("merge_data", postgresql.JSONB, nullable=False),
    *money(),
    sa.Column("created_by", sa.Uuid, nullable=False),
    created_at(),
    sa.PrimaryKeyConstraint("offer_id", "number"),
    sa.ForeignKeyConstraint(["offer_id"], ["offers.id"]),
)

# The org's offer numbers: the last one given per month (OF/2026/12/0007).
offer_numbers = sa.Table(
    "offer_numbers",
    metadata,
    org_id(),
    sa.Column("period", sa.Date, nullable=False),
    sa.Column("last", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("org_id", "period"),
)

# Local read model of the pipeline's opportunities: who owns each (access to its offers) and
# what an offer and the offer library show of it.
opportunity_access = org_keyed_table(
    "opportunity_access",
    metadata,
    "opportunity_id",
    sa.Column("owner_id", sa.Uuid, nullable=False),
    team(),
    aggregate_version(),
    updated_at(),
    sa.Column("name", sa.String(200)),
    *money(),
    sa.Column("expected_close_date", sa.Date),
    sa.Column("stage_name", sa.String(100)),
    sa.Column("status", sa.String(10)),
    sa.Column("account_id", sa.Uuid),
    sa.Column("close_reason", sa.String(200)),
    sa.Column("close_comment", sa.Text),
    sa.Column("lessons_learned", sa.Text),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    # The close reason, comment and lessons in search form (lower case, no diacritics).
    sa.Column("search_text", sa.Text, nullable=False, server_default=sa.text("''")),
)

# Local read models of the leads service: the client's company and contact people, members'
# names (what an offer's merge data shows).
accounts = org_keyed_table(
    "accounts",
    metadata,
    "account_id",
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("nip", sa.String(20)),
    sa.Column("address", sa.Text),
    aggregate_version(),
)

contacts = org_keyed_table(
    "contacts",
    metadata,
    "contact_id",
    sa.Column("account_id", sa.Uuid, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(20)),
    sa.Column("position", sa.String(200)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    aggregate_version(),
    # A removed contact's row stays, without their details, so that an older event of
    # theirs redelivered later cannot bring them back.
    sa.Column("removed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_contacts_org_account", "org_id", "account_id", "created_at"),
)

members = org_keyed_table(
    "members",
    metadata,
    "member_id",
    sa.Column("name", sa.Text, nullable=False),
)

# Who may read the offer library: groups an admin chose (none: every member of the org).
offer_library_access = sa.Table(
    "offer_library_access",
    metadata,
    org_id(primary_key=True),
    _groups(),
    updated_at(),
)

# The org's language, projected from the pipeline's organization.settings_changed; the
# newest event (by its occurred_at) wins.
organization_locales = sa.Table(
    "organization_locales",
    metadata,
    org_id(primary_key=True),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
)

# An admin's settings of the org's offers (no row: the defaults).
offer_settings = sa.Table(
    "offer_settings",
    metadata,
    org_id(primary_key=True),
    sa.Column("validity_days", sa.Integer, nullable=False),
    updated_at(),
    sa.CheckConstraint("validity_days BETWEEN 1 AND 365", name="validity_days_range"),
)

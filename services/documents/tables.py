"""The documents service's tables. Every row carries ``org_id``; every query filters on it.

A version's bytes live in the blob store (ADR 0015), named by the org and the sha256; versions
written before it keep theirs in ``document_versions.content`` (``bytea``), read from there.
One row per version, so history is never overwritten.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
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
    created_at,
    money,
    org_id,
    org_keyed_table,
    org_table,
    service_metadata,
    team,
    timestamps,
    updated_at,
)

metadata, outbox, inbox = service_metadata()


def _groups() -> Column[list[str]]:
    return Column("allowed_groups", ARRAY(String(100)), nullable=False, server_default=text("'{}'"))


folders = org_table(
    "folders",
    metadata,
    Column("name", String(200), nullable=False),
    _groups(),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_by", Uuid, nullable=False),
    *timestamps(),
    # One level of nesting: the parent is a top-level folder (the use cases keep it so).
    Column("parent_id", Uuid),
    # Who may write in it besides managers (upload, new versions, rename, move, delete).
    Column(
        "write_groups", ARRAY(String(100)), nullable=False, server_default=text("'{}'")
    ),
    Column("archived_at", DateTime(timezone=True)),
    Column("archived_by", Uuid),
    ForeignKeyConstraint(["parent_id"], ["folders.id"]),
    Index("uq_folders_org_name", "org_id", text("lower(name)"), unique=True),
    Index("ix_folders_parent", "parent_id"),
)

documents = org_table(
    "documents",
    metadata,
    Column("folder_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    _groups(),
    # The number of the latest content version; also the optimistic-concurrency version.
    Column("current_version", Integer, nullable=False, server_default=text("1")),
    Column("created_by", Uuid, nullable=False),
    *timestamps(),
    # Soft deletion: who and when.
    Column("deleted_at", DateTime(timezone=True)),
    Column("deleted_by", Uuid),
    ForeignKeyConstraint(["folder_id"], ["folders.id"]),
    CheckConstraint(
        "kind IN ('OFFER_TEMPLATE', 'PRICE_LIST', 'NDA', 'CONTRACT', 'OTHER')", name="kind"
    ),
    Index("ix_documents_org_listing", "org_id", "created_at", "id"),
    Index("ix_documents_org_folder", "org_id", "folder_id", "created_at", "id"),
)

document_versions = Table(
    "document_versions",
    metadata,
    Column("document_id", Uuid, nullable=False),
    Column("number", Integer, nullable=False),
    org_id(),
    # Only versions written before the blob store: theirs stay here (ADR 0015).
    Column("content", LargeBinary, nullable=True),
    Column("media_type", String(130), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_by", Uuid, nullable=False),
    created_at(),
    PrimaryKeyConstraint("document_id", "number"),
    ForeignKeyConstraint(["document_id"], ["documents.id"]),
    CheckConstraint("size_bytes <= 52428800", name="size_limit"),
)

offers = org_table(
    "offers",
    metadata,
    Column("opportunity_id", Uuid, nullable=False),
    # The current revision's template, text, file type and net total.
    Column("template_id", Uuid, nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("title", String(300), nullable=False),
    Column("content", Text, nullable=False),
    Column("media_type", String(130), nullable=False),
    *money(),
    Column("issued_by", Uuid),
    Column("issued_at", DateTime(timezone=True)),
    Column("number", String(60)),
    Column("status", String(10), nullable=False, server_default=text("'ISSUED'")),
    Column("revision", Integer, nullable=False, server_default=text("1")),
    Column("valid_until", Date),
    Column("created_by", Uuid),
    Column("created_at", DateTime(timezone=True)),
    Column("decided_by", Uuid),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_note", Text, nullable=False, server_default=text("''")),
    # The offer's title and text in search form (lower case, no diacritics).
    Column("search_text", Text, nullable=False, server_default=text("''")),
    ForeignKeyConstraint(
        ["template_id", "template_version"],
        ["document_versions.document_id", "document_versions.number"],
    ),
    CheckConstraint("(amount IS NULL) = (currency IS NULL)", name="money"),
    CheckConstraint(
        "status IN ('DRAFT', 'ISSUED', 'ACCEPTED', 'REJECTED', 'EXPIRED')", name="status"
    ),
    Index("ix_offers_org_opportunity", "org_id", "opportunity_id", "issued_at"),
    Index("uq_offers_org_number", "org_id", "number", unique=True),
    Index("ix_offers_issued_until", "valid_until", postgresql_where=text("status = 'ISSUED'")),
)

# Every rendering of an offer, never overwritten: its file, merge data and author.
offer_revisions = Table(
    "offer_revisions",
    metadata,
    Column("offer_id", Uuid, nullable=False),
    Column("number", Integer, nullable=False),
    org_id(),
    Column("template_id", Uuid, nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("file", LargeBinary, nullable=False),
    Column("media_type", String(130), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("merge_data", JSONB, nullable=False),
    *money(),
    Column("created_by", Uuid, nullable=False),
    created_at(),
    PrimaryKeyConstraint("offer_id", "number"),
    ForeignKeyConstraint(["offer_id"], ["offers.id"]),
)

# The org's offer numbers: the last one given per month (OF/2026/12/0007).
offer_numbers = Table(
    "offer_numbers",
    metadata,
    org_id(),
    Column("period", Date, nullable=False),
    Column("last", Integer, nullable=False),
    PrimaryKeyConstraint("org_id", "period"),
)

# Local read model of the pipeline's opportunities: who owns each (access to its offers) and
# what an offer and the offer library show of it.
opportunity_access = org_keyed_table(
    "opportunity_access",
    metadata,
    "opportunity_id",
    Column("owner_id", Uuid, nullable=False),
    team(),
    aggregate_version(),
    updated_at(),
    Column("name", String(200)),
    *money(),
    Column("expected_close_date", Date),
    Column("stage_name", String(100)),
    Column("status", String(10)),
    Column("account_id", Uuid),
    Column("close_reason", String(200)),
    Column("close_comment", Text),
    Column("lessons_learned", Text),
    Column("closed_at", DateTime(timezone=True)),
    # The close reason, comment and lessons in search form (lower case, no diacritics).
    Column("search_text", Text, nullable=False, server_default=text("''")),
)

# Local read models of the leads service: the client's company and contact people, members'
# names (what an offer's merge data shows).
accounts = org_keyed_table(
    "accounts",
    metadata,
    "account_id",
    Column("name", Text, nullable=False),
    Column("nip", String(20)),
    Column("address", Text),
    aggregate_version(),
)

contacts = org_keyed_table(
    "contacts",
    metadata,
    "contact_id",
    Column("account_id", Uuid, nullable=False),
    Column("name", Text, nullable=False),
    Column("email", String(254)),
    Column("phone", String(20)),
    Column("position", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_contacts_org_account", "org_id", "account_id", "created_at"),
)

members = org_keyed_table(
    "members",
    metadata,
    "member_id",
    Column("name", Text, nullable=False),
)

# Who may read the offer library: groups an admin chose (none: every member of the org).
offer_library_access = Table(
    "offer_library_access",
    metadata,
    org_id(primary_key=True),
    _groups(),
    updated_at(),
)

# The org's language, projected from the pipeline's organization.settings_changed; the
# newest event (by its occurred_at) wins.
organization_locales = Table(
    "organization_locales",
    metadata,
    org_id(primary_key=True),
    Column("locale", String(8), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)

# An admin's settings of the org's offers (no row: the defaults).
offer_settings = Table(
    "offer_settings",
    metadata,
    org_id(primary_key=True),
    Column("validity_days", Integer, nullable=False),
    updated_at(),
    CheckConstraint("validity_days BETWEEN 1 AND 365", name="validity_days_range"),
)

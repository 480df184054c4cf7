"""The documents service's tables. Every row carries ``org_id``; every query filters on it.

A version's bytes live in the blob store (ADR 0015), named by the org and the sha256; versions
written before it keep theirs in ``document_versions.content`` (``bytea``), read from there.
One row per version, so history is never overwritten.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from crmkit.tables import (
    NAMING_CONVENTION,
    created_at,
    inbox_table,
    outbox_table,
    timestamps,
    updated_at,
)

metadata = MetaData(naming_convention=NAMING_CONVENTION)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


def _groups() -> Column[list[str]]:
    return Column("allowed_groups", ARRAY(String(100)), nullable=False, server_default=text("'{}'"))


folders = Table(
    "folders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    _groups(),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_by", Uuid, nullable=False),
    *timestamps(),
    Index("uq_folders_org_name", "org_id", text("lower(name)"), unique=True),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("folder_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    _groups(),
    # The number of the latest content version; also the optimistic-concurrency version.
    Column("current_version", Integer, nullable=False, server_default=text("1")),
    Column("created_by", Uuid, nullable=False),
    *timestamps(),
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
    Column("org_id", Uuid, nullable=False),
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

offers = Table(
    "offers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("opportunity_id", Uuid, nullable=False),
    Column("template_id", Uuid, nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("title", String(300), nullable=False),
    Column("content", Text, nullable=False),
    Column("media_type", String(130), nullable=False),
    Column("amount", Numeric(17, 2)),
    Column("currency", String(3)),
    Column("issued_by", Uuid, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ForeignKeyConstraint(
        ["template_id", "template_version"],
        ["document_versions.document_id", "document_versions.number"],
    ),
    CheckConstraint("(amount IS NULL) = (currency IS NULL)", name="money"),
    Index("ix_offers_org_opportunity", "org_id", "opportunity_id", "issued_at"),
)

# Local read model of the pipeline's opportunities: only what access checks need.
opportunity_access = Table(
    "opportunity_access",
    metadata,
    Column("org_id", Uuid, nullable=False),
    Column("opportunity_id", Uuid, nullable=False),
    Column("owner_id", Uuid, nullable=False),
    Column("team", String(100)),
    Column("aggregate_version", Integer, nullable=False),
    updated_at(),
    PrimaryKeyConstraint("org_id", "opportunity_id"),
)

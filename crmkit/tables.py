"""Tables every service database carries (the outbox and the inbox) and the columns every
service's tables share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSON

# Constraint and index names that alembic can reproduce exactly.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def outbox_table(metadata: MetaData) -> Table:
    """Events written in the same transaction as the change they describe."""
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("aggregate_id", Uuid, nullable=False),
        # json, not jsonb: the relay only passes the text on, and PostgreSQL's jsonb parsing
        # was a third of its CPU time in a 100,000-row lead import (ADR 0006).
        Column("envelope", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Index("ix_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL")),
        Index(
            "ix_outbox_unsent_aggregate",
            "aggregate_id",
            "seq",
            postgresql_where=text("sent_at IS NULL"),
        ),
    )


def inbox_table(metadata: MetaData) -> Table:
    """Events a consumer has applied, recorded in the same transaction as the effect."""
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("subject", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def created_at() -> Column[datetime]:
    """When the row was made (the database's clock unless given)."""
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def updated_at() -> Column[datetime]:
    """When the row last changed (set by whoever changes it)."""
    return Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def timestamps() -> tuple[Column[datetime], Column[datetime]]:
    """``created_at`` and ``updated_at``."""
    return created_at(), updated_at()

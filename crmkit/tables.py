"""Tables every service database carries (the outbox and the inbox) and the columns every
service's tables share."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    Select,
    String,
    Table,
    Uuid,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON

# Constraint and index names that alembic can reproduce exactly.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(*, named_constraints: bool = True) -> tuple[MetaData, Table, Table]:
    """A service database's metadata with its outbox and inbox. ``named_constraints=False``
    is for the databases whose first migrations left the names to PostgreSQL (changing the
    convention now would rename their constraints)."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION) if named_constraints else MetaData()
    return metadata, outbox_table(metadata), inbox_table(metadata)


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


def org_table(name: str, metadata: MetaData, *items: Any, **options: Any) -> Table:
    """A table of rows an org owns, each keyed by its own id: ``id`` and ``org_id`` first,
    then ``items``."""
    return Table(name, metadata, key(), org_id(), *items, **options)


def org_row(table: Table, org: uuid.UUID, row_id: uuid.UUID, *, lock: bool = False) -> Select[Any]:
    """The org's row of ``row_id`` in an :func:`org_table` (never another org's), locked
    ``FOR UPDATE`` when the caller is about to change it."""
    query = select(table).where(table.c.org_id == org, table.c.id == row_id)
    return query.with_for_update() if lock else query


def org_rows(table: Table, org: uuid.UUID, row_ids: Iterable[uuid.UUID]) -> Select[Any]:
    """The org's rows of ``row_ids`` in an :func:`org_table` (never another org's)."""
    return select(table).where(table.c.org_id == org, table.c.id.in_(list(row_ids)))


def org_keyed_table(
    name: str, metadata: MetaData, key_name: str, *items: Any, **options: Any
) -> Table:
    """A table keyed by the org and one more id (a member's, or another service's entity a
    read model copies): ``org_id`` and ``key_name`` first, then ``items``."""
    return Table(name, metadata, org_id(primary_key=True), key(key_name), *items, **options)


def key(name: str = "id") -> Column[uuid.UUID]:
    """A row's own id, its primary key."""
    return Column(name, Uuid, primary_key=True)


def org_id(*, primary_key: bool = False) -> Column[uuid.UUID]:
    """The org the row belongs to (every query filters on it); part of the key in tables
    keyed by the org and another service's id."""
    if primary_key:
        return Column("org_id", Uuid, primary_key=True)
    return Column("org_id", Uuid, nullable=False)


def team() -> Column[str]:
    """A team's name (NULL: no team), as :data:`crmkit.contracts.Team` bounds it."""
    return Column("team", String(100))


MONEY_AMOUNT = Numeric(17, 2)
"""An amount of money as the services store it (a deal's or an offer's value)."""


def money(
    amount: str = "amount", currency: str = "currency", *, nullable: bool = True
) -> tuple[Column[Decimal], Column[str]]:
    """An amount and its ISO 4217 currency code (:class:`crmkit.values.Money`)."""
    return (
        Column(amount, MONEY_AMOUNT, nullable=nullable),
        Column(currency, String(3), nullable=nullable),
    )


def string_list(name: str, length: int) -> Column[list[str]]:
    """A list of short strings (groups, requirements), empty unless given."""
    return Column(name, ARRAY(String(length)), nullable=False, server_default=text("'{}'"))


def row_version() -> Column[int]:
    """The optimistic-concurrency version of a row the service owns (1 when made)."""
    return Column("version", Integer, nullable=False, server_default=text("1"))


def aggregate_version() -> Column[int]:
    """The ``aggregate_version`` of the newest event a read-model row has applied."""
    return Column("aggregate_version", Integer, nullable=False)

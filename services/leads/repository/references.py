"""The entity references' reads (members and accounts by id) on a pooled asyncpg connection
outside any transaction, each one statement: the gateway asks them for every list that
shows an owner or a client, and through a session and a transaction of its own each cost
more CPU than PostgreSQL's work. The columns are the record's fields, in order, so a row
is the record's arguments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

import asyncpg

from crmkit.rows import field_names
from services.leads.records import AccountRecord, MemberRecord
from services.leads.tables import accounts, members

R = TypeVar("R")


def _by_id(table: str, record: type[object]) -> str:
    return (f"SELECT {', '.join(field_names(record))} FROM {table} "
            "WHERE org_id = $1 AND id = ANY($2::uuid[])")


MEMBERS_BY_ID = _by_id(members.name, MemberRecord)
ACCOUNTS_BY_ID = _by_id(accounts.name, AccountRecord)


async def _records(conn: asyncpg.Connection, sql: str, record: type[R], org_id: uuid.UUID,
                   ids: Sequence[uuid.UUID]) -> list[R]:
    return [record(*row) for row in await conn.fetch(sql, org_id, list(ids))]


async def members_by_id(
    conn: asyncpg.Connection, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[MemberRecord]:
    return await _records(conn, MEMBERS_BY_ID, MemberRecord, org_id, ids)


async def accounts_by_id(
    conn: asyncpg.Connection, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[AccountRecord]:
    return await _records(conn, ACCOUNTS_BY_ID, AccountRecord, org_id, ids)

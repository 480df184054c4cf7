"""A read-model row is written by the newest event only (``crmkit.projections``)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, Integer, MetaData, String, select

from crmkit.projections import upsert_newer
from crmkit.tables import org_keyed_table

from .conftest import KitDb

pytestmark = pytest.mark.integration

metadata = MetaData()
copies = org_keyed_table(
    "widget_copies", metadata, "widget_id",
    Column("name", String(100), nullable=False),
    Column("version", Integer, nullable=False),
)
KEY = ("org_id", "widget_id")


async def _write(db: KitDb, row: dict[str, object], *, or_same: bool = False) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(upsert_newer(copies, row, KEY, or_same=or_same))


async def _held(db: KitDb, widget_id: uuid.UUID) -> tuple[str, int]:
    async with db.sessions() as session:
        row = (await session.execute(
            select(copies.c.name, copies.c.version).where(copies.c.widget_id == widget_id)
        )).one()
    return row.name, row.version


async def test_a_newer_event_overwrites_an_older_or_equal_one_changes_nothing(
    kit_db: KitDb,
) -> None:
    async with kit_db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    org, widget = uuid.uuid4(), uuid.uuid4()
    row = {"org_id": org, "widget_id": widget}
    await _write(kit_db, {**row, "name": "second", "version": 2})
    await _write(kit_db, {**row, "name": "first", "version": 1})
    await _write(kit_db, {**row, "name": "second again", "version": 2})
    assert await _held(kit_db, widget) == ("second", 2)
    await _write(kit_db, {**row, "name": "third", "version": 3})
    assert await _held(kit_db, widget) == ("third", 3)
    # or_same: a redelivery of the version held writes again; an older one still loses.
    await _write(kit_db, {**row, "name": "third, redelivered", "version": 3}, or_same=True)
    await _write(kit_db, {**row, "name": "first", "version": 1}, or_same=True)
    assert await _held(kit_db, widget) == ("third, redelivered", 3)

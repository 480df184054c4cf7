"""Notes on deals in SQL."""

from __future__ import annotations

import dataclasses
import uuid

from sqlalchemy import delete, insert, select

from crmkit.rows import from_columns
from services.pipeline import domain as d
from services.pipeline.repository.base import SqlBase
from services.pipeline.tables import notes


class SqlNotes(SqlBase):
    async def add_note(self, note: d.Note) -> None:
        await self.session.execute(insert(notes).values(dataclasses.asdict(note)))

    async def note(self, org_id: uuid.UUID, note_id: uuid.UUID) -> d.Note | None:
        row = (await self.session.execute(
            select(notes).where(notes.c.org_id == org_id, notes.c.id == note_id)
        )).first()
        return from_columns(d.Note, row._mapping) if row else None

    async def notes(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> list[d.Note]:
        rows = await self.session.execute(
            select(notes)
            .where(notes.c.org_id == org_id, notes.c.opportunity_id == opportunity_id)
            .order_by(notes.c.created_at.desc(), notes.c.id.desc())
            .limit(d.NOTES_SHOWN)
        )
        return [from_columns(d.Note, r._mapping) for r in rows.all()]

    async def remove_note(self, org_id: uuid.UUID, note_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(notes).where(notes.c.org_id == org_id, notes.c.id == note_id))

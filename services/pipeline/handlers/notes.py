"""Notes on a deal: writing one, removing one, and the deal's notes."""

from __future__ import annotations

import uuid

from crmkit.commands import Command
from crmkit.errors import NotFoundError
from services.pipeline import domain as d
from services.pipeline.handlers.common import (
    OfOpportunity,
    Work,
    now,
    seen_opportunity,
    visible_opportunity,
)


class AddNote(Command):
    opportunity_id: uuid.UUID
    body: str


async def add_note(cmd: AddNote, uow: Work) -> d.Note:
    """Whoever sees the deal writes on it, open or closed."""
    caller = cmd.caller
    async with uow:
        opp = await visible_opportunity(uow.repo, caller, cmd.opportunity_id)
        note = d.new_note(caller, opp.org_id, opp.id, cmd.body, now())
        await uow.repo.add_note(note)
        await uow.commit()
    return note


class RemoveNote(Command):
    note_id: uuid.UUID


async def remove_note(cmd: RemoveNote, uow: Work) -> uuid.UUID:
    """The note's author, or an admin, while they see its deal; the removed note's id."""
    caller = cmd.caller
    async with uow:
        note = await uow.repo.note(caller.org_id, cmd.note_id)
        if note is None:
            raise NotFoundError("Note", cmd.note_id)
        try:
            await visible_opportunity(uow.repo, caller, note.opportunity_id)
        except NotFoundError:  # a note on a deal one does not see is not told of either
            raise NotFoundError("Note", cmd.note_id) from None
        d.ensure_can_remove_note(caller, note)
        await uow.repo.remove_note(caller.org_id, note.id)
        await uow.commit()
    return note.id


async def deal_notes(query: OfOpportunity, uow: Work) -> list[d.Note]:
    """The newest notes of a deal as read for the caller, newest first."""
    opp = seen_opportunity(query)
    async with uow:
        return await uow.repo.notes(opp.org_id, opp.id)

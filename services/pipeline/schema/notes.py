"""Notes on a deal in GraphQL: the note, writing one and removing one (the deal's own list
is ``Opportunity.notes``). Thin: resolvers call the handlers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from crmkit.graphql import CommonError
from crmkit.results import answer_mutation
from crmkit.schema_context import gid, parse_id
from services.pipeline import domain as d
from services.pipeline.handlers import notes as h
from services.pipeline.schema.context import Info, caller, uow
from services.pipeline.schema.references import Member


@strawberry.type(description="A note on a deal; it goes with the deal, not with its author.")
class Note:
    id: strawberry.ID
    opportunity_id: strawberry.ID
    author: Member
    body: str
    created_at: datetime

    @classmethod
    def of(cls, note: d.Note) -> Note:
        return cls(id=gid(note.id), opportunity_id=gid(note.opportunity_id),
                   author=Member(id=gid(note.author_id)), body=note.body,
                   created_at=note.created_at)


@strawberry.type
class NotePayload:
    note: Note


@strawberry.type
class RemoveNotePayload:
    removed_id: strawberry.ID


NoteResult = Annotated[NotePayload | CommonError, strawberry.union("NoteResult")]
RemoveNoteResult = Annotated[RemoveNotePayload | CommonError,
                             strawberry.union("RemoveNoteResult")]


@strawberry.type
class NotesMutation:
    @strawberry.mutation(description="Write a note on a deal one sees, open or closed.")  # type: ignore[untyped-decorator]
    async def add_note(self, info: Info, opportunity_id: strawberry.ID, body: str) -> NoteResult:
        async def run() -> NotePayload:
            cmd = h.AddNote(caller(info), parse_id(opportunity_id, "opportunityId"), body)
            return NotePayload(note=Note.of(await h.add_note(cmd, uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation(description="Remove a note: its author, or an admin.")  # type: ignore[untyped-decorator]
    async def remove_note(self, info: Info, id: strawberry.ID) -> RemoveNoteResult:
        async def run() -> RemoveNotePayload:
            cmd = h.RemoveNote(caller(info), parse_id(id, "id"))
            return RemoveNotePayload(removed_id=gid(await h.remove_note(cmd, uow(info))))

        return await answer_mutation(run())

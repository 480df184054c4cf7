"""Notes on a deal: what a salesperson or their manager writes down about it (a call's gist,
a hint from the manager). A note belongs to the deal, not to its author: whoever sees the deal
reads its notes, also after a handover."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from crmkit.auth import Caller
from crmkit.errors import ForbiddenError, ProblemCollector
from crmkit.values import clean_text
from services.pipeline.domain.values import TEXT_MAX

NOTES_SHOWN = 200
"""The newest notes a deal shows."""


@dataclass(frozen=True)
class Note:
    id: uuid.UUID
    org_id: uuid.UUID
    opportunity_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    created_at: datetime


def new_note(caller: Caller, org_id: uuid.UUID, opportunity_id: uuid.UUID, body: str,
             now: datetime) -> Note:
    """A note by the caller (who sees the deal, open or closed); the text trimmed, line breaks
    kept."""
    problems = ProblemCollector()
    text = problems.value("body", lambda: clean_text(body, max_length=TEXT_MAX, multiline=True))
    problems.raise_if_any()
    assert text is not None
    return Note(id=uuid.uuid4(), org_id=org_id, opportunity_id=opportunity_id,
                author_id=caller.member_id, body=text, created_at=now)


def ensure_can_remove_note(caller: Caller, note: Note) -> None:
    """Its author removes a note, or an admin; a manager keeps to their own."""
    if note.author_id != caller.member_id and not caller.is_admin:
        raise ForbiddenError("only the note's author or an admin may remove it")

"""Notes on a deal: who writes, reads and removes them, and what a note may hold."""

from __future__ import annotations

import uuid

import pytest

from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError
from services.pipeline.handlers import notes
from services.pipeline.handlers import opportunities as opps
from services.pipeline.handlers.common import OfOpportunity

from .fakes import fake_uow
from .test_handlers import ADMIN, BETA_REP, MANAGER, OUTSIDER, REP, REP2, create, paths, person


async def test_whoever_sees_a_deal_writes_and_reads_its_notes_newest_first() -> None:
    uow = fake_uow()
    opp = await create(uow, REP)
    first = await notes.add_note(notes.AddNote(REP, opp.id, "  Budget agreed.\nCall Friday. "),
                                 uow)
    assert (first.body, first.author_id) == ("Budget agreed.\nCall Friday.", REP.member_id)
    hint = await notes.add_note(notes.AddNote(MANAGER, opp.id, "Mention the fleet discount"),
                                uow)
    for reader in (REP, MANAGER, ADMIN):
        found = await notes.deal_notes(OfOpportunity(reader, opp), uow)
        assert [n.id for n in found] == [hint.id, first.id]
    for stranger in (REP2, BETA_REP, person("manager", team="beta"), OUTSIDER):
        with pytest.raises(NotFoundError):
            await notes.add_note(notes.AddNote(stranger, opp.id, "hello"), uow)
        with pytest.raises(NotFoundError):
            await notes.deal_notes(OfOpportunity(stranger, opp), uow)
    # A closed deal still takes notes (what was learned).
    await opps.mark_won(opps.MarkWon(ADMIN, opp.id, "Signed", 1), uow)
    await notes.add_note(notes.AddNote(REP, opp.id, "They liked the quick demo"), uow)


@pytest.mark.parametrize("body", ["", "   ", "x" * 10_001, "bell\x07", "nul\x00"])
async def test_a_note_must_hold_clean_text(body: str) -> None:
    uow = fake_uow()
    opp = await create(uow, REP)
    with pytest.raises(InvalidInput) as refused:
        await notes.add_note(notes.AddNote(REP, opp.id, body), uow)
    assert paths(refused.value) == {"body"}
    assert await notes.deal_notes(OfOpportunity(REP, opp), uow) == []


async def test_a_note_is_removed_by_its_author_or_an_admin() -> None:
    uow = fake_uow()
    opp = await create(uow, REP)
    mine = await notes.add_note(notes.AddNote(REP, opp.id, "mine"), uow)
    theirs = await notes.add_note(notes.AddNote(MANAGER, opp.id, "the manager's"), uow)
    with pytest.raises(ForbiddenError):  # the deal's owner does not remove their manager's
        await notes.remove_note(notes.RemoveNote(REP, theirs.id), uow)
    with pytest.raises(ForbiddenError):  # nor a manager a rep's
        await notes.remove_note(notes.RemoveNote(MANAGER, mine.id), uow)
    for stranger in (REP2, OUTSIDER):  # not even told it exists
        with pytest.raises(NotFoundError):
            await notes.remove_note(notes.RemoveNote(stranger, mine.id), uow)
    with pytest.raises(NotFoundError):
        await notes.remove_note(notes.RemoveNote(REP, uuid.uuid4()), uow)
    assert await notes.remove_note(notes.RemoveNote(REP, mine.id), uow) == mine.id
    assert await notes.remove_note(notes.RemoveNote(ADMIN, theirs.id), uow) == theirs.id
    assert await notes.deal_notes(OfOpportunity(REP, opp), uow) == []

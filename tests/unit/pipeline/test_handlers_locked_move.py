"""The pipeline's general way of moving an opportunity (decided with the row locked, what the
fast way falls back to) gives the fast way's answers: the same stage, probability, version and
event, and the same refusals, changing nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from crmkit.auth import Caller
from crmkit.errors import NotFoundError, VersionConflictError
from services.pipeline import domain as d
from services.pipeline.handlers import opportunities as opps

from .fakes import fake_uow
from .test_handlers import REP, REP2, Uow, create, ready_for_qualification, repo, stages, types

Move = Callable[[opps.MoveOpportunity, Uow], Awaitable[d.Opportunity]]


async def moved_to_qualification(uow: Uow, way: Move) -> tuple[object, ...]:
    """What moving a ready opportunity to Qualification answers, keeps and announces."""
    s = await stages(uow)
    opp = await ready_for_qualification(uow)
    before = len(types(uow))
    moved = await way(opps.MoveOpportunity(REP, opp.id, s["Qualification"].id, 1), uow)
    state = await repo(uow)
    history = await state.history(opp.org_id, opp.id)
    return (moved.stage_id == s["Qualification"].id, moved.probability, moved.version,
            state.opportunity_rows[opp.id].version, types(uow)[before:],
            [c.to_stage_id == s["Qualification"].id for c in history])


async def test_the_locked_move_answers_as_the_fast_one() -> None:
    fast = await moved_to_qualification(fake_uow(), opps.move_opportunity)
    locked = await moved_to_qualification(fake_uow(), opps.move_opportunity_locked)
    assert fast == locked == (True, 25, 2, 2, ["opportunity.stage_changed"], [True])


async def test_the_locked_move_refuses_as_the_fast_one_and_changes_nothing() -> None:
    uow = fake_uow()
    s = await stages(uow)
    opp = await create(uow)

    def to_qualification(who: Caller, version: int) -> opps.MoveOpportunity:
        return opps.MoveOpportunity(who, opp.id, s["Qualification"].id, version)

    with pytest.raises(d.GateNotSatisfiedError) as gate:
        await opps.move_opportunity_locked(to_qualification(REP, 1), uow)
    assert gate.value.missing == [d.Requirement.CONTACT_MADE,
                                  d.Requirement.NEXT_CONTACT_SCHEDULED]
    with pytest.raises(VersionConflictError):
        await opps.move_opportunity_locked(to_qualification(REP, 5), uow)
    with pytest.raises(NotFoundError):
        await opps.move_opportunity_locked(to_qualification(REP2, 1), uow)
    state = await repo(uow)
    assert state.opportunity_rows[opp.id].version == 1 and state.outbox == []
    assert await state.history(opp.org_id, opp.id) == []

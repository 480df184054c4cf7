"""The in-memory unit of work (for handler unit tests) and the periodic worker loop."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from dataclasses import dataclass, field

import pytest

from crmkit.contracts import Envelope
from crmkit.inbox import subject_matches
from crmkit.runtime import run_periodically
from crmkit.testing.fakes import FakeUnitOfWork


@dataclass
class Shelf:
    books: dict[str, int] = field(default_factory=dict)


def envelope() -> Envelope:
    return Envelope(type="crm.kittest.book.shelved", org_id=uuid.uuid4(),
                    aggregate_id=uuid.uuid4(), payload={})


async def test_a_commit_keeps_the_change_and_its_events() -> None:
    uow = FakeUnitOfWork(Shelf())
    event = envelope()
    async with uow:
        uow.repo.books["Dune"] = 1
        uow.emit(event)
        await uow.commit()
    async with uow:
        assert uow.repo.books == {"Dune": 1}
    assert uow.committed == [event] and uow.commits == 1


async def test_leaving_without_a_commit_changes_nothing() -> None:
    uow = FakeUnitOfWork(Shelf({"Dune": 1}))
    with pytest.raises(RuntimeError):
        async with uow:
            uow.repo.books["Dune"] = 2
            uow.repo.books["Emma"] = 1
            uow.emit(envelope())
            raise RuntimeError("refused")
    async with uow:
        assert uow.repo.books == {"Dune": 1}
    assert uow.committed == [] and uow.commits == 0
    with pytest.raises(RuntimeError):
        uow.repo  # noqa: B018 - outside `async with`


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("crm.pipeline.opportunity.>", "crm.pipeline.opportunity.won", True),
        ("crm.pipeline.opportunity.>", "crm.pipeline.opportunity", False),
        ("crm.>", "crm.leads.lead.created", True),
        ("crm.*.lead.created", "crm.leads.lead.created", True),
        ("crm.*.lead.created", "crm.leads.lead.updated", False),
        ("crm.leads.lead.converted", "crm.leads.lead.converted", True),
        ("crm.leads.lead.converted", "crm.leads.lead.converted.x", False),
    ],
)
def test_consumers_match_subjects_as_nats_does(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


async def test_a_periodic_job_runs_again_soon_while_busy_and_survives_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[object] = [3, 1, RuntimeError("database restarting"), 0]
    runs: list[float] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def job() -> object:
        runs.append(loop.time())
        if len(runs) > len(outcomes):
            stop.set()
            return 0
        outcome = outcomes[len(runs) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(
            run_periodically(job, stop, interval=1.0, busy_interval=0.0), 10)
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert len(runs) == 5
    assert gaps[0] < 0.5 and gaps[1] < 0.5  # work found: again at once
    assert gaps[2] >= 0.99  # after the failure: the interval
    assert gaps[3] >= 0.99  # nothing found: the interval
    assert [r.getMessage() for r in caplog.records] == [
        "periodic job failed (1 in a row); retrying"]

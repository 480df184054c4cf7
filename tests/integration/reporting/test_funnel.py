"""The funnel against the truth: hundreds of random pipeline operations published as the
pipeline's contract events, then reporting's figures compared with the simulated state."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from crmkit.testing.plugin import Org
from services.reporting import tables as t
from services.reporting.domain.access import RollupLevel
from services.reporting.handlers.projection import compact_funnel, project, project_batch

from .conftest import Reporting, publish, wait_applied
from .simulator import PipelineSimulator, Truth

pytestmark = pytest.mark.integration

FUNNEL = """
query ($pipelineId: ID, $ownerId: ID, $team: String, $closeFrom: Date, $closeTo: Date,
       $asOf: DateTime) {
  salesFunnel(pipelineId: $pipelineId, ownerId: $ownerId, team: $team, closeFrom: $closeFrom,
              closeTo: $closeTo, asOf: $asOf) {
    __typename
    ... on SalesFunnel {
      pipelineId
      stages {
        name kind position count reached conversionRate
        amounts { byCurrency { currency amount } converted { currency amount } }
        weightedAmounts { byCurrency { currency amount } }
      }
    }
    ... on Forbidden { message }
    ... on ValidationError { message }
  }
}
"""


def owners(count: int, team: str = "alpha") -> list[tuple[uuid.UUID, str]]:
    return [(uuid.uuid4(), team) for _ in range(count)]


async def funnel(reporting: Reporting, token: str, **variables: Any) -> dict[str, Any]:
    data = await reporting.data(token, FUNNEL, variables)
    result: dict[str, Any] = data["salesFunnel"]
    return result


def assert_matches(result: dict[str, Any], truth: Truth) -> None:
    assert result["__typename"] == "SalesFunnel", result
    stages = {s["name"]: s for s in result["stages"]}
    assert list(stages) == list(truth.count)
    for name, stage in stages.items():
        assert stage["count"] == truth.count[name], name
        amounts = {m["currency"]: Decimal(m["amount"]) for m in stage["amounts"]["byCurrency"]}
        assert amounts == {c: a for c, a in truth.amounts[name].items() if a}, name
        weighted = {m["currency"]: Decimal(m["amount"])
                    for m in stage["weightedAmounts"]["byCurrency"]}
        assert weighted == {c: a for c, a in truth.weighted[name].items() if a}, name
        if stage["kind"] != "lost":
            assert stage["reached"] == truth.reached[name], name
    progress = [s for s in result["stages"] if s["kind"] != "lost"]
    for current, following in itertools.pairwise(progress):
        if current["kind"] == "open" and current["reached"]:
            assert current["conversionRate"] == pytest.approx(
                following["reached"] / current["reached"]
            )


@pytest.mark.parametrize("duplicates", [False, True], ids=["once", "duplicated"])
async def test_funnel_equals_the_truth_after_random_operations(
    reporting: Reporting, org: Org, duplicates: bool
) -> None:
    team = owners(3)
    sim = PipelineSimulator(org.id, seed=11 if duplicates else 5, owners=team)
    events = [sim.configure(), *sim.random_operations(400)]
    await publish(reporting, events, duplicate=duplicates)
    await wait_applied(reporting, events)

    assert_matches(await funnel(reporting, org.token("admin")), sim.truth())
    rep_id = team[0][0]
    rep_view = await funnel(reporting, org.token("rep", member_id=rep_id))
    assert_matches(rep_view, sim.truth(owner_id=rep_id))
    ragged = {"closeFrom": "2026-02-10", "closeTo": "2026-06-20"}
    assert_matches(
        await funnel(reporting, org.token("admin"), **ragged),
        sim.truth(close_from=date(2026, 2, 10), close_to=date(2026, 6, 20)),
    )
    whole = {"closeFrom": "2026-03-01", "closeTo": "2026-08-31"}
    assert_matches(
        await funnel(reporting, org.token("manager"), **whole),
        sim.truth(close_from=date(2026, 3, 1), close_to=date(2026, 8, 31)),
    )

    # Folded into the totals, each scope reads its own rollup level: the same truth. (The
    # service's own compactor may hold the fold lock: then its fold is waited for.)
    for _ in range(100):
        await compact_funnel(reporting.runtime.uow())
        async with reporting.runtime.sessions() as session:
            pending = await session.scalar(
                select(func.count()).select_from(t.funnel_deltas)
                .where(t.funnel_deltas.c.org_id == org.id)
            )
        if not pending:
            break
        await asyncio.sleep(0.1)
    assert pending == 0
    async with reporting.runtime.sessions() as session:
        levels = (await session.execute(
            select(t.funnel_totals.c.level, func.count())
            .where(t.funnel_totals.c.org_id == org.id).group_by(t.funnel_totals.c.level)
        )).all()
        assert {level for level, _ in levels} == set(RollupLevel)
    assert_matches(await funnel(reporting, org.token("admin")), sim.truth())
    assert_matches(await funnel(reporting, org.token("manager")), sim.truth())
    assert_matches(await funnel(reporting, org.token("rep", member_id=rep_id)),
                   sim.truth(owner_id=rep_id))
    assert_matches(
        await funnel(reporting, org.token("admin"), **whole),
        sim.truth(close_from=date(2026, 3, 1), close_to=date(2026, 8, 31)),
    )

    async with reporting.runtime.sessions() as session:
        o = t.opportunities.c
        rows: dict[str, int] = dict((await session.execute(
            select(o.status, func.count()).where(o.org_id == org.id).group_by(o.status)
        )).all())
        a = t.activities.c
        done = await session.scalar(
            select(func.count()).where(a.org_id == org.id, a.status == "done")
        )
    expected = {status: sum(1 for x in sim.opportunities.values() if x.status == status)
                for status in ("open", "won", "lost")}
    assert {k: rows.get(k, 0) for k in expected} == expected
    assert done == sum(1 for x in sim.activities.values() if x.status == "done")


async def test_a_close_range_open_at_one_end(reporting: Reporting, org: Org) -> None:
    sim = PipelineSimulator(org.id, seed=17, owners=owners(2))
    events = [sim.configure(), *sim.random_operations(80)]
    await publish(reporting, events)
    await wait_applied(reporting, events)
    admin = org.token("admin")
    assert_matches(await funnel(reporting, admin, closeFrom="2026-06-10"),
                   sim.truth(close_from=date(2026, 6, 10)))
    assert_matches(await funnel(reporting, admin, closeTo="2026-06-10"),
                   sim.truth(close_to=date(2026, 6, 10)))


async def test_asof_answers_the_funnel_as_it_stood(reporting: Reporting, org: Org) -> None:
    sim = PipelineSimulator(org.id, seed=21, owners=owners(2))
    first = [sim.configure(), *sim.random_operations(150)]
    then = first[-1].occurred_at
    truth_then = sim.truth()
    later = sim.random_operations(150)
    await publish(reporting, first + later)
    await wait_applied(reporting, first + later)

    assert_matches(await funnel(reporting, org.token("admin"), asOf=then.isoformat()),
                   truth_then)
    assert_matches(await funnel(reporting, org.token("admin")), sim.truth())


async def test_reordered_and_repeated_events_give_the_same_figures(
    reporting: Reporting, org: Org
) -> None:
    """Projection-level idempotence, without the inbox: every event applied in a random
    order (across and within aggregates, the pipeline's configuration last), some twice."""
    sim = PipelineSimulator(org.id, seed=33, owners=owners(3))
    configure = sim.configure()
    events = sim.random_operations(300)
    rng = random.Random(4)
    shuffled = events + rng.sample(events, 60)
    rng.shuffle(shuffled)
    for envelope in [*shuffled, configure, configure]:
        await project(envelope, reporting.runtime.uow())
    assert_matches(await funnel(reporting, org.token("admin")), sim.truth())


async def test_runs_of_events_applied_together_give_the_same_figures(
    reporting: Reporting, org: Org
) -> None:
    """The batch path without the inbox: shuffled events, some repeated, applied in chunks of
    random length (an opportunity often several times in one run), two orgs interleaved."""
    other = uuid.uuid4()
    sims = [PipelineSimulator(org.id, seed=21, owners=owners(3)),
            PipelineSimulator(other, seed=22, owners=owners(2))]
    configured = [sim.configure() for sim in sims]
    events = [e for sim in sims for e in sim.random_operations(250)]
    rng = random.Random(9)
    shuffled = events + rng.sample(events, 50)
    rng.shuffle(shuffled)
    shuffled = configured + shuffled + configured
    while shuffled:
        size = rng.randint(1, 60)
        chunk, shuffled = shuffled[:size], shuffled[size:]
        await project_batch(chunk, reporting.runtime.uow())
    assert_matches(await funnel(reporting, org.token("admin")), sims[0].truth())
    async with reporting.runtime.sessions() as session:
        o = t.opportunities.c
        count = await session.scalar(select(func.count()).where(o.org_id == other))
    assert count == len(sims[1].opportunities)


async def test_figures_never_cross_orgs_or_roles(
    reporting: Reporting, org: Org, other_org: Org
) -> None:
    team = owners(2)
    sim = PipelineSimulator(org.id, seed=8, owners=team)
    events = [sim.configure(), *sim.random_operations(60)]
    await publish(reporting, events)
    await wait_applied(reporting, events)

    outsider = await funnel(reporting, other_org.token("admin"))
    assert outsider == {"__typename": "SalesFunnel", "pipelineId": None, "stages": []}
    foreign = await funnel(reporting, other_org.token("admin"), pipelineId=str(sim.pipeline_id))
    assert foreign["__typename"] == "NotFound"
    rep = org.token("rep", member_id=team[0][0])
    assert (await funnel(reporting, rep, ownerId=str(team[1][0])))["__typename"] == "Forbidden"
    other_team = org.token("manager", team="beta")
    assert (await funnel(reporting, other_team, team="alpha"))["__typename"] == "Forbidden"
    beta_view = await funnel(reporting, other_team)
    assert all(s["count"] == 0 and s["reached"] == 0 for s in beta_view["stages"])

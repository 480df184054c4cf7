"""Rebuild: replaying the stream into fresh tables gives the incrementally built figures, and
queries keep being answered while it runs and across the swap."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from crmkit.testing.plugin import Org
from services.reporting.rebuild import RebuildReport, rebuild
from services.reporting.settings import ReportingSettings

from .conftest import Reporting, publish, wait_applied
from .simulator import PipelineSimulator
from .test_funnel import assert_matches, funnel


async def rebuild_reporting(reporting: Reporting) -> RebuildReport:
    settings = reporting.runtime.settings
    assert isinstance(settings, ReportingSettings)
    return await rebuild(settings, database_url=settings.reporting_database_url)


pytestmark = pytest.mark.integration

ANALYTICS = """
{ salesAnalytics {
    ... on SalesAnalytics {
      winRate { wonCount lostCount rateByCount wonAmounts { byCurrency { currency amount } } }
      timeInStages { stageName visits averageSeconds }
      salesCycle { wonCount averageDays medianDays }
      lostReasons { label count amounts { byCurrency { currency amount } } }
      forecast { month count amounts { byCurrency { currency amount } }
                 weightedAmounts { byCurrency { currency amount } } }
      activityCounts { memberId calls emails meetings tasks total }
      leaderboard { rank memberId wonCount lostCount }
    }
} }
"""


async def figures(reporting: Reporting, org: Org, rep: uuid.UUID) -> list[dict[str, Any]]:
    admin = org.token("admin")
    return [
        await funnel(reporting, admin),
        await funnel(reporting, admin, closeFrom="2026-02-10", closeTo="2026-09-20"),
        await funnel(reporting, org.token("rep", member_id=rep)),
        await reporting.data(admin, ANALYTICS),
    ]


async def test_rebuilt_figures_equal_the_incremental_ones_and_queries_never_stop(
    reporting: Reporting, org: Org
) -> None:
    team = [(uuid.uuid4(), "alpha"), (uuid.uuid4(), "alpha"), (uuid.uuid4(), "beta")]
    sim = PipelineSimulator(org.id, seed=99, owners=team)
    events = [sim.configure(), *sim.random_operations(300)]
    await publish(reporting, events)
    await wait_applied(reporting, events)
    before = await figures(reporting, org, team[0][0])
    assert before[0]["stages"][0]["reached"] > 0

    stop = asyncio.Event()
    answered = 0

    async def keep_asking() -> None:
        nonlocal answered
        while not stop.is_set():
            answer = await funnel(reporting, org.token("admin"))
            assert answer["__typename"] == "SalesFunnel" and len(answer["stages"]) == 6
            answered += 1
            await asyncio.sleep(0.02)  # a steady client, not a CPU hog starving the rebuild

    asker = asyncio.create_task(keep_asking())
    try:
        # Events that arrive during the rebuild must reach the new tables too.
        late = sim.random_operations(40)
        publishing = asyncio.create_task(publish(reporting, late))
        report = await rebuild_reporting(reporting)
        await publishing
        await wait_applied(reporting, late)
    finally:
        stop.set()
        await asker

    assert report.events_replayed >= len(events)
    assert answered > 0
    after = await figures(reporting, org, team[0][0])
    # The rebuilt tables answer, with the late events included exactly once.
    assert_matches(after[0], sim.truth())
    # Rebuild once more without traffic: identical to what the live consumers built.
    incremental = after
    await rebuild_reporting(reporting)
    assert await figures(reporting, org, team[0][0]) == incremental
    async with reporting.runtime.engine.connect() as conn:
        leftovers = (await conn.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rb\\_%'")
        )).all()
    assert leftovers == []

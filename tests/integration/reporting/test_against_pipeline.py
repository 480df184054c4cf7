"""Reporting against the source of truth: random operations through the real pipeline
service's GraphQL API (its outbox and relay publish to the same bus), then reporting's funnel
and counts compared with what the pipeline database holds."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crmkit.contracts import Envelope
from crmkit.contracts.leads import MemberUpdated
from crmkit.testing.bus import publish as put_on_bus
from crmkit.testing.client import ServiceClient, service_client, service_settings
from crmkit.testing.plugin import Org, Servers
from services.pipeline import app as pipeline_app
from services.pipeline import tables as pt
from services.reporting import tables as rt

from .conftest import Reporting
from .test_funnel import funnel

pytestmark = pytest.mark.integration

PIPELINE_MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "pipeline" / "migrations"


Pipeline = ServiceClient[Any]


@pytest.fixture
async def pipeline(
    migrated_database: Any, reporting: Reporting, crm_servers: Servers
) -> AsyncIterator[Pipeline]:
    # A pipeline database of its own, relaying to the reporting tests' NATS server (the
    # pipeline tests' session runtime relays the shared one's outbox to another server).
    url = await migrated_database("pipeline", PIPELINE_MIGRATIONS, copy="reporting")
    settings = service_settings(pipeline_app, crm_servers, url,
                                nats_url=reporting.runtime.settings.nats_url)
    async with service_client(pipeline_app, settings) as client:
        yield client


OPP = "... on OpportunityPayload { opportunity { id version status stageId } }"


async def test_funnel_equals_the_pipeline_database(
    reporting: Reporting, pipeline: Pipeline, org: Org
) -> None:
    admin = org.token("admin")
    owners = [uuid.uuid4() for _ in range(3)]
    for owner in owners:  # the roster the leads service announces: whom the admin may assign
        await pipeline.deliver(Envelope.wrap(
            MemberUpdated(member_id=owner, team="alpha", lead_cap=10, changed=["registered"]),
            org_id=org.id, aggregate_id=owner, aggregate_version=1))
    pipelines = await pipeline.data(
        admin, "{ pipelines { id stages { id kind position } } }", {}
    )
    if not pipelines["pipelines"]:
        created = await pipeline.data(
            admin, "mutation { createPipeline(name: \"Sales\") { "
                   "... on PipelinePayload { pipeline { id stages { id kind position } } } } }",
            {},
        )
        chosen = created["createPipeline"]["pipeline"]
    else:
        chosen = pipelines["pipelines"][0]
    for stage in chosen["stages"]:  # no gates: every random move is allowed
        await pipeline.data(
            admin, "mutation ($id: ID!) { updateStage(stageId: $id, patch: {requirements: []})"
                   " { __typename } }", {"id": stage["id"]},
        )
    reasons = await pipeline.data(admin, "{ lostReasons { id } }", {})
    reason_id = reasons["lostReasons"][0]["id"]
    open_stages = [s["id"] for s in chosen["stages"] if s["kind"].lower() == "open"]

    rng = random.Random(17)
    opportunities: dict[str, dict[str, Any]] = {}
    activities: list[str] = []
    done = 0
    for _ in range(250):
        operation = rng.choices(
            ["create", "move", "win", "lose", "reopen", "schedule", "complete"],
            [4, 5, 1, 1, 1, 2, 1],
        )[0]
        open_ones = [o for o in opportunities.values() if o["status"] == "OPEN"]
        closed = [o for o in opportunities.values() if o["status"] != "OPEN"]
        result: dict[str, Any] | None = None
        if operation == "create" or not open_ones:
            owner = rng.choice(owners)
            data = await pipeline.data(admin, f"mutation ($i: CreateOpportunityInput!) "
                                       f"{{ createOpportunity(input: $i) {{ {OPP} }} }}", {"i": {
                "name": "Deal", "amount": str(Decimal(rng.randint(100, 50_000))),
                "currency": rng.choice(["EUR", "USD"]), "ownerId": str(owner), "team": "alpha",
                "expectedCloseDate": f"2026-{rng.randint(1, 12):02d}-15",
            }})
            result = data["createOpportunity"]
        elif operation == "move":
            o = rng.choice(open_ones)
            target = rng.choice([s for s in open_stages if s != o["stageId"]])
            data = await pipeline.data(admin, f"mutation ($id: ID!, $s: ID!, $v: Int!) "
                                       f"{{ moveOpportunity(id: $id, stageId: $s, "
                                       f"expectedVersion: $v) {{ {OPP} }} }}",
                                       {"id": o["id"], "s": target, "v": o["version"]})
            result = data["moveOpportunity"]
        elif operation == "win":
            o = rng.choice(open_ones)
            data = await pipeline.data(admin, f"mutation ($id: ID!) {{ markWon(id: $id) "
                                       f"{{ {OPP} }} }}", {"id": o["id"]})
            result = data["markWon"]
        elif operation == "lose":
            o = rng.choice(open_ones)
            data = await pipeline.data(admin, f"mutation ($id: ID!, $r: ID!) {{ markLost(id: $id,"
                                       f" reasonId: $r, comment: \"too dear\") {{ {OPP} }} }}",
                                       {"id": o["id"], "r": reason_id})
            result = data["markLost"]
        elif operation == "reopen" and closed:
            o = rng.choice(closed)
            data = await pipeline.data(admin, f"mutation ($id: ID!) {{ reopenOpportunity("
                                       f"id: $id) {{ {OPP} }} }}", {"id": o["id"]})
            result = data["reopenOpportunity"]
        elif operation == "schedule":
            o = rng.choice(open_ones)
            due = datetime.now(UTC) + timedelta(days=rng.randint(-2, 9))
            data = await pipeline.data(admin, "mutation ($i: ScheduleActivityInput!) { "
                                       "scheduleActivity(input: $i) { ... on ActivityPayload "
                                       "{ activity { id } } } }", {"i": {
                "opportunityId": o["id"], "kind": rng.choice(["CALL", "MEETING", "TASK"]),
                "dueAt": due.isoformat(), "subject": "follow up"}})
            if "activity" in data["scheduleActivity"]:
                activities.append(data["scheduleActivity"]["activity"]["id"])
        elif operation == "complete" and activities:
            activity = activities.pop(rng.randrange(len(activities)))
            await pipeline.data(admin, "mutation ($id: ID!) { completeActivity(id: $id) "
                                "{ __typename } }", {"id": activity})
        if result is not None and "opportunity" in result:
            opportunities[result["opportunity"]["id"]] = result["opportunity"]
            done += 1
    assert done > 150

    # Wait until reporting has seen every change the pipeline committed.
    async with pipeline.runtime.sessions() as session:
        total_versions = await session.scalar(
            select(func.sum(pt.opportunities.c.version))
            .where(pt.opportunities.c.org_id == org.id)
        )
    deadline = time.monotonic() + 60
    while True:
        async with reporting.runtime.sessions() as session:
            seen = await session.scalar(
                select(func.sum(rt.opportunities.c.version))
                .where(rt.opportunities.c.org_id == org.id)
            )
        if seen == total_versions or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert seen == total_versions

    # The truth, from the pipeline database.
    po = pt.opportunities.c
    async with pipeline.runtime.sessions() as session:
        rows = (await session.execute(
            select(po.stage_id, po.currency, func.count(), func.sum(po.amount))
            .where(po.org_id == org.id)
            .group_by(po.stage_id, po.currency)
        )).all()
        stage_names = dict((await session.execute(
            select(pt.stages.c.id, pt.stages.c.name)
        )).all())
    truth_count: dict[str, int] = {}
    truth_amounts: dict[str, dict[str, Decimal]] = {}
    for stage_id, currency, count, amount in rows:
        name = stage_names[stage_id]
        truth_count[name] = truth_count.get(name, 0) + count
        per = truth_amounts.setdefault(name, {})
        per[currency] = per.get(currency, Decimal(0)) + amount

    async def compare() -> None:
        result = await funnel(reporting, admin, pipelineId=chosen["id"])
        for stage in result["stages"]:
            assert stage["count"] == truth_count.get(stage["name"], 0), stage["name"]
            amounts = {m["currency"]: Decimal(m["amount"])
                       for m in stage["amounts"]["byCurrency"]}
            assert amounts == truth_amounts.get(stage["name"], {}), stage["name"]

    await compare()

    # Once more with every event of the run delivered a second time.
    async with pipeline.runtime.sessions() as session:
        sent = [Envelope.model_validate(row[0]) for row in await session.execute(
            select(pt.outbox.c.envelope).order_by(pt.outbox.c.seq)
        ) if row[0]["org_id"] == str(org.id)]
    skipped_before = sum(c.skipped for c in reporting.runtime.consumers)
    for envelope in sent:
        await put_on_bus(reporting.runtime.broker, envelope, message_id=f"{envelope.id}-again")
    deadline = time.monotonic() + 60
    while sum(c.skipped for c in reporting.runtime.consumers) - skipped_before < len(sent):
        assert time.monotonic() < deadline, "the duplicates were not all delivered"
        await asyncio.sleep(0.05)
    await compare()

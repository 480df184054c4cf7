"""The move's fast path (one conditional statement) against changes made under it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from crmkit.contracts import Envelope
from crmkit.db import driver_connection
from services.pipeline import domain as d
from services.pipeline import events
from services.pipeline.repository import PipelineCache, fast

from .conftest import (
    MOVE,
    SCHEDULE,
    People,
    Service,
    create_opportunity,
    event_types,
    eventually,
    stages,
)

pytestmark = pytest.mark.integration

STAGE_NAMES = """
query { opportunities(first: 10) { edges { node { id stage { name } } } } }
"""


async def _ready_for_qualification(service: Service, token: str) -> str:
    opp = await create_opportunity(service, token)
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    data = await service.data(token, SCHEDULE, {"input": {
        "opportunityId": opp["id"], "kind": "CALL", "dueAt": due, "subject": "Call"}})
    assert data["scheduleActivity"]["__typename"] == "ActivityPayload"
    await service.sql("UPDATE opportunities SET contact_made_at = now() WHERE id = :id",
                      id=uuid.UUID(opp["id"]))
    opp_id: str = opp["id"]
    return opp_id


async def _move(service: Service, token: str, opp_id: str, stage_id: str) -> dict[str, Any]:
    data = await service.data(token, MOVE, {"id": opp_id, "stageId": stage_id, "v": 1})
    result: dict[str, Any] = data["moveOpportunity"]
    return result


async def test_moves_and_reads_follow_a_stage_change(
    pipeline_service: Service, people: People
) -> None:
    s = await stages(pipeline_service, people.admin)
    first = await _ready_for_qualification(pipeline_service, people.rep)
    second = await _ready_for_qualification(pipeline_service, people.rep)
    # The first move caches the pipeline in the service.
    assert (await _move(pipeline_service, people.rep, first, s["Qualification"]))[
        "__typename"] == "OpportunityPayload"
    changed = await pipeline_service.data(people.admin, """
        mutation($id: ID!) { updateStage(stageId: $id, patch: {
          name: "Qualified", requirements: [CONTACT_MADE, NEEDS] }) { __typename } }""",
        {"id": s["Qualification"]})
    assert changed["updateStage"]["__typename"] == "PipelinePayload"
    # The cached copy is stale: the move must be judged by the new requirements.
    refused = await _move(pipeline_service, people.rep, second, s["Qualification"])
    assert refused["__typename"] == "GateNotSatisfied", refused
    assert refused["missing"] == ["NEEDS"] and refused["stageName"] == "Qualified"
    assert await event_types(pipeline_service, second) == ["opportunity.created"]
    listed = await pipeline_service.data(people.rep, STAGE_NAMES)
    names = {e["node"]["id"]: e["node"]["stage"]["name"]
             for e in listed["opportunities"]["edges"]}
    assert names[first] == "Qualified" and names[second] == "Identification"


@pytest.mark.parametrize("change", [
    "UPDATE opportunities SET next_contact_at = NULL WHERE id = :id",
    "UPDATE opportunities SET version = version + 1 WHERE id = :id",
    "UPDATE pipelines SET version = version + 1 WHERE id = (SELECT pipeline_id "
    "FROM opportunities WHERE id = :id)",
])
async def test_a_move_decided_on_what_has_changed_since_writes_nothing(
    pipeline_service: Service, people: People, change: str
) -> None:
    s = await stages(pipeline_service, people.admin)
    opp_id = await _ready_for_qualification(pipeline_service, people.rep)
    async with driver_connection(pipeline_service.runtime.engine) as conn:
        opp = await fast.load_opportunity(conn, people.org.id, uuid.UUID(opp_id))
        assert opp is not None
        pipeline = await PipelineCache().trusted(conn, opp.org_id, opp.pipeline_id)
        assert pipeline is not None
        change_ = d.move(opp, pipeline, uuid.UUID(s["Qualification"]), datetime.now(UTC),
                         people.rep_id)
        opp.version = 2
        event = events.stage_changed(opp, pipeline, change_, people.rep_id)
        # Someone else's change lands between the read and the write.
        await pipeline_service.sql(change, id=uuid.UUID(opp_id))
        assert not await fast.write_move(conn, opp, 1, change_, pipeline, event)
    rows = await pipeline_service.sql(
        "SELECT stage_id, (SELECT count(*) FROM stage_history WHERE opportunity_id = :id) "
        "FROM opportunities WHERE id = :id", id=uuid.UUID(opp_id))
    assert (str(rows[0][0]), rows[0][1]) == (s["Identification"], 0)
    assert await event_types(pipeline_service, opp_id) == ["opportunity.created"]


async def test_a_fast_move_reaches_jetstream_once(
    pipeline_service: Service, people: People
) -> None:
    s = await stages(pipeline_service, people.rep)
    opp_id = await _ready_for_qualification(pipeline_service, people.rep)
    js = pipeline_service.runtime.broker.config.connection_state.stream
    reader = await js.pull_subscribe(
        "crm.pipeline.opportunity.stage_changed",
        stream=pipeline_service.runtime.settings.stream_name,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
    )
    try:
        moved = await _move(pipeline_service, people.rep, opp_id, s["Qualification"])
        assert moved["__typename"] == "OpportunityPayload"

        async def sent() -> bool:
            rows = await pipeline_service.sql(
                "SELECT count(*) FROM outbox WHERE aggregate_id = :id AND sent_at IS NULL",
                id=uuid.UUID(opp_id))
            return bool(rows[0][0] == 0)

        await eventually(sent)
        seen = []
        while True:
            try:
                batch = await reader.fetch(100, timeout=1)
            except TimeoutError:
                break
            for message in batch:
                envelope = Envelope.from_json(message.data)
                if str(envelope.aggregate_id) == opp_id:
                    seen.append(envelope.aggregate_version)
                await message.ack()
        assert seen == [2]
    finally:
        await reader.unsubscribe()

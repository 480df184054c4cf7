"""Opportunity mutations end to end: state in PostgreSQL, events in the outbox, typed errors."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmkit.contracts.pipeline import (
    OpportunityCreated,
    OpportunityLost,
    OpportunityStageChanged,
    OpportunityUpdated,
    OpportunityWon,
)

from .conftest import (
    COMPLETE,
    CREATE,
    LOST,
    MOVE,
    REOPEN,
    SCHEDULE,
    UPDATE,
    WON,
    People,
    Service,
    create_opportunity,
    event_types,
    register_account,
    register_member,
    stages,
)

pytestmark = pytest.mark.integration


async def test_an_opportunity_names_an_account_of_its_org(
    pipeline_service: Service, people: People
) -> None:
    """Issue 13, item 9: an unknown account or another org's was accepted."""
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    await register_account(pipeline_service, people.org.id, ours)
    await register_account(pipeline_service, uuid.uuid4(), theirs)
    for account in (theirs, uuid.uuid4()):
        data = await pipeline_service.data(people.rep, CREATE, {"input": {
            "name": "Deal", "amount": "10", "currency": "EUR", "accountId": str(account)}})
        refused = data["createOpportunity"]
        assert refused["__typename"] == "ValidationError", refused
        assert [f["path"] for f in refused["fields"]] == [["input", "accountId"]]
    opp = await create_opportunity(pipeline_service, people.rep, accountId=str(ours))
    changed = await pipeline_service.data(people.rep, UPDATE, {
        "id": opp["id"], "v": 1, "patch": {"accountId": str(theirs)}})
    assert changed["updateOpportunity"]["__typename"] == "ValidationError"
    rows = await pipeline_service.sql(
        "SELECT account_id FROM opportunities WHERE org_id = :org", org=people.org.id)
    assert [r[0] for r in rows] == [ours]


async def test_a_client_s_deals_are_listed_as_the_caller_sees_them(
    pipeline_service: Service, people: People
) -> None:
    acme, beta, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for account in (acme, beta, other):
        await register_account(pipeline_service, people.org.id, account)
    mine = await create_opportunity(pipeline_service, people.rep, accountId=str(acme))
    second = await create_opportunity(pipeline_service, people.rep, accountId=str(beta))
    peer = await create_opportunity(pipeline_service, people.rep2, accountId=str(acme))
    await create_opportunity(pipeline_service, people.rep, accountId=str(other))
    await create_opportunity(pipeline_service, people.rep)
    query = """query($ids: [ID!]) { opportunities(filter: {accountIds: $ids}) {
      edges { node { id accountId } } } }"""

    async def listed(token: str, *accounts: uuid.UUID) -> list[str]:
        data = await pipeline_service.data(token, query, {"ids": [str(a) for a in accounts]})
        return [e["node"]["id"] for e in data["opportunities"]["edges"]]

    # Newest first, and only what each caller sees (a rep: their own).
    assert await listed(people.admin, acme) == [peer["id"], mine["id"]]
    assert await listed(people.rep, acme) == [mine["id"]]
    assert await listed(people.rep, acme, beta) == [second["id"], mine["id"]]
    assert await listed(people.admin, uuid.uuid4()) == []
    refused = await pipeline_service.call(people.admin, query, {"ids": ["not-an-id"]})
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error


async def test_create_puts_it_in_identification_and_emits_created_once(
    pipeline_service: Service, people: People
) -> None:
    account = uuid.uuid4()
    await register_account(pipeline_service, people.org.id, account)
    opp = await create_opportunity(
        pipeline_service, people.rep, accountId=str(account), expectedCloseDate="2025-09-30"
    )
    assert opp["stage"] == {"id": opp["stageId"], "name": "Identification", "kind": "OPEN"}
    assert (opp["status"], opp["probability"], opp["version"]) == ("OPEN", 10, 1)
    assert opp["ownerId"] == str(people.rep_id) and opp["team"] == "alpha"
    events = await pipeline_service.events(aggregate_id=opp["id"])
    assert [e.type for e in events] == [OpportunityCreated.TYPE]
    created = events[0].parse(OpportunityCreated)
    assert created.owner_id == people.rep_id and created.team == "alpha"
    assert created.account_id == account and str(created.amount) == "1200.50"
    assert created.stage_name == "Identification" and created.status == "open"
    assert events[0].aggregate_version == 1 and events[0].org_id == people.org.id
    assert events[0].actor_id == people.rep_id


async def test_first_use_creates_the_default_pipeline_once(
    pipeline_service: Service, people: People
) -> None:
    await asyncio.gather(*(create_opportunity(pipeline_service, people.rep) for _ in range(5)))
    rows = await pipeline_service.sql(
        "SELECT count(*) FROM pipelines WHERE org_id = :org", org=people.org.id
    )
    assert rows[0][0] == 1
    configured = await pipeline_service.sql(
        "SELECT count(*) FROM outbox WHERE subject = 'crm.pipeline.pipeline.configured' "
        "AND envelope->>'org_id' = :org", org=str(people.org.id)
    )
    assert configured[0][0] == 1


@pytest.mark.parametrize(
    ("input", "paths"),
    [
        ({"amount": "-1"}, {"input.amount"}),
        ({"currency": "XYZ"}, {"input.currency"}),
        ({"name": "   "}, {"input.name"}),
        ({"name": "x" * 201}, {"input.name"}),
        ({"amount": "0.001"}, {"input.amount"}),
        ({"amount": "1e20"}, {"input.amount"}),
        ({"name": "", "amount": "-5", "currency": "eur"},
         {"input.name", "input.amount", "input.currency"}),
        ({"accountId": "not-a-uuid"}, {"input.accountId"}),
        ({"pipelineId": str(uuid.uuid4())}, {"input.pipelineId"}),
    ],
)
async def test_bad_input_gets_a_validation_error_and_writes_nothing(
    pipeline_service: Service, people: People, input: dict[str, Any], paths: set[str]
) -> None:
    from .conftest import CREATE

    values = {"name": "Fleet", "amount": "10", "currency": "EUR", **input}
    data = await pipeline_service.data(people.rep, CREATE, {"input": values})
    result = data["createOpportunity"]
    assert result["__typename"] == "ValidationError"
    assert {".".join(f["path"]) for f in result["fields"]} == paths
    rows = await pipeline_service.sql(
        "SELECT count(*) FROM opportunities WHERE org_id = :org", org=people.org.id
    )
    assert rows[0][0] == 0


async def test_malformed_scalars_are_graphql_errors_not_500s(
    pipeline_service: Service, people: People
) -> None:
    from .conftest import CREATE

    response = await pipeline_service.post(
        people.rep, CREATE, {"input": {"name": "x", "amount": "lots", "currency": "EUR"}}
    )
    assert response.status_code == 200 and response.json()["errors"]
    response = await pipeline_service.post(people.rep, "{ opportunity(id: \"nope\") { id } }")
    assert response.status_code == 200
    assert "not a valid id" in response.json()["errors"][0]["message"]


async def test_update_changes_fields_and_emits_updated_with_the_changed_names(
    pipeline_service: Service, people: People
) -> None:
    opp = await create_opportunity(pipeline_service, people.rep)
    data = await pipeline_service.data(people.rep, UPDATE, {
        "id": opp["id"], "v": 1,
        "patch": {"name": "Fleet renewal 2026", "needs": "40 vans", "budgetAmount": "50000",
                  "decisionMakers": "CFO"},
    })
    updated = data["updateOpportunity"]["opportunity"]
    assert updated["version"] == 2 and updated["name"] == "Fleet renewal 2026"
    assert updated["qualification"]["budget"] == {"amount": "50000.00", "currency": "EUR"}
    events = await pipeline_service.events(aggregate_id=opp["id"])
    assert [e.type for e in events] == [OpportunityCreated.TYPE, OpportunityUpdated.TYPE]
    payload = events[1].parse(OpportunityUpdated)
    assert set(payload.changed) == {"name", "needs", "budget_amount", "budget_currency",
                                    "decision_makers"}
    assert events[1].aggregate_version == 2
    # An edit that changes nothing writes nothing.
    data = await pipeline_service.data(people.rep, UPDATE, {
        "id": opp["id"], "v": 2, "patch": {"name": "Fleet renewal 2026"}})
    assert data["updateOpportunity"]["opportunity"]["version"] == 2
    assert len(await pipeline_service.events(aggregate_id=opp["id"])) == 2
    # Clearing.
    data = await pipeline_service.data(people.rep, UPDATE, {
        "id": opp["id"], "v": 2, "patch": {"clear": ["needs", "budget"]}})
    qualification = data["updateOpportunity"]["opportunity"]["qualification"]
    assert qualification["needs"] is None and qualification["budget"] is None


async def test_update_with_a_stale_version_is_a_conflict(
    pipeline_service: Service, people: People
) -> None:
    opp = await create_opportunity(pipeline_service, people.rep)
    await pipeline_service.data(people.rep, UPDATE, {"id": opp["id"], "v": 1,
                                                    "patch": {"name": "A"}})
    data = await pipeline_service.data(people.rep, UPDATE, {"id": opp["id"], "v": 1,
                                                           "patch": {"name": "B"}})
    assert data["updateOpportunity"]["__typename"] == "VersionConflict"
    assert data["updateOpportunity"]["currentVersion"] == 2


async def test_update_validation(pipeline_service: Service, people: People) -> None:
    opp = await create_opportunity(pipeline_service, people.rep)
    data = await pipeline_service.data(people.rep, UPDATE, {
        "id": opp["id"], "v": 1,
        "patch": {"amount": "-3", "currency": "ABC", "probability": 120, "clear": ["name"]}})
    result = data["updateOpportunity"]
    assert result["__typename"] == "ValidationError"
    assert {".".join(f["path"]) for f in result["fields"]} == {"patch.clear.0"}
    data = await pipeline_service.data(people.rep, UPDATE, {
        "id": opp["id"], "v": 1, "patch": {"amount": "-3", "currency": "ABC",
                                           "probability": 120}})
    assert {".".join(f["path"]) for f in data["updateOpportunity"]["fields"]} == {
        "patch.amount", "patch.currency", "patch.probability"}


async def _schedule(service: Service, token: str, opp_id: str, kind: str = "CALL",
                    due: datetime | None = None) -> dict[str, Any]:
    due = due or datetime.now(UTC) + timedelta(days=1)
    data = await service.data(token, SCHEDULE, {"input": {
        "opportunityId": opp_id, "kind": kind, "dueAt": due.isoformat(), "subject": "Call"}})
    result: dict[str, Any] = data["scheduleActivity"]
    assert result["__typename"] == "ActivityPayload", result
    activity: dict[str, Any] = result["activity"]
    return activity


async def test_gate_matrix(pipeline_service: Service, people: People) -> None:
    """Every gate of the default process refuses with the full list, then opens once its
    requirements are met through the API and events."""
    s = await stages(pipeline_service, people.rep)
    opp = await create_opportunity(pipeline_service, people.rep)
    opp_id = opp["id"]

    async def move(stage: str, version: int) -> dict[str, Any]:
        data = await pipeline_service.data(people.rep, MOVE, {
            "id": opp_id, "stageId": s[stage], "v": version})
        result: dict[str, Any] = data["moveOpportunity"]
        return result

    # Every open stage from Identification: each refuses with all the requirements of every
    # stage on the way (a forward move passes each gate, issue 13).
    expected = {
        "Qualification": ["CONTACT_MADE", "NEXT_CONTACT_SCHEDULED"],
        "Offer": ["CONTACT_MADE", "NEXT_CONTACT_SCHEDULED", "NEEDS", "BUDGET"],
        "Negotiation": ["CONTACT_MADE", "NEXT_CONTACT_SCHEDULED", "NEEDS", "BUDGET",
                        "OFFER_ISSUED"],
    }
    for stage, missing in expected.items():
        refused = await move(stage, 1)
        assert refused["__typename"] == "GateNotSatisfied", refused
        assert refused["missing"] == missing and refused["stageName"] == stage
    # Nothing changed and nothing was emitted.
    assert await event_types(pipeline_service, opp_id) == ["opportunity.created"]

    # A scheduled call meets next_contact_scheduled only.
    call = await _schedule(pipeline_service, people.rep, opp_id)
    assert (await move("Qualification", 1))["missing"] == ["CONTACT_MADE"]
    # Completing it is a contact, but then nothing is scheduled any more.
    await pipeline_service.data(people.rep, COMPLETE, {"id": call["id"], "outcome": "Keen"})
    assert (await move("Qualification", 1))["missing"] == ["NEXT_CONTACT_SCHEDULED"]
    await _schedule(pipeline_service, people.rep, opp_id, kind="MEETING")
    moved = await move("Qualification", 1)
    assert moved["__typename"] == "OpportunityPayload"
    assert moved["opportunity"]["version"] == 2 and moved["opportunity"]["probability"] == 25

    assert (await move("Offer", 2))["missing"] == ["NEEDS", "BUDGET"]
    await pipeline_service.data(people.rep, UPDATE, {"id": opp_id, "v": 2,
                                                    "patch": {"needs": "vans"}})
    assert (await move("Offer", 3))["missing"] == ["BUDGET"]
    await pipeline_service.data(people.rep, UPDATE, {"id": opp_id, "v": 3,
                                                    "patch": {"budgetAmount": "9000"}})
    assert (await move("Offer", 4))["__typename"] == "OpportunityPayload"
    assert (await move("Negotiation", 5))["missing"] == ["OFFER_ISSUED"]
    # Backwards is free (no gate is checked).
    assert (await move("Identification", 5))["__typename"] == "OpportunityPayload"


async def test_move_records_history_and_emits_stage_changed_once(
    pipeline_service: Service, people: People
) -> None:
    s = await stages(pipeline_service, people.admin)
    admin_stage = await pipeline_service.data(people.admin, """
        mutation($id: ID!) { updateStage(stageId: $id, patch: {requirements: []}) {
          __typename } }""", {"id": s["Qualification"]})
    assert admin_stage["updateStage"]["__typename"] == "PipelinePayload"
    opp = await create_opportunity(pipeline_service, people.rep)
    await pipeline_service.sql(
        "UPDATE opportunities SET stage_entered_at = now() - interval '2 hours' WHERE id = :id",
        id=uuid.UUID(opp["id"]))
    data = await pipeline_service.data(people.rep, MOVE, {
        "id": opp["id"], "stageId": s["Qualification"], "v": 1})
    assert data["moveOpportunity"]["opportunity"]["stage"]["name"] == "Qualification"
    events = await pipeline_service.events(aggregate_id=opp["id"])
    assert [e.type for e in events] == [OpportunityCreated.TYPE, OpportunityStageChanged.TYPE]
    change = events[1].parse(OpportunityStageChanged)
    assert (change.from_stage_id, change.to_stage_id) == (
        uuid.UUID(s["Identification"]), uuid.UUID(s["Qualification"]))
    assert change.from_stage_name == "Identification" and change.to_stage_name == "Qualification"
    assert 7190 <= change.seconds_in_previous_stage <= 7300
    assert events[1].aggregate_version == 2 and change.probability == 25
    history = await pipeline_service.data(people.rep, """
        query($id: ID!) { opportunity(id: $id) { history {
          fromStageId toStageId secondsInPreviousStage changedBy { id } } } }""",
        {"id": opp["id"]})
    (entry,) = history["opportunity"]["history"]
    assert entry["toStageId"] == s["Qualification"]
    assert entry["changedBy"] == {"id": str(people.rep_id)}
    assert entry["secondsInPreviousStage"] == change.seconds_in_previous_stage


async def test_move_validation(pipeline_service: Service, people: People) -> None:
    s = await stages(pipeline_service, people.rep)
    opp = await create_opportunity(pipeline_service, people.rep)
    for stage_id, path in [(str(uuid.uuid4()), "stageId"), ("junk", "stageId"),
                           (s["Won"], "stageId"), (s["Identification"], "stageId")]:
        data = await pipeline_service.data(people.rep, MOVE, {
            "id": opp["id"], "stageId": stage_id, "v": 1})
        result = data["moveOpportunity"]
        assert result["__typename"] == "ValidationError", result
        assert result["fields"][0]["path"] == [path]
    missing = await pipeline_service.data(people.rep, MOVE, {
        "id": str(uuid.uuid4()), "stageId": s["Offer"], "v": 1})
    assert missing["moveOpportunity"]["__typename"] == "NotFound"


async def test_two_concurrent_moves_with_the_same_version_exactly_one_wins(
    pipeline_service: Service, people: People
) -> None:
    s = await stages(pipeline_service, people.rep)
    for _ in range(5):
        opp = await create_opportunity(pipeline_service, people.rep)
        await _schedule(pipeline_service, people.rep, opp["id"])
        await pipeline_service.sql(
            "UPDATE opportunities SET contact_made_at = now(), needs = 'x', budget_amount = 1 "
            "WHERE id = :id", id=uuid.UUID(opp["id"]))
        results = await asyncio.gather(*(
            pipeline_service.data(people.rep, MOVE, {"id": opp["id"], "stageId": s[name],
                                                    "v": 1})
            for name in ("Qualification", "Offer")
        ))
        kinds = sorted(r["moveOpportunity"]["__typename"] for r in results)
        assert kinds == ["OpportunityPayload", "VersionConflict"]
        conflict = next(r["moveOpportunity"] for r in results
                        if r["moveOpportunity"]["__typename"] == "VersionConflict")
        assert conflict["currentVersion"] == 2
        assert await event_types(pipeline_service, opp["id"]) == [
            "opportunity.created", "opportunity.stage_changed"]
        rows = await pipeline_service.sql(
            "SELECT count(*) FROM stage_history WHERE opportunity_id = :id",
            id=uuid.UUID(opp["id"]))
        assert rows[0][0] == 1


async def test_won_lost_reopen(pipeline_service: Service, people: People) -> None:
    s = await stages(pipeline_service, people.rep)
    opp = await create_opportunity(pipeline_service, people.rep)
    refused = (await pipeline_service.data(people.rep, WON, {"id": opp["id"]}))["markWon"]
    assert refused["__typename"] == "GateNotSatisfied" and refused["missing"] == ["CLOSE_COMMENT"]
    stale = (await pipeline_service.data(people.rep, WON, {"id": opp["id"], "comment": "ok",
                                                          "v": 7}))["markWon"]
    assert stale["__typename"] == "VersionConflict"
    won = (await pipeline_service.data(people.rep, WON, {
        "id": opp["id"], "comment": "Signed 3 years"}))["markWon"]["opportunity"]
    assert (won["status"], won["stage"]["name"], won["probability"]) == ("WON", "Won", 100)
    assert won["closeComment"] == "Signed 3 years" and won["version"] == 2
    events = await pipeline_service.events(aggregate_id=opp["id"])
    assert [e.type for e in events] == [
        OpportunityCreated.TYPE, OpportunityStageChanged.TYPE, OpportunityWon.TYPE]
    assert events[2].parse(OpportunityWon).comment == "Signed 3 years"
    assert {e.aggregate_version for e in events[1:]} == {2}

    # A rep may not reopen; their manager may.
    forbidden = (await pipeline_service.data(people.rep, REOPEN, {"id": opp["id"]}))
    assert forbidden["reopenOpportunity"]["__typename"] == "Forbidden"
    reopened = (await pipeline_service.data(people.manager, REOPEN, {"id": opp["id"]}))
    back = reopened["reopenOpportunity"]["opportunity"]
    assert (back["status"], back["stageId"], back["version"]) == ("OPEN", s["Identification"], 3)
    assert back["closeComment"] is None
    assert (await event_types(pipeline_service, opp["id"]))[-2:] == [
        "opportunity.stage_changed", "opportunity.reopened"]

    reasons = await pipeline_service.data(people.rep, "{ lostReasons { id label code } }")
    price = next(r for r in reasons["lostReasons"] if r["code"] == "price")
    refused = (await pipeline_service.data(people.rep, LOST, {"id": opp["id"]}))["markLost"]
    assert refused["__typename"] == "GateNotSatisfied" and refused["missing"] == ["CLOSE_REASON"]
    unknown = (await pipeline_service.data(people.rep, LOST, {
        "id": opp["id"], "reasonId": str(uuid.uuid4())}))["markLost"]
    assert unknown["__typename"] == "ValidationError"
    lost = (await pipeline_service.data(people.rep, LOST, {
        "id": opp["id"], "reasonId": price["id"], "comment": "Too dear"}))["markLost"]
    assert lost["opportunity"]["status"] == "LOST" and lost["opportunity"]["probability"] == 0
    event = (await pipeline_service.events(aggregate_id=opp["id"]))[-1]
    payload = event.parse(OpportunityLost)
    assert (payload.close_reason_label, payload.comment) == ("Price", "Too dear")
    assert payload.close_reason_id == uuid.UUID(price["id"])
    again = (await pipeline_service.data(people.rep, WON, {"id": opp["id"], "comment": "x"}))
    assert again["markWon"]["__typename"] == "ValidationError"
    moved = await pipeline_service.data(people.rep, MOVE, {
        "id": opp["id"], "stageId": s["Identification"], "v": 4})
    assert moved["moveOpportunity"]["__typename"] == "ValidationError"
    types = await event_types(pipeline_service, opp["id"])
    assert types.count("opportunity.lost") == 1 and types.count("opportunity.won") == 1


RESCHEDULE_CALL = """mutation($id: ID!, $dueAt: DateTime!) { rescheduleActivity(id: $id,
  dueAt: $dueAt) { __typename } }"""
REASSIGN = """mutation($id: ID!, $v: Int!, $owner: ID!) {
  reassignOpportunity(id: $id, expectedVersion: $v, ownerId: $owner) { __typename
    ... on OpportunityPayload { opportunity { ownerId version } }
    ... on VersionConflict { currentVersion } } }"""


async def test_a_deal_handed_over_while_its_calls_are_rescheduled_loses_nothing(
    pipeline_service: Service, people: People
) -> None:
    """Handing a deal over locks its open calls, then the deal: the order rescheduling a call
    takes (the call, then its deal's next contact). The other order deadlocked with them,
    which PostgreSQL answers by failing one side (a retryable error for the member). A call
    the owner schedules meanwhile goes with the deal too, or is refused: the deal is no
    longer theirs."""
    for member_id in (people.rep_id, people.rep2_id):
        await register_member(pipeline_service, people.org.id, member_id, "alpha")
    opp = await create_opportunity(pipeline_service, people.rep)
    due = datetime(2031, 1, 1, 9, tzinfo=UTC)
    calls = []
    for n in range(6):
        data = await pipeline_service.data(people.rep, SCHEDULE, {"input": {
            "opportunityId": opp["id"], "kind": "CALL", "subject": f"Call {n}",
            "dueAt": (due + timedelta(hours=n)).isoformat()}})
        calls.append(data["scheduleActivity"]["activity"]["id"])
    version, owners = 1, [people.rep2_id, people.rep_id]
    holders = [people.rep, people.rep2]
    for round_ in range(6):
        moves = [pipeline_service.call(people.manager, RESCHEDULE_CALL, {
            "id": call, "dueAt": (due + timedelta(days=round_ + 1, hours=n)).isoformat()})
            for n, call in enumerate(calls)]
        scheduled = pipeline_service.call(holders[round_ % 2], SCHEDULE, {"input": {
            "opportunityId": opp["id"], "kind": "CALL", "subject": f"New call {round_}",
            "dueAt": (due + timedelta(days=30 + round_)).isoformat()}})
        handed, new_call, *rescheduled = await asyncio.gather(
            pipeline_service.call(people.manager, REASSIGN, {
                "id": opp["id"], "v": version, "owner": str(owners[round_ % 2])}),
            scheduled, *moves)
        for answer in (handed, new_call, *rescheduled):
            assert not answer.get("errors"), answer["errors"]  # no deadlock, no retry asked
        assert new_call["data"]["scheduleActivity"]["__typename"] in (
            "ActivityPayload", "NotFound")
        result = handed["data"]["reassignOpportunity"]
        assert result["__typename"] == "OpportunityPayload", result
        version = result["opportunity"]["version"]
        rows = await pipeline_service.sql(
            "SELECT DISTINCT owner_id FROM activities WHERE opportunity_id = :id"
            " AND status = 'open'",
            id=uuid.UUID(opp["id"]))
        assert [r[0] for r in rows] == [owners[round_ % 2]]  # every call went with the deal

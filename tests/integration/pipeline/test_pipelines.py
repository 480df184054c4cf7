"""Admin configuration of pipelines, stages and lost reasons; locale of the defaults."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crmkit.contracts.pipeline import PipelineConfigured

from .conftest import MOVE, PIPELINES, People, Service, create_opportunity, stages

pytestmark = pytest.mark.integration

PIPELINE_RESULT = """
  __typename
  ... on PipelinePayload { pipeline { id version stages { id name position probability kind
                                                          rottingDays requirements } } }
  ... on ValidationError { message fields { path message } }
  ... on NotFound { message }
"""


async def configure(service: Service, token: str, call: str, **variables: Any) -> dict[str, Any]:
    data = await service.data(token, "mutation({}) {{ result: {} {{ {} }} }}".format(
        ", ".join(f"${k}: {v[0]}" for k, v in variables.items()), call, PIPELINE_RESULT),
        {k: v[1] for k, v in variables.items()})
    result: dict[str, Any] = data["result"]
    return result


async def test_polish_locale_names_the_default_stages_and_reasons(
    pipeline_service: Service, people: People
) -> None:
    data = await pipeline_service.data(people.admin, """
        mutation { setOrganizationLocale(locale: PL) {
          __typename ... on OrganizationSettingsPayload { settings { locale } } } }""")
    assert data["setOrganizationLocale"]["settings"] == {"locale": "PL"}
    (announced,) = await pipeline_service.events(
        org_id=people.org.id, type="crm.pipeline.organization.settings_changed")
    assert (announced.payload, announced.aggregate_id, announced.actor_id) == (
        {"locale": "pl"}, people.org.id, people.admin_id)
    assert list(await stages(pipeline_service, people.rep)) == [
        "Identyfikacja", "Kwalifikacja", "Oferta", "Negocjacje", "Wygrana", "Przegrana"]
    reasons = await pipeline_service.data(people.rep, "{ lostReasons { label } }")
    assert [r["label"] for r in reasons["lostReasons"]][:3] == ["Cena", "Konkurencja",
                                                                "Brak budżetu"]


async def test_default_pipeline_in_english_with_its_gates(
    pipeline_service: Service, people: People
) -> None:
    data = await pipeline_service.data(people.rep, PIPELINES)
    (pipeline,) = data["pipelines"]
    assert pipeline["isDefault"] and pipeline["name"] == "Sales"
    assert [(s["name"], s["kind"], s["probability"], s["requirements"])
            for s in pipeline["stages"]] == [
        ("Identification", "OPEN", 10, []),
        ("Qualification", "OPEN", 25, ["CONTACT_MADE", "NEXT_CONTACT_SCHEDULED"]),
        ("Offer", "OPEN", 50, ["NEEDS", "BUDGET"]),
        ("Negotiation", "OPEN", 75, ["OFFER_ISSUED"]),
        ("Won", "WON", 100, ["CLOSE_COMMENT"]),
        ("Lost", "LOST", 0, ["CLOSE_REASON"]),
    ]
    (event,) = await pipeline_service.events(aggregate_id=pipeline["id"])
    configured = event.parse(PipelineConfigured)
    assert next(s.name for s in configured.stages) == "Identification"
    assert configured.stages[1].requirements == ["contact_made", "next_contact_scheduled"]
    reasons = await pipeline_service.data(people.rep, "{ lostReasons { code } }")
    assert [r["code"] for r in reasons["lostReasons"]] == [
        "price", "competitor", "no_budget", "no_decision", "no_contact", "timing", "other"]


async def test_add_rename_reorder_and_remove_stages(
    pipeline_service: Service, people: People
) -> None:
    s = await stages(pipeline_service, people.admin)
    pipeline_id = (await pipeline_service.data(people.admin, PIPELINES))["pipelines"][0]["id"]
    added = await configure(
        pipeline_service, people.admin,
        "addStage(pipelineId: $p, input: $input, position: 2)",
        p=("ID!", pipeline_id),
        input=("StageInput!", {"name": "Demo", "probability": 40, "rottingDays": 14,
                               "requirements": ["PAIN_POINTS", "DECISION_MAKER"]}),
    )
    demo = added["pipeline"]["stages"][2]
    assert (demo["name"], demo["position"], demo["rottingDays"]) == ("Demo", 2, 14)
    assert added["pipeline"]["version"] == 2

    renamed = await configure(
        pipeline_service, people.admin, "updateStage(stageId: $id, patch: $patch)",
        id=("ID!", s["Offer"]),
        patch=("StagePatchInput!", {"name": "Proposal", "probability": 60}),
    )
    assert [st["name"] for st in renamed["pipeline"]["stages"]][3] == "Proposal"

    order = [st["id"] for st in renamed["pipeline"]["stages"]]
    order[1], order[2] = order[2], order[1]
    reordered = await configure(
        pipeline_service, people.admin, "reorderStages(pipelineId: $p, stageIds: $ids)",
        p=("ID!", pipeline_id), ids=("[ID!]!", order))
    assert [st["id"] for st in reordered["pipeline"]["stages"]] == order

    # Removing a stage that holds opportunities needs a target; they move with history.
    opp = await create_opportunity(pipeline_service, people.rep)
    refused = await configure(pipeline_service, people.admin, "removeStage(stageId: $id)",
                              id=("ID!", s["Identification"]))
    assert refused["__typename"] == "ValidationError"
    assert refused["fields"][0]["path"] == ["moveOpportunitiesTo"]
    removed = await configure(
        pipeline_service, people.admin, "removeStage(stageId: $id, moveOpportunitiesTo: $to)",
        id=("ID!", s["Identification"]), to=("ID!", demo["id"]))
    assert removed["__typename"] == "PipelinePayload"
    assert s["Identification"] not in [st["id"] for st in removed["pipeline"]["stages"]]
    assert [st["position"] for st in removed["pipeline"]["stages"]] == list(range(6))
    got = await pipeline_service.data(people.rep, """query($id: ID!) { opportunity(id: $id) {
        stageId version history { fromStageId toStageId } } }""", {"id": opp["id"]})
    assert got["opportunity"]["stageId"] == demo["id"] and got["opportunity"]["version"] == 2
    assert got["opportunity"]["history"] == [
        {"fromStageId": s["Identification"], "toStageId": demo["id"]}]

    events = await pipeline_service.events(aggregate_id=pipeline_id)
    assert len(events) == 5 and {e.type for e in events} == {PipelineConfigured.TYPE}
    last = events[-1].parse(PipelineConfigured)
    assert last.removed_stage_ids == [uuid.UUID(s["Identification"])]
    assert last.moved_opportunities_to == {
        uuid.UUID(s["Identification"]): uuid.UUID(demo["id"])}
    assert [e.aggregate_version for e in events] == [1, 2, 3, 4, 5]
    # A new opportunity now starts in the new first open stage.
    newer = await create_opportunity(pipeline_service, people.rep)
    assert newer["stage"]["name"] == "Demo"


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"probability": 101}, "patch.probability"),
        ({"rottingDays": 0}, "patch.rottingDays"),
        ({"name": ""}, "patch.name"),
        ({"name": "qualification"}, "name"),
        ({"kind": "WON"}, "stages"),
    ],
)
async def test_stage_validation(
    pipeline_service: Service, people: People, patch: dict[str, Any], path: str
) -> None:
    s = await stages(pipeline_service, people.admin)
    result = await configure(pipeline_service, people.admin,
                             "updateStage(stageId: $id, patch: $patch)",
                             id=("ID!", s["Offer"]), patch=("StagePatchInput!", patch))
    assert result["__typename"] == "ValidationError", result
    assert ".".join(result["fields"][0]["path"]) == path
    assert list(await stages(pipeline_service, people.admin))[2] == "Offer"


async def test_second_pipeline_and_moves_stay_within_a_pipeline(
    pipeline_service: Service, people: People
) -> None:
    created = await pipeline_service.data(people.admin, """mutation { createPipeline(
        name: "Renewals") { __typename ... on PipelinePayload { pipeline { id isDefault
        stages { id name } } } } }""")
    second = created["createPipeline"]["pipeline"]
    assert second["isDefault"] is False and len(second["stages"]) == 6
    opp = await create_opportunity(pipeline_service, people.rep, pipelineId=second["id"])
    assert opp["pipelineId"] == second["id"]
    default = await stages(pipeline_service, people.rep)
    moved = await pipeline_service.data(people.rep, MOVE, {
        "id": opp["id"], "stageId": default["Qualification"], "v": 1})
    assert moved["moveOpportunity"]["__typename"] == "ValidationError"


async def test_lost_reason_catalogue(pipeline_service: Service, people: People) -> None:
    added = await pipeline_service.data(people.admin, """mutation { addLostReason(
        label: "Weather") { __typename ... on LostReasonPayload { lostReason { id label } } } }""")
    reason = added["addLostReason"]["lostReason"]
    duplicate = await pipeline_service.data(people.admin, """mutation { addLostReason(
        label: "weather") { __typename } }""")
    assert duplicate["addLostReason"]["__typename"] == "ValidationError"
    retired = await pipeline_service.data(people.admin, """mutation($id: ID!) {
        updateLostReason(id: $id, active: false) { __typename } }""", {"id": reason["id"]})
    assert retired["updateLostReason"]["__typename"] == "LostReasonPayload"
    active = await pipeline_service.data(people.rep, "{ lostReasons { label } }")
    assert "Weather" not in [r["label"] for r in active["lostReasons"]]
    every = await pipeline_service.data(people.admin, "{ lostReasons(includeInactive: true) "
                                       "{ label active } }")
    assert {"label": "Weather", "active": False} in every["lostReasons"]
    opp = await create_opportunity(pipeline_service, people.rep)
    lost = await pipeline_service.data(people.rep, """mutation($id: ID!, $r: ID!) {
        markLost(id: $id, reasonId: $r) { __typename } }""",
        {"id": opp["id"], "r": reason["id"]})
    assert lost["markLost"]["__typename"] == "ValidationError"

"""Who sees and changes what: rep own, manager team, admin org, nobody another org."""

from __future__ import annotations

import uuid

import pytest

from .conftest import (
    MOVE,
    PIPELINES,
    SCHEDULE,
    UPDATE,
    People,
    Service,
    create_opportunity,
    event_types,
    stages,
)

pytestmark = pytest.mark.integration

GET = "query($id: ID!) { opportunity(id: $id) { id } }"
LIST = "{ opportunities(first: 200) { edges { node { id } } } }"


async def test_access_matrix(
    pipeline_service: Service, people: People, outsiders: People
) -> None:
    rep_opp = await create_opportunity(pipeline_service, people.rep, name="Rep's")
    beta_opp = await create_opportunity(pipeline_service, people.beta_rep, name="Beta's")
    foreign = await create_opportunity(pipeline_service, outsiders.admin, name="Foreign")

    # (token, sees rep_opp, sees beta_opp)
    matrix = {
        "rep (owner)": (people.rep, True, False),
        "rep2 (same team)": (people.rep2, False, False),
        "manager alpha": (people.manager, True, False),
        "manager beta": (people.beta_manager, False, True),
        "beta rep (owner)": (people.beta_rep, False, True),
        "admin": (people.admin, True, True),
        "other org admin": (outsiders.admin, False, False),
    }
    changed = False
    for who, (token, sees_rep, sees_beta) in matrix.items():
        got = await pipeline_service.data(token, GET, {"id": rep_opp["id"]})
        assert (got["opportunity"] is not None) == sees_rep, who
        got = await pipeline_service.data(token, GET, {"id": beta_opp["id"]})
        assert (got["opportunity"] is not None) == sees_beta, who
        listed = {e["node"]["id"] for e in
                  (await pipeline_service.data(token, LIST))["opportunities"]["edges"]}
        assert (rep_opp["id"] in listed) == sees_rep, who
        assert (beta_opp["id"] in listed) == sees_beta, who
        assert foreign["id"] not in listed or token == outsiders.admin, who
        # Changing follows seeing: a hidden opportunity is answered as missing.
        data = await pipeline_service.data(token, UPDATE, {
            "id": rep_opp["id"], "v": 1, "patch": {"lessonsLearned": who}})
        result = data["updateOpportunity"]
        if sees_rep:
            # The first who may change it does; the others still send version 1.
            expected = "VersionConflict" if changed else "OpportunityPayload"
            assert result["__typename"] == expected, who
            changed = True
        else:
            assert result["__typename"] == "NotFound", who
    # Exactly the three who may change it did (each a version later), nobody else.
    events = await event_types(pipeline_service, rep_opp["id"])
    assert events.count("opportunity.updated") == 1  # the later ones conflicted on v1
    hidden = await pipeline_service.data(outsiders.admin, GET, {"id": foreign["id"]})
    assert hidden["opportunity"] is not None


async def test_other_org_cannot_touch_anything(
    pipeline_service: Service, people: People, outsiders: People
) -> None:
    s = await stages(pipeline_service, people.rep)
    opp = await create_opportunity(pipeline_service, people.rep)
    for token, refusal in ((outsiders.admin, "NotFound"), (outsiders.manager, "Forbidden"),
                           (outsiders.rep, "Forbidden")):
        moved = await pipeline_service.data(token, MOVE, {
            "id": opp["id"], "stageId": s["Qualification"], "v": 1})
        assert moved["moveOpportunity"]["__typename"] == "NotFound"
        scheduled = await pipeline_service.data(token, SCHEDULE, {"input": {
            "opportunityId": opp["id"], "kind": "CALL", "dueAt": "2030-01-01T10:00:00Z",
            "subject": "x"}})
        assert scheduled["scheduleActivity"]["__typename"] == "NotFound"
        # Another org's stage id is unknown in this org.
        other = await stages(pipeline_service, token)
        assert set(other.values()).isdisjoint(s.values())
        config = await pipeline_service.data(token, """
            mutation($id: ID!) { updateStage(stageId: $id, patch: {name: "Hacked"}) {
              __typename } }""", {"id": s["Offer"]})
        # Only admins configure stages; an admin of another org does not find this one.
        assert config["updateStage"]["__typename"] == refusal
    assert await event_types(pipeline_service, opp["id"]) == ["opportunity.created"]
    names = {st["name"] for p in (await pipeline_service.data(people.admin, PIPELINES))[
        "pipelines"] for st in p["stages"]}
    assert "Hacked" not in names


async def test_creating_for_someone_else(pipeline_service: Service, people: People) -> None:
    from .conftest import CREATE

    async def create(token: str, **extra: str) -> dict[str, object]:
        data = await pipeline_service.data(token, CREATE, {"input": {
            "name": "x", "amount": "1", "currency": "PLN", **extra}})
        result: dict[str, object] = data["createOpportunity"]
        return result

    someone = str(uuid.uuid4())
    assert (await create(people.rep, ownerId=someone))["__typename"] == "Forbidden"
    by_manager = await create(people.manager, ownerId=someone)
    assert by_manager["opportunity"]["ownerId"] == someone  # type: ignore[index]
    assert by_manager["opportunity"]["team"] == "alpha"  # type: ignore[index]
    assert (await create(people.manager, ownerId=someone, team="beta"))[
        "__typename"] == "Forbidden"
    by_admin = await create(people.admin, ownerId=someone, team="beta")
    assert by_admin["opportunity"]["team"] == "beta"  # type: ignore[index]


async def test_stage_configuration_is_admin_only(
    pipeline_service: Service, people: People
) -> None:
    s = await stages(pipeline_service, people.admin)
    pipeline_id = (await pipeline_service.data(people.admin, PIPELINES))["pipelines"][0]["id"]
    mutations = [
        ("updateStage", 'updateStage(stageId: "{}", patch: {{name: "X"}})'.format(s["Offer"])),
        ("addStage", f'addStage(pipelineId: "{pipeline_id}", input: {{name: "Demo"}})'),
        ("removeStage", 'removeStage(stageId: "{}")'.format(s["Offer"])),
        ("reorderStages", f'reorderStages(pipelineId: "{pipeline_id}", stageIds: [])'),
        ("createPipeline", 'createPipeline(name: "Second")'),
        ("addLostReason", 'addLostReason(label: "Weather")'),
        ("setOrganizationLocale", "setOrganizationLocale(locale: PL)"),
    ]
    for token in (people.rep, people.manager):
        for name, call in mutations:
            data = await pipeline_service.data(token, f"mutation {{ {call} {{ __typename }} }}")
            assert data[name]["__typename"] == "Forbidden", (name, token)
    rows = await pipeline_service.sql(
        "SELECT count(*) FROM outbox WHERE subject = 'crm.pipeline.pipeline.configured' "
        "AND envelope->>'org_id' = :org", org=str(people.org.id))
    assert rows[0][0] == 1  # only the default pipeline's creation

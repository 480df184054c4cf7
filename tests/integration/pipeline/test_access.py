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
    from .conftest import CREATE, register_member

    async def create(token: str, **extra: str) -> dict[str, object]:
        data = await pipeline_service.data(token, CREATE, {"input": {
            "name": "x", "amount": "1", "currency": "PLN", **extra}})
        result: dict[str, object] = data["createOpportunity"]
        return result

    org = people.org.id
    teammate, beta_member, stranger = (str(uuid.uuid4()) for _ in range(3))
    await register_member(pipeline_service, org, uuid.UUID(teammate), "alpha")
    await register_member(pipeline_service, org, uuid.UUID(beta_member), "beta")
    await register_member(pipeline_service, uuid.uuid4(), uuid.UUID(stranger), "alpha")

    assert (await create(people.rep, ownerId=teammate))["__typename"] == "Forbidden"
    by_manager = await create(people.manager, ownerId=teammate)
    assert by_manager["opportunity"]["ownerId"] == teammate  # type: ignore[index]
    assert by_manager["opportunity"]["team"] == "alpha"  # type: ignore[index]
    assert (await create(people.manager, ownerId=teammate, team="beta"))[
        "__typename"] == "Forbidden"
    by_admin = await create(people.admin, ownerId=beta_member)
    assert by_admin["opportunity"]["team"] == "beta"  # type: ignore[index]

    # Issue 13, item 9: an owner is a member of the org the caller may assign.
    for who, owner in [(people.manager, beta_member), (people.manager, stranger),
                       (people.manager, str(uuid.uuid4())), (people.admin, stranger),
                       (people.admin, str(uuid.uuid4()))]:
        refused = await create(who, ownerId=owner)
        assert refused["__typename"] == "ValidationError", refused
        assert refused["fields"] == [{"path": ["input", "ownerId"],  # type: ignore[index]
                                      "message": refused["fields"][0]["message"]}]  # type: ignore[index]
    owners = await pipeline_service.sql(
        "SELECT DISTINCT owner_id FROM opportunities WHERE org_id = :org", org=org)
    assert {str(r[0]) for r in owners} == {teammate, beta_member}


async def test_scheduling_for_someone_else(pipeline_service: Service, people: People) -> None:
    from .conftest import SCHEDULE, create_opportunity, register_member

    opp = await create_opportunity(pipeline_service, people.rep)
    teammate, beta_member = uuid.uuid4(), uuid.uuid4()
    await register_member(pipeline_service, people.org.id, teammate, "alpha")
    await register_member(pipeline_service, people.org.id, beta_member, "beta")

    async def schedule(token: str, owner: uuid.UUID) -> dict[str, object]:
        data = await pipeline_service.data(token, SCHEDULE, {"input": {
            "opportunityId": opp["id"], "kind": "CALL", "subject": "Call",
            "dueAt": "2031-01-01T10:00:00+00:00", "ownerId": str(owner)}})
        result: dict[str, object] = data["scheduleActivity"]
        return result

    assert (await schedule(people.manager, teammate))["__typename"] == "ActivityPayload"
    assert (await schedule(people.admin, beta_member))["__typename"] == "ActivityPayload"
    for who, owner in [(people.rep, teammate), (people.manager, beta_member),
                       (people.manager, uuid.uuid4()), (people.admin, uuid.uuid4())]:
        refused = await schedule(who, owner)
        assert refused["__typename"] == "ValidationError", refused


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


ADD_NOTE = """mutation($id: ID!, $body: String!) { addNote(opportunityId: $id, body: $body) {
  __typename ... on NotePayload { note { id } } } }"""
REMOVE_NOTE = "mutation($id: ID!) { removeNote(id: $id) { __typename } }"
NOTES = "query($id: ID!) { opportunity(id: $id) { notes { body } } }"


async def test_notes_follow_who_sees_the_deal(
    pipeline_service: Service, people: People, outsiders: People
) -> None:
    opp = await create_opportunity(pipeline_service, people.rep, name="Noted")
    # (token, sees the deal)
    matrix = {
        "rep (owner)": (people.rep, True),
        "rep2 (same team)": (people.rep2, False),
        "manager alpha": (people.manager, True),
        "manager beta": (people.beta_manager, False),
        "admin": (people.admin, True),
        "other org admin": (outsiders.admin, False),
    }
    written: dict[str, str] = {}
    for who, (token, sees) in matrix.items():
        added = (await pipeline_service.data(token, ADD_NOTE, {"id": opp["id"], "body": who}))[
            "addNote"]
        assert added["__typename"] == ("NotePayload" if sees else "NotFound"), who
        if sees:
            written[who] = added["note"]["id"]
    for who, (token, sees) in matrix.items():
        got = (await pipeline_service.data(token, NOTES, {"id": opp["id"]}))["opportunity"]
        assert (got["notes"] if got else None) == (
            [{"body": w} for w in reversed(written)] if sees else None), who
    # The manager's note: not the owner's to remove, nor a stranger's; its author's, or an admin's.
    note = written["manager alpha"]
    for token, refusal in ((people.rep, "Forbidden"), (people.rep2, "NotFound"),
                           (outsiders.admin, "NotFound")):
        removed = await pipeline_service.data(token, REMOVE_NOTE, {"id": note})
        assert removed["removeNote"]["__typename"] == refusal
    removed = await pipeline_service.data(people.admin, REMOVE_NOTE, {"id": note})
    assert removed["removeNote"]["__typename"] == "RemoveNotePayload"
    left = (await pipeline_service.data(people.rep, NOTES, {"id": opp["id"]}))["opportunity"]
    assert left["notes"] == [{"body": "admin"}, {"body": "rep (owner)"}]

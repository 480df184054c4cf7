import uuid

import pytest

from crmkit.contracts.leads import (
    LeadCreated,
    LeadStatusChanged,
    LeadUpdated,
    MemberUpdated,
)
from services.leads import import_worker
from services.leads.cli_import import import_text

from .queries import CLAIM, CONTACTED, CREATE_LEAD, DISQUALIFY, ME, QUALIFY, UPDATE

pytestmark = pytest.mark.integration


async def create(svc, token, **fields):
    fields.setdefault("company", f"Firma {uuid.uuid4().hex[:8]}")
    data = await svc.data(token, CREATE_LEAD, input=fields)
    return data["createLead"]


async def test_member_is_registered_from_token_once(leads_service, org):
    member = uuid.uuid4()
    token = org.token("rep", member_id=member, team="alpha", name="Ala Nowak")
    for _ in range(2):
        me = (await leads_service.data(token, ME))["me"]
    assert me == {"id": str(member), "name": "Ala Nowak", "team": "alpha", "roles": ["rep"],
                  "leadCap": 50, "customLeadCap": None, "activeLeadCount": 0}
    [event] = await leads_service.events(org_id=org.id, type=MemberUpdated.TYPE)
    payload = event.parse(MemberUpdated)
    assert (payload.member_id, payload.lead_cap, payload.changed) == (member, 50, ["registered"])
    # A new team in the token is picked up and announced.
    moved = org.token("rep", member_id=member, team="beta", name="Ala Nowak")
    assert (await leads_service.data(moved, ME))["me"]["team"] == "beta"
    events = await leads_service.events(org_id=org.id, type=MemberUpdated.TYPE)
    assert [e.parse(MemberUpdated).changed for e in events] == [["registered"], ["team"]]


async def test_create_lead_normalises_and_emits_one_event(leads_service, org):
    token = org.token("rep")
    result = await create(
        leads_service, token, company="ACME Sp. z o.o.", contactName=" Jan  Kowalski ",
        email=" JAN@Acme.PL", phone="601 234 567", tags=["fair", "fair", "b2b"], priority=7,
    )
    lead = result["lead"]
    assert (lead["email"], lead["phone"], lead["domain"], lead["contactName"]) == (
        "jan@acme.pl", "+48601234567", "acme.pl", "Jan Kowalski"
    )
    assert (lead["status"], lead["ownerId"], lead["tags"]) == ("NEW", None, ["fair", "b2b"])
    [event] = await leads_service.events(org_id=org.id, type=LeadCreated.TYPE)
    created = event.parse(LeadCreated)
    assert (str(created.lead_id), created.email, created.created_via) == (
        lead["id"], "jan@acme.pl", "api"
    )


async def test_duplicates_are_refused_unless_allowed(leads_service, org):
    token = org.token("rep")
    first = (await create(leads_service, token, company="Beta SA", email="x@beta.pl"))["lead"]
    by_email = await create(leads_service, token, company="Other", email="X@Beta.pl ")
    assert by_email["__typename"] == "DuplicateLead"
    assert (by_email["existingLeadId"], by_email["matchedOn"]) == (first["id"], ["email"])
    by_domain = await create(leads_service, token, company="BETA S.A.", website="www.beta.pl")
    assert by_domain["matchedOn"] == ["domain and company"]
    phone_first = (await create(leads_service, token, company="P", phone="+48 22 111 22 33"))
    by_phone = await create(leads_service, token, company="Q", phone="221112233")
    assert by_phone["existingLeadId"] == phone_first["lead"]["id"]
    allowed = await leads_service.data(
        token, CREATE_LEAD, input={"company": "Other", "email": "x@beta.pl"}, allow=True
    )
    assert allowed["createLead"]["__typename"] == "LeadPayload"
    assert len(await leads_service.events(org_id=org.id, type=LeadCreated.TYPE)) == 3


async def test_invalid_input_gets_every_field_problem(leads_service, org):
    result = await create(
        leads_service, org.token("rep"), company=" ", email="nope", phone="12", priority=500
    )
    assert result["__typename"] == "ValidationError"
    assert {tuple(f["path"]) for f in result["fields"]} == {
        ("input", "company"), ("input", "email"), ("input", "phone"), ("input", "priority")
    }
    assert await leads_service.events(org_id=org.id, type=LeadCreated.TYPE) == []


async def test_update_lead_with_version_check(leads_service, org):
    token = org.token("rep")
    lead = (await create(leads_service, token, company="Gamma"))["lead"]
    assert (await leads_service.data(token, CLAIM, id=lead["id"]))["claimLead"]["lead"]
    updated = (await leads_service.data(
        token, UPDATE, id=lead["id"], input={"phone": "+48 601 000 111", "notes": "call"},
        version=2,
    ))["updateLead"]
    assert updated["lead"]["phone"] == "+48601000111" and updated["lead"]["version"] == 3
    stale = (await leads_service.data(
        token, UPDATE, id=lead["id"], input={"company": "Gamma 2"}, version=2
    ))["updateLead"]
    assert stale["__typename"] == "VersionConflict" and stale["currentVersion"] == 3
    [event] = await leads_service.events(org_id=org.id, type=LeadUpdated.TYPE)
    assert sorted(event.parse(LeadUpdated).changed) == ["notes", "phone"]


async def test_status_changes_emit_status_changed_once_each(leads_service, org):
    token = org.token("rep")
    lead = (await create(leads_service, token))["lead"]
    early = (await leads_service.data(token, CONTACTED, id=lead["id"]))["markContacted"]
    assert early["__typename"] == "InvalidLeadState"
    await leads_service.data(token, CLAIM, id=lead["id"])
    contacted = (await leads_service.data(token, CONTACTED, id=lead["id"]))["markContacted"]
    assert contacted["lead"]["status"] == "CONTACTED"
    qualified = (await leads_service.data(token, QUALIFY, id=lead["id"]))["qualifyLead"]
    assert qualified["lead"]["status"] == "QUALIFIED"
    no_reason = (await leads_service.data(token, DISQUALIFY, id=lead["id"], reason=" "))
    assert no_reason["disqualifyLead"]["__typename"] == "ValidationError"
    out = (await leads_service.data(token, DISQUALIFY, id=lead["id"], reason="no budget"))
    assert out["disqualifyLead"]["lead"]["status"] == "DISQUALIFIED"
    again = (await leads_service.data(token, CONTACTED, id=lead["id"]))["markContacted"]
    assert again["__typename"] == "InvalidLeadState"
    events = [e.parse(LeadStatusChanged) for e in
              await leads_service.events(org_id=org.id, type=LeadStatusChanged.TYPE)]
    assert [(e.previous_status, e.status) for e in events] == [
        ("ASSIGNED", "CONTACTED"), ("CONTACTED", "QUALIFIED"), ("QUALIFIED", "DISQUALIFIED")
    ]
    assert events[-1].reason == "no budget"


@pytest.mark.parametrize(
    ("query", "variables", "answer"),
    [
        (CLAIM, {"id": "not-a-uuid"}, "ValidationError"),
        (UPDATE, {"id": str(uuid.uuid4()), "input": {"company": "x"}}, "NotFound"),
        (DISQUALIFY, {"id": "1", "reason": "x"}, "ValidationError"),
    ],
)
async def test_bad_ids_are_typed_errors(leads_service, org, query, variables, answer):
    data = await leads_service.data(org.token("rep"), query, **variables)
    [result] = data.values()
    assert result["__typename"] == answer


async def test_no_token_is_401_and_garbage_is_not_500(leads_service):
    response = await leads_service.http.post("/graphql", json={"query": ME})
    assert response.status_code == 401


@pytest.mark.parametrize("in_process", [False, True])
async def test_an_imported_row_with_a_nul_is_invalid_and_the_rest_is_imported(
    leads_service, org, monkeypatch, in_process
):
    """The API refuses control characters in any text (the kit's rule for variables); a file
    imported from the command line reaches the row rules, where a NUL (which PostgreSQL
    cannot store, so it failed the whole COPY) makes its row invalid."""
    monkeypatch.setattr(import_worker, "PROCESS_MIN_CHARS", 0 if in_process else 10**9)
    url = str(leads_service.runtime.engine.url.render_as_string(hide_password=False))
    report = await import_text("company,notes\nFine,ok\nNul\u0000Co,x\nAlso,n\u0000te\n",
                               org.id, None, database_url=url)
    assert (report.created_count, [i.line for i in report.invalid]) == (1, [3, 4])
    assert await leads_service.sql(
        "SELECT company FROM leads WHERE org_id = :org", org=org.id) == [("Fine",)]

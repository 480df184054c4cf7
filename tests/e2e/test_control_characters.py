"""Control characters in text, through the gateway as a client sends them (issue 13, item 4).

A NUL in 18 of 30 string arguments once answered the raw database error (the SQL, its bound
parameters, the org id). Every service refuses NUL and the other control characters (but tab,
line feed and carriage return) in any text input before a resolver runs. A mutation answers
its result union's ``ValidationError`` member naming the field (the argument path), like its
other invalid input; a query answers a typed ``BAD_USER_INPUT`` error naming it. Here each of
the string arguments of every service is tried: no database text, and nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import Client, RunningSystem, new_org_members

pytestmark = pytest.mark.e2e

NUL = "\x00"
ID = str(uuid.uuid4())
LEAD = "mutation($i: LeadInput!) { createLead(input: $i) { __typename } }"
OPPORTUNITY = ("mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) "
               "{ __typename } }")
DEAL = {"name": "Deal", "amount": "100.00", "currency": "PLN"}
ACTIVITY = {"opportunityId": ID, "kind": "CALL", "dueAt": "2030-01-01T10:00:00Z",
            "subject": "Call"}

# (service, operation, variables, the field the error must name: a mutation's argument path,
# or where a query's error points)
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("leads", LEAD, {"i": {"company": f"Acme{NUL}"}}, "input.company"),
    ("leads", LEAD, {"i": {"company": "Acme", "notes": f"a{NUL}b"}}, "input.notes"),
    ("leads", LEAD, {"i": {"company": "Acme", "tags": ["ok", "bell\x07"]}}, "input.tags.1"),
    ("leads", LEAD, {"i": {"company": "Acme", "contactName": "Jan\x1b[31m"}}, "input.contactName"),
    ("leads", "mutation($id: ID!, $r: String!) { disqualifyLead(id: $id, reason: $r) "
              "{ __typename } }", {"r": f"spam{NUL}"}, "reason"),
    ("leads", "mutation($f: PoolFilterInput) { claimNextLeads(filter: $f) { __typename } }",
     {"f": {"source": f"web{NUL}"}}, "filter.source"),
    ("leads", "mutation($id: ID!, $o: OpportunityInput!) { convertLead(id: $id, opportunity: $o) "
              "{ __typename } }", {"o": {**DEAL, "name": f"Pilot{NUL}deal"}}, "opportunity.name"),
    ("leads", "mutation($a: AccountInput!) { createAccount(input: $a) { __typename } }",
     {"a": {"name": "Omega", "address": f"Main St{NUL}"}}, "input.address"),
    ("leads", "mutation($id: ID!, $c: ContactInput!) { createContact(accountId: $id, input: $c) "
              "{ __typename } }", {"c": {"name": "Ola", "position": "CEO\x7f"}},
     "input.position"),
    ("leads", "mutation($s: LeadSettingsInput!) { updateLeadSettings(input: $s) "
              "{ __typename } }", {"s": {"defaultRegion": f"P{NUL}"}}, "input.defaultRegion"),
    ("leads", "mutation($csv: String!) { importLeads(csv: $csv) { __typename } }",
     {"csv": f"company\nNul{NUL}Co\n"}, "csv"),
    ("leads", "query($t: String) { members(team: $t) { id } }", {"t": f"north{NUL}"}, "t"),
    ("leads", "query($f: LeadFilterInput) { leads(filter: $f) { edges { node { id } } } }",
     {"f": {"search": f"acme{NUL}"}}, "search"),
    ("pipeline", OPPORTUNITY, {"i": {**DEAL, "name": f"Deal{NUL}"}}, "input.name"),
    ("pipeline", OPPORTUNITY, {"i": {**DEAL, "team": f"north{NUL}"}}, "input.team"),
    ("pipeline", "mutation($id: ID!, $p: OpportunityPatchInput!) { updateOpportunity(id: $id, "
                 "expectedVersion: 1, patch: $p) { __typename } }",
     {"p": {"needs": f"more{NUL}"}}, "patch.needs"),
    ("pipeline", "mutation($id: ID!, $c: String) { markLost(id: $id, comment: $c) { __typename } }"
    , {"c": f"price{NUL}"}, "comment"),
    ("pipeline", "mutation($i: ScheduleActivityInput!) { scheduleActivity(input: $i) "
                 "{ __typename } }", {"i": {**ACTIVITY, "subject": f"Call{NUL}"}}, "input.subject"),
    ("pipeline", "mutation($id: ID!, $o: String) { completeActivity(id: $id, outcome: $o) "
                 "{ __typename } }", {"o": f"done{NUL}"}, "outcome"),
    ("pipeline", "mutation($n: String!) { createPipeline(name: $n) { __typename } }",
     {"n": f"Sales{NUL}"}, "name"),
    ("pipeline", "mutation($id: ID!, $s: StageInput!) { addStage(pipelineId: $id, input: $s) "
                 "{ __typename } }", {"s": {"name": f"Demo{NUL}"}}, "input.name"),
    ("pipeline", "mutation($l: String!) { addLostReason(label: $l) { __typename } }",
     {"l": f"Price{NUL}"}, "label"),
    ("pipeline", "query($f: OpportunityFilter) { opportunities(filter: $f) "
                 "{ edges { node { id } } } }", {"f": {"text": f"deal{NUL}"}}, "text"),
    ("reporting", "query($t: String) { salesFunnel(team: $t) { __typename } }",
     {"t": f"north{NUL}"}, "t"),
    ("reporting", "mutation($c: String!) { setExchangeRate(currency: $c, rate: \"4.0\") "
                  "{ __typename } }", {"c": f"EU{NUL}"}, "currency"),
    ("documents", "mutation($n: String!) { createFolder(name: $n) { __typename } }",
     {"n": f"Offers{NUL}"}, "name"),
    ("documents", "mutation($id: ID!, $v: [OfferValueInput!]) { issueOffer(opportunityId: $id, "
                  "templateId: $id, values: $v) { __typename } }",
     {"v": [{"name": "client", "value": f"<b>{NUL}"}]}, "values.0.value"),
    ("documents", "mutation($id: ID!, $r: String!) { rejectOffer(offerId: $id, reason: $r) "
                  "{ __typename } }", {"r": f"too dear{NUL}"}, "reason"),
    ("documents", "query($s: String) { offerLibrary(search: $s) { __typename } }",
     {"s": f"pilot{NUL}"}, "s"),
    ("notifications", "mutation($d: String!) { registerWebhookEndpoint(url: "
                      "\"https://example.com/hook\", eventTypes: [\"lead.created\"], "
                      "description: $d) { __typename } }", {"d": f"hook{NUL}"}, "description"),
    ("notifications", "mutation($i: NotificationSettingsInput!) { "
                      "updateMyNotificationSettings(input: $i) { __typename } }",
     {"i": {"timeZone": f"Europe/Warsaw{NUL}"}}, "input.timeZone"),
    # The other characters of the kit's one rule: C1 controls (as themselves and escaped).
    ("leads", LEAD, {"i": {"company": "Acme\x85"}}, "input.company"),
    ("pipeline", OPPORTUNITY, {"i": {**DEAL, "name": "Deal\x9b[31m"}}, "input.name"),
    ("leads", "query($f: LeadFilterInput) { leads(filter: $f) { edges { node { id } } } }",
     {"f": {"search": "acme\x80"}}, "search"),
    ("reporting", '{ salesFunnel(team: "north\\u0085") { __typename } }', {}, "team"),
    # Inline arguments: the text in the operation itself.
    ("reporting", '{ salesFunnel(team: "north\\u0000") { __typename } }', {}, "team"),
    ("pipeline", 'mutation { addLostReason(label: "Price\\u0000") { __typename } }', {},
     "label"),
    ("leads", 'mutation { createLead(input: {company: "Acme\\u0000"}) { __typename } }', {},
     "input.company"),
]

LEAKS = ("SELECT", "INSERT", "UPDATE", "asyncpg", "sqlalchemy", "Traceback", "invalid byte",
         "0x00")


VALIDATION = "__typename ... on ValidationError { message fields { path message } }"


@pytest.mark.parametrize(("service", "operation", "variables", "field"), CASES,
                         ids=[f"{c[0]}-{c[3]}-{n}" for n, c in enumerate(CASES)])
def test_a_control_character_in_any_text_input_is_a_typed_error_naming_the_field(
    system: RunningSystem, service: str, operation: str, variables: dict[str, Any], field: str
) -> None:
    admin = new_org_members()["admin"]
    client = Client(system.gateway, admin)
    try:
        if "$id" in operation:
            variables = {**variables, "id": ID}
        mutation = operation.startswith("mutation")
        if mutation:
            operation = operation.replace("{ __typename }", f"{{ {VALIDATION} }}")
        response = client.raw(operation, variables)
        assert not any(leak in response.text for leak in LEAKS), response.text
        body = response.json()
        if mutation:
            # The mutation's own ValidationError member, as for its other invalid input.
            assert response.status_code == 200, response.text
            assert "errors" not in body, body
            [answer] = body["data"].values()
            assert answer["__typename"] == "ValidationError", answer
            [problem] = answer["fields"]
            assert problem == {"path": field.split("."),
                               "message": "text must not contain control characters"}, answer
        else:
            assert response.status_code in (200, 400), response.text
            assert not any(isinstance(v, dict) for v in (body.get("data") or {}).values()), body
            [error] = body["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", error
            assert "control characters" in error["message"], error
            where = error["message"].rsplit("(", 1)[-1].rstrip(")").removeprefix("argument ")
            assert field in where.split("."), error
        # Nothing was written: the organisation has no lead, opportunity or lost reason.
        assert client("{ leads { edges { node { id } } } }")["leads"]["edges"] == []
        assert client("{ opportunities { edges { node { id } } } }")[
            "opportunities"]["edges"] == []
    finally:
        client.close()

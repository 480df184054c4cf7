"""Control characters in text, through the gateway as a client sends them (issue 13, item 4).

A NUL in 18 of 30 string arguments once answered the raw database error (the SQL, its bound
parameters, the org id). Every service refuses NUL and the other control characters (but tab,
line feed and carriage return) in any text input before a resolver runs; here each of the
string arguments of every service comes back as a typed ``BAD_USER_INPUT`` error naming the
field, with no database text, and nothing is written."""

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

# (service, operation, variables, the field the error must name)
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("leads", LEAD, {"i": {"company": f"Acme{NUL}"}}, "company"),
    ("leads", LEAD, {"i": {"company": "Acme", "notes": f"a{NUL}b"}}, "notes"),
    ("leads", LEAD, {"i": {"company": "Acme", "tags": ["ok", "bell\x07"]}}, "tags"),
    ("leads", LEAD, {"i": {"company": "Acme", "contactName": "Jan\x1b[31m"}}, "contactName"),
    ("leads", "mutation($id: ID!, $r: String!) { disqualifyLead(id: $id, reason: $r) "
              "{ __typename } }", {"r": f"spam{NUL}"}, "r"),
    ("leads", "mutation($f: PoolFilterInput) { claimNextLeads(filter: $f) { __typename } }",
     {"f": {"source": f"web{NUL}"}}, "source"),
    ("leads", "mutation($id: ID!, $o: OpportunityInput!) { convertLead(id: $id, opportunity: $o) "
              "{ __typename } }", {"o": {**DEAL, "name": f"Pilot{NUL}deal"}}, "name"),
    ("leads", "mutation($a: AccountInput!) { createAccount(input: $a) { __typename } }",
     {"a": {"name": "Omega", "address": f"Main St{NUL}"}}, "address"),
    ("leads", "mutation($id: ID!, $c: ContactInput!) { createContact(accountId: $id, input: $c) "
              "{ __typename } }", {"c": {"name": "Ola", "position": "CEO\x7f"}},
     "position"),
    ("leads", "mutation($s: LeadSettingsInput!) { updateLeadSettings(input: $s) "
              "{ __typename } }", {"s": {"defaultRegion": f"P{NUL}"}}, "defaultRegion"),
    ("leads", "mutation($csv: String!) { importLeads(csv: $csv) { __typename } }",
     {"csv": f"company\nNul{NUL}Co\n"}, "csv"),
    ("leads", "query($t: String) { members(team: $t) { id } }", {"t": f"north{NUL}"}, "t"),
    ("leads", "query($f: LeadFilterInput) { leads(filter: $f) { edges { node { id } } } }",
     {"f": {"search": f"acme{NUL}"}}, "search"),
    ("pipeline", OPPORTUNITY, {"i": {**DEAL, "name": f"Deal{NUL}"}}, "name"),
    ("pipeline", OPPORTUNITY, {"i": {**DEAL, "team": f"north{NUL}"}}, "team"),
    ("pipeline", "mutation($id: ID!, $p: OpportunityPatchInput!) { updateOpportunity(id: $id, "
                 "expectedVersion: 1, patch: $p) { __typename } }",
     {"p": {"needs": f"more{NUL}"}}, "needs"),
    ("pipeline", "mutation($id: ID!, $c: String) { markLost(id: $id, comment: $c) { __typename } }"
    , {"c": f"price{NUL}"}, "c"),
    ("pipeline", "mutation($i: ScheduleActivityInput!) { scheduleActivity(input: $i) "
                 "{ __typename } }", {"i": {**ACTIVITY, "subject": f"Call{NUL}"}}, "subject"),
    ("pipeline", "mutation($id: ID!, $o: String) { completeActivity(id: $id, outcome: $o) "
                 "{ __typename } }", {"o": f"done{NUL}"}, "o"),
    ("pipeline", "mutation($n: String!) { createPipeline(name: $n) { __typename } }",
     {"n": f"Sales{NUL}"}, "n"),
    ("pipeline", "mutation($id: ID!, $s: StageInput!) { addStage(pipelineId: $id, input: $s) "
                 "{ __typename } }", {"s": {"name": f"Demo{NUL}"}}, "name"),
    ("pipeline", "mutation($l: String!) { addLostReason(label: $l) { __typename } }",
     {"l": f"Price{NUL}"}, "l"),
    ("pipeline", "query($f: OpportunityFilter) { opportunities(filter: $f) "
                 "{ edges { node { id } } } }", {"f": {"text": f"deal{NUL}"}}, "text"),
    ("reporting", "query($t: String) { salesFunnel(team: $t) { __typename } }",
     {"t": f"north{NUL}"}, "t"),
    ("reporting", "mutation($c: String!) { setExchangeRate(currency: $c, rate: \"4.0\") "
                  "{ __typename } }", {"c": f"EU{NUL}"}, "c"),
    ("documents", "mutation($n: String!) { createFolder(name: $n) { __typename } }",
     {"n": f"Offers{NUL}"}, "n"),
    ("documents", "mutation($id: ID!, $v: [OfferValueInput!]) { issueOffer(opportunityId: $id, "
                  "templateId: $id, values: $v) { __typename } }",
     {"v": [{"name": "client", "value": f"<b>{NUL}"}]}, "value"),
    ("documents", "mutation($id: ID!, $r: String!) { rejectOffer(offerId: $id, reason: $r) "
                  "{ __typename } }", {"r": f"too dear{NUL}"}, "r"),
    ("documents", "query($s: String) { offerLibrary(search: $s) { __typename } }",
     {"s": f"pilot{NUL}"}, "s"),
    ("notifications", "mutation($d: String!) { registerWebhookEndpoint(url: "
                      "\"https://example.com/hook\", eventTypes: [\"lead.created\"], "
                      "description: $d) { __typename } }", {"d": f"hook{NUL}"}, "d"),
    ("notifications", "mutation($i: NotificationSettingsInput!) { "
                      "updateMyNotificationSettings(input: $i) { __typename } }",
     {"i": {"timeZone": f"Europe/Warsaw{NUL}"}}, "timeZone"),
    # Inline arguments: the text in the operation itself.
    ("reporting", '{ salesFunnel(team: "north\\u0000") { __typename } }', {}, "team"),
    ("pipeline", 'mutation { addLostReason(label: "Price\\u0000") { __typename } }', {},
     "label"),
    ("leads", 'mutation { createLead(input: {company: "Acme\\u0000"}) { __typename } }', {},
     "company"),
]

LEAKS = ("SELECT", "INSERT", "UPDATE", "asyncpg", "sqlalchemy", "Traceback", "invalid byte",
         "0x00")


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
        response = client.raw(operation, variables)
        assert response.status_code in (200, 400), response.text
        body = response.json()
        assert not any(isinstance(v, dict) for v in (body.get("data") or {}).values()), body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert "control characters" in error["message"], error
        where = error["message"].rsplit("(", 1)[-1].rstrip(")").removeprefix("argument ")
        assert field in where.split("."), error
        assert not any(leak in response.text for leak in LEAKS), response.text
        # Nothing was written: the organisation has no lead, opportunity or lost reason.
        assert client("{ leads { edges { node { id } } } }")["leads"]["edges"] == []
        assert client("{ opportunities { edges { node { id } } } }")[
            "opportunities"]["edges"] == []
    finally:
        client.close()

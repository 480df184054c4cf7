"""The leads service's capabilities as a frontend reaches them: through the gateway."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .conftest import Client, RunningSystem, new_org_members
from .test_sales_process import eventually, typed

pytestmark = pytest.mark.e2e

LEAD = "id company email phone domain status ownerId notes disqualifyReason version"
FRAGMENTS = {
    "LeadPayload": f"lead {{ {LEAD} }}",
    "LeadsPayload": f"leads {{ {LEAD} }}",
    "MemberPayload": "member { id leadCap customLeadCap activeLeadCount }",
    "AccountPayload": "account { id name nip domain }",
    "ContactPayload": "contact { id accountId name email phone }",
    "ConvertLeadPayload": "opportunityId accountCreated account { id } lead { status }",
    "DuplicateLead": "message existingLeadId matchedOn",
    "CapExceeded": "message memberId leadCap activeLeads requested fits",
    "InvalidLeadState": "message status",
    "VersionConflict": "currentVersion",
    "NotFound": "entity id",
    "ValidationError": "message fields { path message }",
    "Forbidden": "message",
}
VARIABLES = {
    "id": "ID!", "ids": "[ID!]!", "memberId": "ID!", "accountId": "ID!", "cap": "Int",
    "reason": "String!", "version": "Int", "dup": "Boolean!", "lead": "LeadInput!",
    "patch": "LeadUpdateInput!", "account": "AccountInput!", "contact": "ContactInput!",
    "opp": "OpportunityInput!",
}


def mutate(client: Client, call: str, variables: dict[str, Any], *types: str) -> dict[str, Any]:
    """``call`` such as ``claimLead(id: $id)``; the result's ``types`` (plus ValidationError
    and Forbidden) are selected, so an unexpected error shows in the assertion message."""
    decls = ", ".join(f"${name}: {VARIABLES[name]}" for name in variables)
    cases = " ".join(
        f"... on {t} {{ {FRAGMENTS[t]} }}" for t in (*types, "ValidationError", "Forbidden")
    )
    query = f"mutation{f'({decls})' if decls else ''} {{ result: {call} {{ __typename {cases} }} }}"
    return dict(client(query, variables)["result"])


def new_lead(client: Client, **fields: Any) -> dict[str, Any]:
    result = mutate(client, "createLead(input: $lead)", {"lead": fields}, "LeadPayload")
    return dict(typed(result, "LeadPayload")["lead"])


def lead(client: Client, lead_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = client(
        f"query($id: ID!) {{ lead(id: $id) {{ {LEAD} }} }}", {"id": lead_id}
    )["lead"]
    return found


def assert_lead(client: Client, lead_id: str, **expected: Any) -> None:
    found = lead(client, lead_id)
    assert found is not None and found | expected == found, (found, expected)


def member(client: Client, member_id: str) -> dict[str, Any]:
    roster = client("{ members { id leadCap customLeadCap activeLeadCount } }")["members"]
    return next(dict(m) for m in roster if m["id"] == member_id)


def visible_ids(client: Client) -> set[str]:
    edges = client("{ leads(first: 100) { edges { node { id } } } }")["leads"]["edges"]
    return {edge["node"]["id"] for edge in edges}


def mid(client: Client) -> str:
    return str(client.member.id)


@pytest.fixture
def new_team(system: RunningSystem) -> Iterator[Callable[[], dict[str, Client]]]:
    """Makes the members of a fresh org; they register on their first request."""
    opened: list[Client] = []

    def make() -> dict[str, Client]:
        clients = {key: Client(system.gateway, m) for key, m in new_org_members().items()}
        for client in clients.values():
            client("{ me { id } }")
        opened.extend(clients.values())
        return clients

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def team(new_team: Callable[[], dict[str, Client]]) -> dict[str, Client]:
    return new_team()


def test_create_lead_normalises_and_refuses_a_duplicate(team: dict[str, Client]) -> None:
    rep = team["rep"]
    first = new_lead(rep, company="Orion Freight", contactName="Ola Nowak",
                     email="  Ola.Nowak@Orion-Freight.PL ", phone="601 111 222")
    assert (first["email"], first["phone"], first["domain"]) == (
        "ola.nowak@orion-freight.pl", "+48601111222", "orion-freight.pl")
    assert (first["status"], first["ownerId"]) == ("NEW", None)

    again = {"lead": {"company": "Someone Else", "email": "OLA.NOWAK@orion-freight.pl"}}
    duplicate = mutate(rep, "createLead(input: $lead)", again, "LeadPayload", "DuplicateLead")
    typed(duplicate, "DuplicateLead")
    assert duplicate["existingLeadId"] == first["id"]
    assert duplicate["matchedOn"] == ["email"]
    by_phone = mutate(rep, "createLead(input: $lead)", {"lead": {
        "contactName": "Olga", "phone": "+48 601-111-222"}}, "DuplicateLead")
    assert typed(by_phone, "DuplicateLead")["matchedOn"] == ["phone"]

    allowed = mutate(rep, "createLead(input: $lead, allowDuplicate: $dup)",
                     {**again, "dup": True}, "LeadPayload", "DuplicateLead")
    second = typed(allowed, "LeadPayload")["lead"]
    assert second["id"] != first["id"] and second["email"] == "ola.nowak@orion-freight.pl"
    assert {first["id"], second["id"]} <= visible_ids(rep)


def test_pool_caps_assignment_release_reassignment_and_claim(team: dict[str, Client]) -> None:
    manager, rep, rep2 = team["manager"], team["rep"], team["rep2"]
    ids = [new_lead(manager, company=f"Pool {n}", email=f"buyer@pool{n}.pl")["id"]
           for n in range(3)]

    capped = mutate(manager, "setLeadCap(memberId: $memberId, leadCap: $cap)",
                    {"memberId": mid(rep), "cap": 2}, "MemberPayload", "NotFound")
    assert typed(capped, "MemberPayload")["member"]["leadCap"] == 2
    assert member(manager, mid(rep)) == {
        "id": mid(rep), "leadCap": 2, "customLeadCap": 2, "activeLeadCount": 0}

    assign = "assignLeads(ids: $ids, memberId: $memberId)"
    too_many = mutate(manager, assign, {"ids": ids, "memberId": mid(rep)},
                      "LeadsPayload", "CapExceeded", "NotFound")
    typed(too_many, "CapExceeded")
    assert {k: too_many[k] for k in ("memberId", "leadCap", "activeLeads", "requested", "fits")} \
        == {"memberId": mid(rep), "leadCap": 2, "activeLeads": 0, "requested": 3, "fits": 2}
    assert "2 of the 3" in too_many["message"]
    for lead_id in ids:  # all or nothing: every lead is still in the pool
        assert_lead(manager, lead_id, ownerId=None, status="NEW")
    assert member(manager, mid(rep))["activeLeadCount"] == 0

    fits = mutate(manager, assign, {"ids": ids[:2], "memberId": mid(rep)},
                  "LeadsPayload", "CapExceeded")
    assigned = typed(fits, "LeadsPayload")["leads"]
    assert [(x["id"], x["ownerId"], x["status"]) for x in assigned] == [
        (ids[0], mid(rep), "ASSIGNED"), (ids[1], mid(rep), "ASSIGNED")]

    full = mutate(rep, "claimLead(id: $id)", {"id": ids[2]}, "LeadPayload", "CapExceeded")
    assert typed(full, "CapExceeded")["fits"] == 0
    released = mutate(rep, "releaseLead(id: $id)", {"id": ids[0]}, "LeadPayload")
    assert typed(released, "LeadPayload")["lead"]["ownerId"] is None
    assert_lead(manager, ids[0], ownerId=None, status="NEW")
    claimed = mutate(rep, "claimLead(id: $id)", {"id": ids[2]}, "LeadPayload", "CapExceeded")
    assert typed(claimed, "LeadPayload")["lead"]["ownerId"] == mid(rep)

    moved = mutate(manager, "reassignLead(id: $id, memberId: $memberId)",
                   {"id": ids[1], "memberId": mid(rep2)}, "LeadPayload", "CapExceeded")
    assert typed(moved, "LeadPayload")["lead"]["ownerId"] == mid(rep2)
    assert_lead(manager, ids[1], ownerId=mid(rep2))
    assert member(manager, mid(rep))["activeLeadCount"] == 1
    assert member(manager, mid(rep2))["activeLeadCount"] == 1


def test_status_changes_and_edits_show_in_the_lead(team: dict[str, Client]) -> None:
    rep = team["rep"]
    lead_id = new_lead(rep, company="Wega Steel", email="wera@wegasteel.pl")["id"]
    typed(mutate(rep, "claimLead(id: $id)", {"id": lead_id}, "LeadPayload"), "LeadPayload")

    contacted = mutate(rep, "markContacted(id: $id)", {"id": lead_id}, "LeadPayload")
    typed(contacted, "LeadPayload")
    now = lead(rep, lead_id)
    assert now is not None and now["status"] == "CONTACTED"

    update = "updateLead(id: $id, input: $patch, version: $version)"
    patch = {"notes": "Call back in May", "phone": "603 333 444", "company": "Wega Steel S.A."}
    edited = mutate(rep, update, {"id": lead_id, "patch": patch, "version": now["version"]},
                    "LeadPayload", "VersionConflict")
    typed(edited, "LeadPayload")
    now = lead(rep, lead_id)
    assert now is not None
    assert (now["notes"], now["phone"], now["company"]) == (
        "Call back in May", "+48603333444", "Wega Steel S.A.")
    stale = mutate(rep, update, {"id": lead_id, "patch": {"notes": "x"}, "version": 1},
                   "LeadPayload", "VersionConflict")
    assert typed(stale, "VersionConflict")["currentVersion"] == now["version"]

    dropped = mutate(rep, "disqualifyLead(id: $id, reason: $reason)",
                     {"id": lead_id, "reason": "No budget this year"}, "LeadPayload")
    typed(dropped, "LeadPayload")
    now = lead(rep, lead_id)
    assert now is not None
    assert (now["status"], now["disqualifyReason"]) == ("DISQUALIFIED", "No budget this year")
    closed = mutate(rep, "markContacted(id: $id)", {"id": lead_id}, "InvalidLeadState")
    assert typed(closed, "InvalidLeadState")["status"] == "DISQUALIFIED"


def test_who_sees_which_lead(new_team: Callable[[], dict[str, Client]]) -> None:
    ours, theirs = new_team(), new_team()
    manager, rep, rep2 = ours["manager"], ours["rep"], ours["rep2"]
    pool = new_lead(manager, company="Open Pool Co", email="hello@openpool.pl")["id"]
    owned = new_lead(manager, company="Private Co", email="hello@private.pl")["id"]
    typed(mutate(manager, "assignLeads(ids: $ids, memberId: $memberId)",
                 {"ids": [owned], "memberId": mid(rep2)}, "LeadsPayload"), "LeadsPayload")

    assert lead(rep, owned) is None
    assert lead(rep, pool) is not None
    assert pool in visible_ids(rep) and owned not in visible_ids(rep)
    assert {pool, owned} <= visible_ids(rep2)

    stranger = theirs["rep"]
    for client in (theirs["admin"], stranger):
        assert lead(client, pool) is None and lead(client, owned) is None
        assert visible_ids(client) == set()
    refused = mutate(stranger, "claimLead(id: $id)", {"id": pool}, "LeadPayload", "NotFound")
    assert typed(refused, "NotFound")["entity"] == "Lead"
    assert_lead(manager, pool, ownerId=None, status="NEW")


def test_accounts_and_contacts(team: dict[str, Client]) -> None:
    rep = team["rep"]
    create = "createAccount(input: $account)"
    bad = mutate(rep, create, {"account": {"name": "Orion Freight", "nip": "5260250275"}},
                 "AccountPayload")
    assert typed(bad, "ValidationError")["fields"] == [
        {"path": ["input", "nip"], "message": "has a wrong check digit"}]
    assert rep("{ accounts { edges { node { id } } } }")["accounts"]["edges"] == []

    good = mutate(rep, create, {"account": {"name": "Orion Freight", "nip": "PL 526-025-02-74",
                                            "website": "https://www.orion-freight.pl/"}},
                  "AccountPayload")
    account = typed(good, "AccountPayload")["account"]
    assert (account["nip"], account["domain"]) == ("5260250274", "orion-freight.pl")
    taken = mutate(rep, create, {"account": {"name": "Copy", "nip": "5260250274"}},
                   "AccountPayload")
    assert typed(taken, "ValidationError")["fields"][0]["path"] == ["input", "nip"]

    added = mutate(rep, "createContact(accountId: $accountId, input: $contact)", {
        "accountId": account["id"],
        "contact": {"name": "Ola Nowak", "email": " OLA@Orion-Freight.pl", "phone": "601111222"},
    }, "ContactPayload", "NotFound")
    contact = typed(added, "ContactPayload")["contact"]
    assert (contact["accountId"], contact["email"], contact["phone"]) == (
        account["id"], "ola@orion-freight.pl", "+48601111222")

    found = rep("""query($id: ID!) { account(id: $id) { id name nip
        contacts { id name email } } }""", {"id": account["id"]})["account"]
    assert found == {"id": account["id"], "name": "Orion Freight", "nip": "5260250274",
                     "contacts": [{"id": contact["id"], "name": "Ola Nowak",
                                   "email": "ola@orion-freight.pl"}]}


def test_an_opportunity_resolves_its_owner_and_account_from_the_leads_subgraph(
    team: dict[str, Client],
) -> None:
    rep = team["rep"]
    lead_id = new_lead(rep, company="Lyra Print", contactName="Lena Wrona",
                       email="lena@lyraprint.pl", phone="604 444 555")["id"]
    typed(mutate(rep, "claimLead(id: $id)", {"id": lead_id}, "LeadPayload"), "LeadPayload")
    opportunity = {"name": "Lyra presses", "amount": "30000.00", "currency": "PLN"}
    converted = mutate(rep, "convertLead(id: $id, opportunity: $opp)",
                       {"id": lead_id, "opp": opportunity}, "ConvertLeadPayload")
    result = typed(converted, "ConvertLeadPayload")
    assert result["accountCreated"] is True and result["lead"]["status"] == "CONVERTED"

    query = """query($id: ID!) { opportunity(id: $id) { name
        owner { id name leadCap activeLeadCount }
        account { id name domain contacts { name email phone } } } }"""
    found = eventually(lambda: rep(query, {"id": result["opportunityId"]})["opportunity"])
    assert found["name"] == "Lyra presses"
    rita = member(rep, mid(rep))
    assert found["owner"] == {"id": mid(rep), "name": "Rita Rep", "leadCap": rita["leadCap"],
                              "activeLeadCount": 0}
    assert found["account"] == {
        "id": result["account"]["id"], "name": "Lyra Print", "domain": "lyraprint.pl",
        "contacts": [{"name": "Lena Wrona", "email": "lena@lyraprint.pl",
                      "phone": "+48604444555"}],
    }

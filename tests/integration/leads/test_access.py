import uuid

import pytest

from crmkit.contracts.leads import (
    ContactCreated,
    ContactRemoved,
    ContactUpdated,
    LeadConverted,
    LeadErased,
)

from .queries import CLAIM, CONVERT, CREATE_LEAD, IMPORT, LEAD, LEADS, ME, UPDATE, errors
from .test_conversion import OPPORTUNITY

pytestmark = pytest.mark.integration


async def visible(svc, token):
    data = await svc.data(token, LEADS, first=200)
    return {edge["node"]["id"] for edge in data["leads"]["edges"]}


async def test_access_matrix(leads_service, org, other_org):
    svc = leads_service
    people = {}
    for name, role, team in [("rep_a", "rep", "alpha"), ("rep_a2", "rep", "alpha"),
                             ("rep_b", "rep", "beta"), ("mgr_a", "manager", "alpha"),
                             ("admin", "admin", None)]:
        member_id = uuid.uuid4()
        people[name] = org.token(role, member_id=member_id, team=team)
        await svc.data(people[name], ME)
    leads = {}
    for name in ("pool", "rep_a", "rep_a2", "rep_b"):
        data = await svc.data(people["admin"], CREATE_LEAD, input={"company": f"{name} co"})
        leads[name] = data["createLead"]["lead"]["id"]
        if name != "pool":
            assert (await svc.data(people[name], CLAIM, id=leads[name]))["claimLead"]["lead"]
    foreign = org.token  # another org's admin sees none of it, and vice versa
    other_admin = other_org.token("admin", team=None)
    other = (await svc.data(other_admin, CREATE_LEAD, input={"company": "other org"}))
    other_lead = other["createLead"]["lead"]["id"]
    del foreign

    assert await visible(svc, people["rep_a"]) == {leads["pool"], leads["rep_a"]}
    assert await visible(svc, people["rep_b"]) == {leads["pool"], leads["rep_b"]}
    assert await visible(svc, people["mgr_a"]) == {leads["pool"], leads["rep_a"],
                                                  leads["rep_a2"]}
    assert await visible(svc, people["admin"]) == set(leads.values())
    assert await visible(svc, other_admin) == {other_lead}
    for token in people.values():
        assert (await svc.data(token, LEAD, id=other_lead))["lead"] is None
    assert (await svc.data(people["rep_a"], LEAD, id=leads["rep_b"]))["lead"] is None
    assert (await svc.data(other_admin, LEAD, id=leads["pool"]))["lead"] is None


async def test_pool_filter_and_paging(leads_service, org):
    admin = org.token("admin", team=None)
    ids = []
    for i in range(5):
        data = await leads_service.data(admin, CREATE_LEAD, input={"company": f"Page {i}"})
        ids.append(data["createLead"]["lead"]["id"])
    first = (await leads_service.data(admin, LEADS, first=2, filter={"poolOnly": True}))["leads"]
    assert [e["node"]["id"] for e in first["edges"]] == ids[::-1][:2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await leads_service.data(admin, LEADS, first=10, after=first["pageInfo"]["endCursor"],
                                    filter={"poolOnly": True}))["leads"]
    assert [e["node"]["id"] for e in rest["edges"]] == ids[::-1][2:]
    response = await leads_service.http.post(
        "/graphql", json={"query": LEADS, "variables": {"after": "garbage!"}},
        headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code == 200 and response.json()["errors"]


ACCOUNT_RESULT = f"""__typename ... on AccountPayload {{ account {{ id name }} }}
    {errors("ValidationError", "NotFound", "Forbidden", "VersionConflict")}"""
CREATE_ACCOUNT = f"""mutation($name: String!) {{ createAccount(input: {{name: $name}}) {{
    {ACCOUNT_RESULT} }} }}"""
UPDATE_ACCOUNT = f"""mutation($id: ID!, $name: String!) {{
    updateAccount(id: $id, input: {{name: $name}}) {{ {ACCOUNT_RESULT} }} }}"""
CREATE_CONTACT = f"""mutation($account: ID!, $name: String!) {{
    createContact(accountId: $account, input: {{name: $name}}) {{
      __typename ... on ContactPayload {{ contact {{ id accountId }} }} {errors()} }} }}"""


async def test_a_contact_is_added_to_an_account_by_whoever_may_change_the_account(
    leads_service, org
):
    """createContact follows updateAccount's rule: the owner, a manager of the owner's team,
    an admin; not another rep, not another team's manager."""
    svc = leads_service
    people = {name: org.token(role, member_id=uuid.uuid4(), team=team)
              for name, role, team in [("owner", "rep", "alpha"), ("peer", "rep", "alpha"),
                                       ("rep_b", "rep", "beta"), ("mgr_a", "manager", "alpha"),
                                       ("mgr_b", "manager", "beta"), ("admin", "admin", None)]}
    created = await svc.data(people["owner"], CREATE_ACCOUNT, name="Kappa")
    account = created["createAccount"]["account"]["id"]
    answers = {}
    for name, token in people.items():
        updated = await svc.data(token, UPDATE_ACCOUNT, id=account, name=f"Kappa {name}")
        contact = await svc.data(token, CREATE_CONTACT, account=account, name=f"By {name}")
        answers[name] = (updated["updateAccount"]["__typename"],
                         contact["createContact"]["__typename"])
    assert answers == {
        "owner": ("AccountPayload", "ContactPayload"),
        "peer": ("Forbidden", "Forbidden"),
        "rep_b": ("Forbidden", "Forbidden"),
        "mgr_a": ("AccountPayload", "ContactPayload"),
        "mgr_b": ("Forbidden", "Forbidden"),
        "admin": ("AccountPayload", "ContactPayload"),
    }
    assert len(await svc.events(org_id=org.id, type=ContactCreated.TYPE)) == 3


CHANGE_ERRORS = errors("ValidationError", "NotFound", "Forbidden", "VersionConflict")
UPDATE_CONTACT = f"""mutation($id: ID!, $input: ContactInput!, $version: Int) {{
    updateContact(id: $id, input: $input, version: $version) {{ __typename
      ... on ContactPayload {{ contact {{ id name email phone position version }} }}
      {CHANGE_ERRORS} }} }}"""
REMOVE_CONTACT = f"""mutation($id: ID!, $version: Int) {{
    removeContact(id: $id, version: $version) {{ __typename
      ... on RemoveContactPayload {{ contactId account {{ id contacts {{ id }} }} }}
      {CHANGE_ERRORS} }} }}"""
CONTACT = "query($id: ID!) { contact(id: $id) { id name } }"


async def test_a_contact_is_changed_and_removed_by_whoever_may_change_the_account(
    leads_service, org, other_org
):
    """updateContact and removeContact follow createContact's rule; another org's member does
    not find the contact; a stale version is a conflict; each change is one event, and the
    removal's carries no personal detail."""
    svc = leads_service
    people = {name: org.token(role, member_id=uuid.uuid4(), team=team)
              for name, role, team in [("owner", "rep", "alpha"), ("peer", "rep", "alpha"),
                                       ("mgr_b", "manager", "beta"), ("mgr_a", "manager", "alpha"),
                                       ("admin", "admin", None)]}
    stranger = other_org.token("admin")
    created = await svc.data(people["owner"], CREATE_ACCOUNT, name="Kappa")
    account = created["createAccount"]["account"]["id"]
    added = await svc.data(people["owner"], CREATE_CONTACT, account=account, name="Anna")
    contact = added["createContact"]["contact"]["id"]
    answers = {}
    for name, token in {**people, "stranger": stranger}.items():
        updated = await svc.data(token, UPDATE_CONTACT, id=contact, input={
            "name": f"Anna ({name})", "phone": "601 234 567", "email": "anna@kappa.pl"})
        answers[name] = updated["updateContact"]["__typename"]
    assert answers == {"owner": "ContactPayload", "peer": "Forbidden", "mgr_b": "Forbidden",
                       "mgr_a": "ContactPayload", "admin": "ContactPayload",
                       "stranger": "NotFound"}
    last = (await svc.data(people["owner"], UPDATE_CONTACT, id=contact, version=4, input={
        "name": "Anna Nowak", "position": "CFO"}))["updateContact"]
    assert last == {"__typename": "ContactPayload", "contact": {
        "id": contact, "name": "Anna Nowak", "email": None, "phone": None, "position": "CFO",
        "version": 5}}
    stale = (await svc.data(people["owner"], UPDATE_CONTACT, id=contact, version=4,
                            input={"name": "Anna"}))["updateContact"]
    assert (stale["__typename"], stale["currentVersion"]) == ("VersionConflict", 5)
    refused = (await svc.data(people["owner"], UPDATE_CONTACT, id=contact,
                              input={"name": " ", "email": "nope"}))["updateContact"]
    assert {".".join(map(str, f["path"])) for f in refused["fields"]} == {
        "input.name", "input.email"}

    answers = {name: (await svc.data(token, REMOVE_CONTACT, id=contact))["removeContact"][
        "__typename"] for name, token in (("peer", people["peer"]), ("stranger", stranger))}
    assert answers == {"peer": "Forbidden", "stranger": "NotFound"}
    removed = (await svc.data(people["mgr_a"], REMOVE_CONTACT, id=contact, version=5))[
        "removeContact"]
    assert removed == {"__typename": "RemoveContactPayload", "contactId": contact,
                       "account": {"id": account, "contacts": []}}
    assert (await svc.data(people["owner"], CONTACT, id=contact))["contact"] is None
    again = (await svc.data(people["owner"], REMOVE_CONTACT, id=contact))["removeContact"]
    assert again["__typename"] == "NotFound"

    updates = await svc.events(org_id=org.id, type=ContactUpdated.TYPE)
    assert [e.aggregate_version for e in updates] == [2, 3, 4, 5]
    [removal] = await svc.events(org_id=org.id, type=ContactRemoved.TYPE)
    assert (removal.aggregate_version, removal.payload) == (
        6, {"contact_id": contact, "account_id": account})


ERASE_LEAD = f"""mutation($id: ID!, $version: Int) {{ eraseLead(id: $id, version: $version) {{
    __typename ... on EraseLeadPayload {{ leadId }} {CHANGE_ERRORS} }} }}"""


async def test_only_an_admin_erases_a_lead_and_its_event_carries_nothing_of_it(
    leads_service, org, other_org
):
    svc = leads_service
    admin = org.token("admin", team=None)
    rep = org.token("rep", member_id=uuid.uuid4(), team="alpha")
    manager = org.token("manager", member_id=uuid.uuid4(), team="alpha")
    stranger = other_org.token("admin")
    lead_id = (await svc.data(admin, CREATE_LEAD, input={
        "company": "Żółw Sp. z o.o.", "contactName": "Jan Kowalski", "email": "jan@zolw.pl"}))[
        "createLead"]["lead"]["id"]
    await svc.data(rep, CLAIM, id=lead_id)
    answers = {name: (await svc.data(token, ERASE_LEAD, id=lead_id))["eraseLead"]["__typename"]
               for name, token in (("rep", rep), ("manager", manager), ("stranger", stranger))}
    assert answers == {"rep": "Forbidden", "manager": "Forbidden", "stranger": "NotFound"}
    stale = (await svc.data(admin, ERASE_LEAD, id=lead_id, version=1))["eraseLead"]
    assert stale["__typename"] == "VersionConflict"
    erased = (await svc.data(admin, ERASE_LEAD, id=lead_id, version=2))["eraseLead"]
    assert erased == {"__typename": "EraseLeadPayload", "leadId": lead_id}
    assert (await svc.data(admin, LEAD, id=lead_id))["lead"] is None
    again = (await svc.data(admin, ERASE_LEAD, id=lead_id))["eraseLead"]
    assert again["__typename"] == "NotFound"
    [event] = await svc.events(org_id=org.id, type=LeadErased.TYPE)
    assert event.aggregate_version == 3
    assert set(event.payload) == {"lead_id", "previous_owner_id", "previous_status", "erased_by"}
    assert "Kowalski" not in event.model_dump_json()
    # The same person is a new lead again, not a duplicate of what was erased.
    created = (await svc.data(admin, CREATE_LEAD, input={
        "company": "Żółw Sp. z o.o.", "email": "jan@zolw.pl"}))["createLead"]
    assert created["__typename"] == "LeadPayload"


async def test_a_rep_claims_a_pool_lead_before_converting_it_as_before_editing_it(
    leads_service, org
):
    svc = leads_service
    admin = org.token("admin", team=None)
    rep = org.token("rep", member_id=uuid.uuid4(), team="alpha")
    lead_id = (await svc.data(admin, CREATE_LEAD, input={"company": "Pool Convert"}))[
        "createLead"]["lead"]["id"]
    edited = (await svc.data(rep, UPDATE, id=lead_id, input={"notes": "x"}))["updateLead"]
    converted = (await svc.data(rep, CONVERT, id=lead_id, opp=OPPORTUNITY))["convertLead"]
    assert (edited["__typename"], converted["__typename"]) == ("Forbidden", "Forbidden")
    assert converted["message"] == "claim a pool lead before converting it"
    lead = (await svc.data(rep, LEAD, id=lead_id))["lead"]
    assert (lead["status"], lead["ownerId"], lead["opportunityId"]) == ("NEW", None, None)
    assert await svc.events(org_id=org.id, type=LeadConverted.TYPE) == []
    await svc.data(rep, CLAIM, id=lead_id)
    done = (await svc.data(rep, CONVERT, id=lead_id, opp=OPPORTUNITY))["convertLead"]
    assert done["__typename"] == "ConvertLeadPayload"
    # A manager may still convert a pool lead as it is (and becomes its owner).
    manager = org.token("manager", member_id=uuid.uuid4(), team="alpha")
    pooled = (await svc.data(admin, CREATE_LEAD, input={"company": "Pool Convert 2"}))[
        "createLead"]["lead"]["id"]
    by_manager = (await svc.data(manager, CONVERT, id=pooled, opp=OPPORTUNITY))["convertLead"]
    assert by_manager["__typename"] == "ConvertLeadPayload"


async def test_a_duplicate_names_only_a_lead_the_caller_may_see(leads_service, org):
    svc = leads_service
    admin = org.token("admin", team=None)
    rep_a = org.token("rep", member_id=uuid.uuid4(), team="alpha")
    rep_b = org.token("rep", member_id=uuid.uuid4(), team="beta")
    hidden = (await svc.data(rep_b, CREATE_LEAD, input={"company": "Hidden",
                                                         "email": "hidden@example.com"}))
    hidden_id = hidden["createLead"]["lead"]["id"]
    await svc.data(rep_b, CLAIM, id=hidden_id)
    pooled = (await svc.data(admin, CREATE_LEAD, input={"company": "Pooled",
                                                        "email": "pooled@example.com"}))
    pooled_id = pooled["createLead"]["lead"]["id"]

    async def duplicate(token, email):
        return (await svc.data(token, CREATE_LEAD, input={"company": "New",
                                                          "email": email}))["createLead"]

    unseen = await duplicate(rep_a, "hidden@example.com")
    assert (unseen["__typename"], unseen["existingLeadId"], unseen["matchedOn"]) == (
        "DuplicateLead", None, ["email"])
    assert hidden_id not in unseen["message"]
    assert (await duplicate(admin, "hidden@example.com"))["existingLeadId"] == hidden_id
    assert (await duplicate(rep_a, "pooled@example.com"))["existingLeadId"] == pooled_id
    # An import by a manager of another team says the row is a duplicate, naming nothing.
    manager_a = org.token("manager", member_id=uuid.uuid4(), team="alpha")
    report = (await svc.data(manager_a, IMPORT, csv="company,email\nNew,hidden@example.com\n"
                             "Other,pooled@example.com\n"))["importLeads"]
    assert [(d["line"], d["existingLeadId"]) for d in report["duplicates"]] == [
        (2, None), (3, pooled_id)]

import uuid

import pytest

from .queries import CLAIM, CREATE_LEAD, LEAD, LEADS, ME

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

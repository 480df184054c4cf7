import asyncio
import uuid
from collections import Counter

import pytest

from crmkit.contracts.leads import LeadAssigned, LeadReleased, MemberUpdated
from crmkit.outbox import on_outbox_commit
from services.leads.events import lead_assigned
from services.leads.records import LeadRecord

from .queries import (
    ASSIGN,
    CLAIM,
    CLAIM_NEXT,
    CREATE_LEAD,
    IMPORT,
    LEAD,
    ME,
    REASSIGN,
    RELEASE,
    SET_CAP,
)

pytestmark = pytest.mark.integration


async def pool(svc, org, count, **fields):
    token = org.token("admin")
    ids = []
    for i in range(count):
        data = await svc.data(token, CREATE_LEAD, input={"company": f"Pool {uuid.uuid4()}",
                                                         **fields, "priority": fields.get(
                                                             "priority", 0)})
        ids.append(data["createLead"]["lead"]["id"])
        del i
    return ids


async def member(svc, org, role="rep", team="alpha"):
    member_id = uuid.uuid4()
    token = org.token(role, member_id=member_id, team=team)
    await svc.data(token, ME)
    return member_id, token


async def test_claim_next_takes_priority_then_age_within_cap(leads_service, org):
    low = await pool(leads_service, org, 3)
    high = await pool(leads_service, org, 2, priority=9)
    _, admin = await member(leads_service, org, "admin", None)
    rep, token = await member(leads_service, org)
    await leads_service.data(admin, SET_CAP, member=str(rep), cap=4)
    result = (await leads_service.data(token, CLAIM_NEXT, count=10))["claimNextLeads"]
    assert [lead["id"] for lead in result["leads"]] == [*high, *low[:2]]
    assert (result["requested"], result["leadCap"], result["activeLeads"]) == (10, 4, 4)
    assert all(lead["status"] == "ASSIGNED" and lead["ownerId"] == str(rep)
               for lead in result["leads"])
    again = (await leads_service.data(token, CLAIM_NEXT, count=1))["claimNextLeads"]
    assert again["leads"] == [] and again["activeLeads"] == 4
    one = (await leads_service.data(token, CLAIM, id=low[2]))["claimLead"]
    assert one["__typename"] == "CapExceeded" and one["fits"] == 0
    envelopes = await leads_service.events(org_id=org.id, type=LeadAssigned.TYPE)
    events = [e.parse(LeadAssigned) for e in envelopes]
    assert len(events) == 4 and {e.via for e in events} == {"claim"}
    assert all(e.assigned_by == rep and e.owner_lead_cap == 4 and e.team == "alpha"
               for e in events)
    # The claim statement builds its envelopes in SQL: exactly what the Python side emits.
    assert [e.aggregate_id for e in envelopes] == [uuid.UUID(i) for i in [*high, *low[:2]]]
    for envelope in envelopes:
        [row] = await leads_service.sql("SELECT * FROM leads WHERE id = :id",
                                        id=envelope.aggregate_id)
        lead = LeadRecord.from_row(row)
        assert envelope.parse(LeadAssigned) == lead_assigned(lead, "NEW", None, None, 4, rep,
                                                             "claim")
        assert (envelope.org_id, envelope.actor_id, envelope.aggregate_version) == (
            org.id, rep, lead.version)


async def test_claim_filter_and_release(leads_service, org):
    [fair] = await pool(leads_service, org, 1, source="fair")
    await pool(leads_service, org, 2, source="web")
    rep, token = await member(leads_service, org)
    result = (await leads_service.data(token, CLAIM_NEXT, count=5,
                                      filter={"source": "fair"}))["claimNextLeads"]
    assert [lead["id"] for lead in result["leads"]] == [fair]
    released = (await leads_service.data(token, RELEASE, id=fair))["releaseLead"]["lead"]
    assert (released["ownerId"], released["status"]) == (None, "NEW")
    twice = (await leads_service.data(token, RELEASE, id=fair))["releaseLead"]
    assert twice["__typename"] == "InvalidLeadState"
    [event] = await leads_service.events(org_id=org.id, type=LeadReleased.TYPE)
    payload = event.parse(LeadReleased)
    assert (payload.previous_owner_id, payload.released_by, payload.reason) == (
        rep, rep, "released"
    )
    other_rep, other = await member(leads_service, org)
    assert (await leads_service.data(other, CLAIM, id=fair))["claimLead"]["lead"]["ownerId"] == (
        str(other_rep)
    )
    stolen = (await leads_service.data(token, CLAIM, id=fair))["claimLead"]
    assert stolen["__typename"] == "NotFound"  # someone else's lead is invisible to a rep


async def test_assignment_respects_cap_all_or_nothing(leads_service, org):
    ids = await pool(leads_service, org, 5)
    rep, _ = await member(leads_service, org, team="alpha")
    manager_id, manager = await member(leads_service, org, "manager", team="alpha")
    capped = (await leads_service.data(manager, SET_CAP, member=str(rep), cap=3))["setLeadCap"]
    assert capped["member"]["leadCap"] == 3 and capped["member"]["customLeadCap"] == 3
    refused = (await leads_service.data(manager, ASSIGN, ids=ids, member=str(rep)))["assignLeads"]
    assert refused["__typename"] == "CapExceeded"
    assert (refused["fits"], refused["requested"], refused["leadCap"], refused["activeLeads"]) == (
        3, 5, 3, 0
    )
    for lead_id in ids:
        assert (await leads_service.data(manager, LEAD, id=lead_id))["lead"]["ownerId"] is None
    assert await leads_service.events(org_id=org.id, type=LeadAssigned.TYPE) == []
    done = (await leads_service.data(manager, ASSIGN, ids=ids[:3], member=str(rep)))["assignLeads"]
    assert {lead["ownerId"] for lead in done["leads"]} == {str(rep)}
    assigned = await leads_service.events(org_id=org.id, type=LeadAssigned.TYPE)
    events = [e.parse(LeadAssigned) for e in assigned]
    assert [(e.via, e.assigned_by, e.owner_id) for e in events] == [
        ("assignment", manager_id, rep)] * 3
    # Reassigning one of them to a member with room moves it and names the previous owner.
    second, _ = await member(leads_service, org, team="alpha")
    moved = (await leads_service.data(manager, REASSIGN, id=ids[0], member=str(second)))
    assert moved["reassignLead"]["lead"]["ownerId"] == str(second)
    assigned = await leads_service.events(org_id=org.id, type=LeadAssigned.TYPE)
    last = assigned[-1].parse(LeadAssigned)
    assert (last.via, last.previous_owner_id) == ("reassignment", rep)


async def test_assignment_permissions(leads_service, org):
    [lead] = await pool(leads_service, org, 1)
    beta_rep, _ = await member(leads_service, org, team="beta")
    _, alpha_manager = await member(leads_service, org, "manager", team="alpha")
    _, rep = await member(leads_service, org)
    _, admin = await member(leads_service, org, "admin", team=None)
    for token in (alpha_manager, rep):
        result = (await leads_service.data(token, ASSIGN, ids=[lead], member=str(beta_rep)))
        assert result["assignLeads"]["__typename"] == "Forbidden"
        cap = (await leads_service.data(token, SET_CAP, member=str(beta_rep), cap=1))
        assert cap["setLeadCap"]["__typename"] == "Forbidden"
    ok = (await leads_service.data(admin, ASSIGN, ids=[lead], member=str(beta_rep)))
    assert ok["assignLeads"]["__typename"] == "LeadsPayload"
    unknown = (await leads_service.data(admin, ASSIGN, ids=[lead], member=str(uuid.uuid4())))
    assert unknown["assignLeads"]["__typename"] == "NotFound"
    cap_events = await leads_service.events(org_id=org.id, type=MemberUpdated.TYPE)
    assert all(e.parse(MemberUpdated).changed == ["registered"] for e in cap_events)


async def test_cap_change_is_announced(leads_service, org):
    rep, _ = await member(leads_service, org)
    _, admin = await member(leads_service, org, "admin", team=None)
    await leads_service.data(admin, SET_CAP, member=str(rep), cap=7)
    await leads_service.data(admin, SET_CAP, member=str(rep), cap=7)  # unchanged: no event
    await leads_service.data(admin, SET_CAP, member=str(rep), cap=None)
    updates = [e.parse(MemberUpdated)
               for e in await leads_service.events(org_id=org.id, type=MemberUpdated.TYPE)]
    changes = [(u.member_id, u.previous_lead_cap, u.lead_cap, u.lead_cap_override)
               for u in updates if u.changed == ["lead_cap"]]
    assert changes == [(rep, 50, 7, 7), (rep, 7, 50, None)]


async def test_fifty_concurrent_claimers_never_share_a_lead_or_exceed_a_cap(leads_service, org):
    # 300 pool leads in one statement through the import (fast), then 50 claimers racing.
    csv = "company;email\n" + "".join(f"Race {i};race{i}@race{i}.pl\n" for i in range(300))
    _, admin = await member(leads_service, org, "admin", team=None)
    report = (await leads_service.data(admin, IMPORT, csv=csv))["importLeads"]
    assert report["createdCount"] == 300
    lead_ids = {row["leadId"] for row in report["created"]}
    claimers = [await member(leads_service, org, team=f"t{i % 5}") for i in range(50)]
    caps = {}
    for i, (member_id, _) in enumerate(claimers):
        caps[member_id] = 3 + i % 6  # 3..8: 271 in total, the pool nearly runs dry
        await leads_service.data(admin, SET_CAP, member=str(member_id), cap=caps[member_id])

    async def claim_until_full(token):
        got = []
        for _ in range(12):
            result = (await leads_service.data(token, CLAIM_NEXT, count=2))["claimNextLeads"]
            got.extend(lead["id"] for lead in result["leads"])
        return got

    results = await asyncio.gather(*(claim_until_full(token) for _, token in claimers))
    claimed = [lead for got in results for lead in got]
    assert len(claimed) == len(set(claimed)), "a lead was handed to two claimers"
    assert set(claimed) <= lead_ids
    rows = await leads_service.sql(
        "SELECT owner_id, count(*) FROM leads WHERE org_id = :org AND owner_id IS NOT NULL "
        "GROUP BY owner_id", org=org.id)
    held = dict(rows)
    for (member_id, _), got in zip(claimers, results, strict=True):
        assert held.get(member_id, 0) == len(got) <= caps[member_id]
    assert sum(held.values()) == sum(caps.values()) == 271
    events = await leads_service.events(org_id=org.id, type=LeadAssigned.TYPE)
    assert Counter(str(e.aggregate_id) for e in events) == Counter(claimed)


async def test_a_claim_wakes_the_relay_instead_of_notifying(leads_service, org, request):
    await pool(leads_service, org, 1)
    _, token = await member(leads_service, org)
    wakes = []
    request.addfinalizer(on_outbox_commit(lambda: wakes.append(1)))
    first = (await leads_service.data(token, CLAIM_NEXT, count=5))["claimNextLeads"]
    assert len(first["leads"]) == 1 and wakes == [1]
    empty = (await leads_service.data(token, CLAIM_NEXT, count=5))["claimNextLeads"]
    assert empty["leads"] == [] and wakes == [1]

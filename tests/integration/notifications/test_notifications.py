"""In-app notifications: what makes one, when, for whom, and only once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from crmkit.contracts import Envelope
from crmkit.contracts import documents as doc
from crmkit.contracts import leads as ld
from crmkit.contracts import pipeline as pl
from crmkit.testing.plugin import Org

from .conftest import (
    MARK_READ,
    START,
    UPDATE_SETTINGS,
    Notifications,
    activity,
    listed,
    opportunity,
)


async def test_a_meeting_is_reminded_once_at_the_owners_lead_time(
    api: Notifications, org: Org
) -> None:
    member = uuid.uuid4()
    token = org.token(member_id=member)
    deal = uuid.uuid4()
    await api.deliver(opportunity(opportunity_id=deal, owner_id=member), org.id, deal)
    meeting = activity(owner_id=member, due_at=START + timedelta(minutes=40),
                       opportunity_id=deal)
    await api.deliver(meeting, org.id, meeting.activity_id)
    task = activity("task", owner_id=member, due_at=START + timedelta(minutes=30))
    await api.deliver(task, org.id, task.activity_id)

    api.clock.advance(minutes=24)  # 16 minutes before: not yet
    await api.remind()
    assert await listed(api, token) == []

    api.clock.advance(minutes=1)  # 15 minutes before
    await api.remind()
    await api.remind()  # a second pass (another process) adds nothing
    [reminder] = await listed(api, token)
    assert reminder["kind"] == "ACTIVITY_DUE"
    assert reminder["title"] == "Demo for ACME"
    assert reminder["detail"] == "ACME renewal"
    assert reminder["subjectId"] == str(meeting.activity_id)
    assert reminder["dueAt"].startswith("2026-03-02T08:40:00")
    assert reminder["read"] is False

    api.clock.advance(minutes=20)  # it has started: no second reminder, tasks none at all
    await api.remind()
    assert len(await listed(api, token)) == 1


async def test_a_rescheduled_call_is_reminded_again_and_a_cancelled_one_not(
    api: Notifications, org: Org
) -> None:
    member = uuid.uuid4()
    token = org.token(member_id=member)
    await api.data(token, UPDATE_SETTINGS, input={"leadMinutes": 60})
    call = activity("call", owner_id=member, due_at=START + timedelta(minutes=50))
    await api.deliver(call, org.id, call.activity_id, 1)
    await api.remind()
    assert len(await listed(api, token)) == 1  # within the hour of lead time

    later = START + timedelta(hours=3)
    moved = activity("call", owner_id=member, due_at=later, activity_id=call.activity_id,
                     opportunity_id=call.opportunity_id, cls=pl.ActivityRescheduled,
                     previous_due_at=call.due_at)
    await api.deliver(moved, org.id, call.activity_id, 2)
    api.clock.now = later - timedelta(minutes=59)
    await api.remind()
    found = await listed(api, token)
    assert [n["dueAt"][:16] for n in found] == ["2026-03-02T11:00", "2026-03-02T08:50"]

    other = activity("meeting", owner_id=member, due_at=api.clock.now + timedelta(minutes=30))
    await api.deliver(other, org.id, other.activity_id, 1)
    cancelled = activity("meeting", owner_id=member, due_at=other.due_at,
                         activity_id=other.activity_id, opportunity_id=other.opportunity_id,
                         status="cancelled", cls=pl.ActivityCancelled)
    await api.deliver(cancelled, org.id, other.activity_id, 2)
    await api.remind()
    assert len(await listed(api, token)) == 2


async def test_a_call_handed_over_with_its_deal_reminds_the_new_owner(
    api: Notifications, org: Org
) -> None:
    rita, rob = uuid.uuid4(), uuid.uuid4()
    call = activity("call", owner_id=rita, due_at=START + timedelta(minutes=30))
    await api.deliver(call, org.id, call.activity_id, 1)
    handed = activity("call", owner_id=rob, due_at=call.due_at, activity_id=call.activity_id,
                      opportunity_id=call.opportunity_id, cls=pl.ActivityReassigned,
                      previous_owner_id=rita)
    await api.deliver(handed, org.id, call.activity_id, 2)
    await api.deliver(call, org.id, call.activity_id, 1)  # redelivered late: older, ignored
    api.clock.advance(minutes=15)
    await api.remind()
    assert await listed(api, org.token(member_id=rita)) == []
    [reminder] = await listed(api, org.token(member_id=rob))
    assert (reminder["kind"], reminder["subjectId"]) == ("ACTIVITY_DUE", str(call.activity_id))


async def test_an_overdue_activity_notifies_its_owner_once(api: Notifications, org: Org) -> None:
    member = uuid.uuid4()
    token = org.token(member_id=member)
    overdue = activity("task", owner_id=member, due_at=START - timedelta(hours=1),
                       cls=pl.ActivityOverdue, detected_at=START, subject="Send the price list")
    event_id = uuid.uuid4()
    assert await api.deliver(overdue, org.id, overdue.activity_id, 2, event_id=event_id)
    assert not await api.deliver(overdue, org.id, overdue.activity_id, 2, event_id=event_id)
    [notice] = await listed(api, token)
    assert (notice["kind"], notice["title"]) == ("ACTIVITY_OVERDUE", "Send the price list")


async def test_a_lead_given_by_someone_else_notifies_a_claim_does_not(
    api: Notifications, org: Org
) -> None:
    member, manager = uuid.uuid4(), uuid.uuid4()
    token = org.token(member_id=member)
    given, claimed = uuid.uuid4(), uuid.uuid4()
    for lead_id, company in ((given, "Globex"), (claimed, "Initech")):
        await api.deliver(ld.LeadCreated(lead_id=lead_id, company=company), org.id, lead_id, 1)
    await api.deliver(ld.LeadAssigned(lead_id=given, owner_id=member, assigned_by=manager,
                                      via="assignment"), org.id, given, 2)
    await api.deliver(ld.LeadAssigned(lead_id=claimed, owner_id=member, assigned_by=member),
                      org.id, claimed, 2)
    [notice] = await listed(api, token)
    assert (notice["kind"], notice["title"], notice["subjectId"]) == (
        "LEAD_ASSIGNED", "Globex", str(given)
    )


async def test_a_deal_handed_over_notifies_its_new_owner_once(
    api: Notifications, org: Org
) -> None:
    rita, rob, manager = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    deal = uuid.uuid4()
    await api.deliver(opportunity(opportunity_id=deal, owner_id=rita, name="Fleet"),
                      org.id, deal, 1)
    renamed = opportunity(pl.OpportunityUpdated, opportunity_id=deal, owner_id=rita,
                          name="Fleet 2027", changed=["name"])
    handed = opportunity(pl.OpportunityUpdated, opportunity_id=deal, owner_id=rob,
                         name="Fleet 2027", changed=["owner_id"])
    taken_back = opportunity(pl.OpportunityUpdated, opportunity_id=deal, owner_id=rita,
                             name="Fleet 2027", changed=["owner_id"])
    for version, event, actor in ((2, renamed, rita), (3, handed, manager), (4, taken_back, rita)):
        envelope = Envelope.wrap(event, org_id=org.id, aggregate_id=deal,
                                 aggregate_version=version, actor_id=actor)
        assert await api.client.deliver(envelope)
        await api.client.deliver(envelope)  # redelivered: still one notice
    [notice] = await listed(api, org.token(member_id=rob))
    assert (notice["kind"], notice["title"], notice["subjectId"], notice["opportunityId"]) == (
        "DEAL_ASSIGNED", "Fleet 2027", str(deal), str(deal))
    # Rita took it back herself (an admin can): nothing tells her what she did.
    assert await listed(api, org.token(member_id=rita)) == []


async def test_a_deal_moved_without_a_next_contact_notifies_after_the_grace_period(
    api: Notifications, org: Org
) -> None:
    member = uuid.uuid4()
    token = org.token(member_id=member)
    bare, planned = uuid.uuid4(), uuid.uuid4()
    for deal, name in ((bare, "Bare deal"), (planned, "Planned deal")):
        await api.deliver(opportunity(opportunity_id=deal, owner_id=member, name=name),
                          org.id, deal, 1)
        moved = opportunity(
            pl.OpportunityStageChanged, opportunity_id=deal, owner_id=member, name=name,
            stage_name="Offer", from_stage_id=uuid.uuid4(), to_stage_id=uuid.uuid4(),
            entered_at=START, seconds_in_previous_stage=60,
        )
        await api.deliver(moved, org.id, deal, 2)
    call = activity("call", owner_id=member, due_at=START + timedelta(days=2),
                    opportunity_id=planned)
    await api.deliver(call, org.id, call.activity_id)

    api.clock.advance(minutes=29)
    await api.remind()
    assert await listed(api, token) == []
    api.clock.advance(minutes=1)
    await api.remind()
    await api.remind()
    [notice] = await listed(api, token)
    assert (notice["kind"], notice["title"], notice["detail"]) == (
        "NO_NEXT_CONTACT", "Bare deal", "Offer"
    )


async def test_the_owner_hears_an_offer_accepted_or_rejected(
    api: Notifications, org: Org
) -> None:
    member, clerk = uuid.uuid4(), uuid.uuid4()
    token = org.token(member_id=member)
    deal = uuid.uuid4()
    await api.deliver(opportunity(opportunity_id=deal, owner_id=member), org.id, deal)
    accepted, rejected = uuid.uuid4(), uuid.uuid4()
    await api.deliver(doc.OfferAccepted(
        offer_id=accepted, opportunity_id=deal, number="OF/2026/03/0001", title="Licences",
        revision=1, issued_by=clerk, decided_at=START, accepted_by=clerk,
    ), org.id, accepted, 2)
    await api.deliver(doc.OfferRejected(
        offer_id=rejected, opportunity_id=deal, title="Services", revision=2,
        issued_by=clerk, decided_at=START, rejected_by=clerk,
    ), org.id, rejected, 3)
    found = {n["kind"]: n for n in await listed(api, token)}
    assert found["OFFER_ACCEPTED"]["title"] == "OF/2026/03/0001 Licences"
    assert found["OFFER_ACCEPTED"]["detail"] == "ACME renewal"
    assert found["OFFER_REJECTED"]["title"] == "Services"
    assert await listed(api, org.token(member_id=clerk)) == []


async def test_pages_unread_only_and_marking_read(api: Notifications, org: Org) -> None:
    member = uuid.uuid4()
    token = org.token(member_id=member)
    for n in range(5):
        api.clock.advance(minutes=1)
        overdue = activity("task", owner_id=member, due_at=START, subject=f"Task {n}",
                           cls=pl.ActivityOverdue, detected_at=api.clock.now)
        await api.deliver(overdue, org.id, overdue.activity_id, 2)

    first = await api.data(token, """{ notifications(first: 2) {
        edges { node { id title } } pageInfo { hasNextPage endCursor } } }""")
    page = first["notifications"]
    assert [e["node"]["title"] for e in page["edges"]] == ["Task 4", "Task 3"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await listed(api, token, after=page["pageInfo"]["endCursor"])
    assert [n["title"] for n in rest] == ["Task 2", "Task 1", "Task 0"]

    newest = page["edges"][0]["node"]["id"]
    stranger = org.token(member_id=uuid.uuid4())
    marked = (await api.data(stranger, MARK_READ, ids=[newest]))["markNotificationsRead"]
    assert marked == {"__typename": "MarkNotificationsReadPayload", "marked": 0,
                      "unreadCount": 0}
    marked = (await api.data(token, MARK_READ, ids=[newest]))["markNotificationsRead"]
    assert (marked["marked"], marked["unreadCount"]) == (1, 4)
    unread = await listed(api, token, unread=True)
    assert [n["title"] for n in unread] == ["Task 3", "Task 2", "Task 1", "Task 0"]

    refused = (await api.data(token, MARK_READ))["markNotificationsRead"]
    assert refused["__typename"] == "ValidationError"
    refused = (await api.data(token, MARK_READ, ids=["nope"]))["markNotificationsRead"]
    assert refused["fields"][0]["path"] == ["ids", "0"]
    marked = (await api.data(token, MARK_READ, all=True))["markNotificationsRead"]
    assert (marked["marked"], marked["unreadCount"]) == (4, 0)
    body = await api.client.call(token, "{ notifications(first: 500) { edges { cursor } } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_kind_switched_off_in_app_is_not_listed(api: Notifications, org: Org) -> None:
    member = uuid.uuid4()
    token = org.token(member_id=member)
    off = {"kind": "ACTIVITY_OVERDUE", "inApp": False, "email": True}
    await api.data(token, UPDATE_SETTINGS, input={"channels": [off]})
    overdue = activity("task", owner_id=member, due_at=START, cls=pl.ActivityOverdue,
                       detected_at=START)
    await api.deliver(overdue, org.id, overdue.activity_id, 2)
    assert await listed(api, token) == []


async def test_another_orgs_events_never_reach_this_orgs_members(
    api: Notifications, org: Org, other_org: Org
) -> None:
    member = uuid.uuid4()  # the same member id in both orgs: the org still tells them apart
    overdue = activity("task", owner_id=member, due_at=START, cls=pl.ActivityOverdue,
                       detected_at=START)
    await api.deliver(overdue, other_org.id, overdue.activity_id, 2)
    soon = activity("meeting", owner_id=member, due_at=START + timedelta(minutes=5))
    await api.deliver(soon, other_org.id, soon.activity_id, 1)
    await api.remind()
    assert await listed(api, org.token(member_id=member)) == []
    assert len(await listed(api, other_org.token(member_id=member))) == 2
    mine = await listed(api, other_org.token(member_id=member))
    marked = (await api.data(org.token(member_id=member), MARK_READ, ids=[mine[0]["id"]]))
    assert marked["markNotificationsRead"]["marked"] == 0

"""The calendar feed: parsed with icalendar it holds the member's activities and no one
else's, follows reschedule, cancel and complete, and a rotated address stops working."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from icalendar import Calendar

from crmkit.contracts import leads as ld
from crmkit.contracts import pipeline as pl
from crmkit.testing.plugin import Org

from .conftest import START, Notifications, activity, opportunity

FEED_URL = "{ calendarFeedUrl }"
ROTATE = """mutation { rotateCalendarFeed { __typename
  ... on CalendarFeedPayload { url } } }"""


async def fetch(api: Notifications, url: str) -> tuple[int, Calendar | None]:
    response = await api.client.http.get(urlsplit(url).path)
    if response.status_code != 200:
        return response.status_code, None
    assert response.headers["content-type"].startswith("text/calendar")
    return 200, Calendar.from_ical(response.content)


def by_uid(cal: Calendar) -> dict[str, object]:
    return {str(c["UID"]): c for c in cal.walk() if c.name in ("VEVENT", "VTODO")}


async def test_the_feed_holds_the_members_activities_and_follows_them(
    api: Notifications, org: Org, other_org: Org
) -> None:
    member, colleague = uuid.uuid4(), uuid.uuid4()
    token = org.token(member_id=member)
    url = (await api.data(token, FEED_URL))["calendarFeedUrl"]
    assert url.startswith("https://crm.example.com/feeds/calendar/") and url.endswith(".ics")
    assert (await api.data(token, FEED_URL))["calendarFeedUrl"] == url  # the same each time

    account, deal = uuid.uuid4(), uuid.uuid4()
    await api.deliver(ld.AccountCreated(account_id=account, name="ACME S.A."), org.id, account)
    await api.deliver(opportunity(opportunity_id=deal, owner_id=member, account_id=account),
                      org.id, deal)
    meeting = activity("meeting", owner_id=member, due_at=START + timedelta(days=1),
                       opportunity_id=deal, subject="Demo")
    task = activity("task", owner_id=member, due_at=START + timedelta(days=2),
                    opportunity_id=deal, subject="Send the offer")
    cancelled = activity("call", owner_id=member, due_at=START + timedelta(hours=3),
                         opportunity_id=deal, subject="Call to cancel")
    theirs = activity("call", owner_id=colleague, due_at=START + timedelta(hours=4),
                      subject="Their call")
    elsewhere = activity("call", owner_id=member, due_at=START + timedelta(hours=5),
                         subject="Another org's call")
    for item in (meeting, task, cancelled, theirs):
        await api.deliver(item, org.id, item.activity_id, 1)
    await api.deliver(elsewhere, other_org.id, elsewhere.activity_id, 1)

    status, cal = await fetch(api, url)
    assert status == 200 and cal is not None
    found = by_uid(cal)
    assert set(found) == {f"{x.activity_id}@crm" for x in (meeting, task, cancelled)}
    event = found[f"{meeting.activity_id}@crm"]
    assert event.name == "VEVENT"
    assert str(event["SUMMARY"]) == "Demo"
    assert event.decoded("DTSTART") == meeting.due_at
    assert event.decoded("DTEND") == meeting.due_at + timedelta(hours=1)
    description = str(event["DESCRIPTION"])
    assert "Deal: ACME renewal" in description and "Client: ACME S.A." in description
    assert str(event["URL"]) == f"https://crm.example.com/deals/{deal}"
    todo = found[f"{task.activity_id}@crm"]
    assert (todo.name, str(todo["STATUS"])) == ("VTODO", "NEEDS-ACTION")

    later = meeting.due_at + timedelta(hours=2)
    await api.deliver(activity(
        "meeting", owner_id=member, due_at=later, activity_id=meeting.activity_id,
        opportunity_id=deal, subject="Demo", cls=pl.ActivityRescheduled,
        previous_due_at=meeting.due_at,
    ), org.id, meeting.activity_id, 2)
    await api.deliver(activity(
        "call", owner_id=member, due_at=cancelled.due_at, activity_id=cancelled.activity_id,
        opportunity_id=deal, subject="Call to cancel", status="cancelled",
        cls=pl.ActivityCancelled,
    ), org.id, cancelled.activity_id, 2)
    await api.deliver(activity(
        "task", owner_id=member, due_at=task.due_at, activity_id=task.activity_id,
        opportunity_id=deal, subject="Send the offer", status="done",
        completed_at=START + timedelta(days=1, hours=1), cls=pl.ActivityCompleted,
    ), org.id, task.activity_id, 2)

    _, cal = await fetch(api, url)
    assert cal is not None
    found = by_uid(cal)
    assert set(found) == {f"{meeting.activity_id}@crm", f"{task.activity_id}@crm"}
    moved = found[f"{meeting.activity_id}@crm"]
    assert moved.decoded("DTSTART") == later
    assert moved["SEQUENCE"] == 2
    done = found[f"{task.activity_id}@crm"]
    assert str(done["STATUS"]) == "COMPLETED"
    assert done.decoded("COMPLETED") == START + timedelta(days=1, hours=1)

    # Another member of the org and the same member id in another org have feeds of their own.
    other = (await api.data(other_org.token(member_id=member), FEED_URL))["calendarFeedUrl"]
    assert other != url
    _, cal = await fetch(api, other)
    assert cal is not None
    assert set(by_uid(cal)) == {f"{elsewhere.activity_id}@crm"}


async def test_a_rotated_address_stops_working(api: Notifications, org: Org) -> None:
    token = org.token(member_id=uuid.uuid4())
    old = (await api.data(token, FEED_URL))["calendarFeedUrl"]
    assert (await fetch(api, old))[0] == 200
    rotated = (await api.data(token, ROTATE))["rotateCalendarFeed"]
    assert rotated["__typename"] == "CalendarFeedPayload"
    assert rotated["url"] != old
    assert (await fetch(api, old))[0] == 404
    assert (await fetch(api, rotated["url"]))[0] == 200
    assert (await api.data(token, FEED_URL))["calendarFeedUrl"] == rotated["url"]
    for guess in ("/feeds/calendar/x.ics", "/feeds/calendar/" + "A" * 43 + ".ics"):
        assert (await api.client.http.get(guess)).status_code == 404

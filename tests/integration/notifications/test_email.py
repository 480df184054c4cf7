"""Email against a real SMTP server (aiosmtpd): a reminder arrives once, at its minute, and
not again after a restart; in the member's language and time zone; each kind switchable;
temporary failures retried, permanent ones shown; the morning digest lists exactly the
member's items at their hour."""

from __future__ import annotations

import uuid
from datetime import timedelta

from crmkit.contracts import leads as ld
from crmkit.contracts import pipeline as pl
from crmkit.testing.plugin import Org

from .conftest import (
    START,
    UPDATE_SETTINGS,
    Notifications,
    activity,
    listed,
    opportunity,
    running,
)

EMAIL_STATUS = """{ notifications { edges { node { kind emailStatus emailError } } } }"""


async def member_with_email(api: Notifications, org: Org, **settings: object) -> tuple[
    uuid.UUID, str, str
]:
    member = uuid.uuid4()
    address = f"{member.hex[:12]}@example.com"
    token = org.token(member_id=member)
    answer = await api.data(token, UPDATE_SETTINGS, input={"email": address, **settings})
    assert answer["updateMyNotificationSettings"]["__typename"] == \
        "UpdateMyNotificationSettingsPayload", answer
    return member, address, token


async def test_a_reminder_arrives_once_at_its_minute_and_not_again_after_a_restart(
    api: Notifications, org: Org
) -> None:
    member, address, token = await member_with_email(api, org)
    deal = uuid.uuid4()
    await api.deliver(opportunity(opportunity_id=deal, owner_id=member), org.id, deal)
    meeting = activity(owner_id=member, due_at=START + timedelta(minutes=40),
                       opportunity_id=deal)
    await api.deliver(meeting, org.id, meeting.activity_id)

    api.clock.advance(minutes=24)
    await api.remind()
    await api.send()
    assert api.sink.to(address) == []

    api.clock.advance(minutes=1)  # 08:25 UTC, fifteen minutes before
    await api.remind()
    assert (await api.send()).sent == 1
    await api.send()
    [email] = api.sink.to(address)
    # The member chose no time zone: the default's (Europe/Warsaw) clock, as on the dashboard.
    assert email["Subject"] == "At 09:40: Demo for ACME"
    text = email.get_content()
    assert '"Demo for ACME" starts at 09:40' in text
    assert "Deal: ACME renewal" in text
    assert f"https://crm.example.com/deals/{deal}" in text
    status = (await api.data(token, EMAIL_STATUS))["notifications"]["edges"][0]["node"]
    assert status == {"kind": "ACTIVITY_DUE", "emailStatus": "SENT", "emailError": None}

    # The service is stopped and started again (its runtime, consumers and workers): the
    # reminder pass and the sender run again at the same minute and after it.
    await api.client.runtime.stop()
    async with running(api.settings, api.clock, api.sink) as again:
        await again.deliver(meeting, org.id, meeting.activity_id)  # a redelivery, say
        await again.remind()
        await again.send()
        again.clock.advance(minutes=5)
        await again.remind()
        await again.send()
        assert len(api.sink.to(address)) == 1
        assert len(await listed(again, token)) == 1


async def test_a_polish_member_gets_polish_email_in_their_time_zone(
    api: Notifications, org: Org
) -> None:
    member, address, _ = await member_with_email(
        api, org, language="pl", timeZone="Europe/Warsaw"
    )
    call = activity("call", owner_id=member, due_at=START + timedelta(minutes=10),
                    subject="Telefon do Orlen")
    await api.deliver(call, org.id, call.activity_id)
    await api.remind()
    await api.send()
    [email] = api.sink.to(address)
    assert email["Subject"] == "O 09:10: Telefon do Orlen"  # 08:10 UTC is 09:10 in Warsaw
    assert "„Telefon do Orlen” zaczyna się o 09:10 (2 mar 2026)." in email.get_content()


async def test_each_kind_is_switchable_by_email(api: Notifications, org: Org) -> None:
    off = [{"kind": "LEAD_ASSIGNED", "inApp": True, "email": False}]
    member, address, token = await member_with_email(api, org, channels=off)
    lead = uuid.uuid4()
    await api.deliver(ld.LeadCreated(lead_id=lead, company="Globex"), org.id, lead, 1)
    await api.deliver(ld.LeadAssigned(lead_id=lead, owner_id=member, assigned_by=uuid.uuid4()),
                      org.id, lead, 2)
    overdue = activity("task", owner_id=member, due_at=START, cls=pl.ActivityOverdue,
                       detected_at=START, subject="Send the contract")
    await api.deliver(overdue, org.id, overdue.activity_id, 2)
    await api.send()
    assert [m["Subject"] for m in api.sink.to(address)] == ["Overdue: Send the contract"]
    assert len(await listed(api, token)) == 2


async def test_a_temporary_failure_is_retried_and_a_permanent_one_shown(
    api: Notifications, org: Org
) -> None:
    member, address, token = await member_with_email(api, org)
    api.sink.refuse[:] = ["451 4.3.0 Try again later"]
    first = activity("task", owner_id=member, due_at=START, cls=pl.ActivityOverdue,
                     detected_at=START, subject="First")
    await api.deliver(first, org.id, first.activity_id, 2)
    assert (await api.send()).retried == 1
    assert (await api.send()).sent == 0  # not before its next try
    api.clock.advance(minutes=1)
    assert (await api.send()).sent == 1
    assert [m["Subject"] for m in api.sink.to(address)] == ["Overdue: First"]

    api.sink.refuse[:] = ["550 5.1.1 No such mailbox"]
    second = activity("task", owner_id=member, due_at=START, cls=pl.ActivityOverdue,
                      detected_at=START, subject="Second")
    await api.deliver(second, org.id, second.activity_id, 2)
    assert (await api.send()).failed == 1
    api.clock.advance(hours=3)
    await api.send()
    assert len(api.sink.to(address)) == 1
    nodes = [e["node"] for e in (await api.data(token, EMAIL_STATUS))["notifications"]["edges"]]
    assert nodes[0]["emailStatus"] == "FAILED"
    assert "550" in nodes[0]["emailError"] and "No such mailbox" in nodes[0]["emailError"]
    assert nodes[1]["emailStatus"] == "SENT"


async def test_the_digest_lists_exactly_the_members_items_at_their_hour(
    api: Notifications, org: Org, other_org: Org
) -> None:
    member, address, _ = await member_with_email(
        api, org, timeZone="Europe/Warsaw", digestHour=8
    )
    colleague = uuid.uuid4()
    mine, bare, theirs = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for deal, owner, name in ((mine, member, "Mine"), (bare, member, "Bare"),
                              (theirs, colleague, "Theirs")):
        await api.deliver(opportunity(opportunity_id=deal, owner_id=owner, name=name),
                          org.id, deal)
    day = START.replace(hour=0)  # 2 March; 08:00 in Warsaw is 07:00 UTC
    items = [
        activity("meeting", owner_id=member, due_at=day.replace(hour=10), opportunity_id=mine,
                 subject="Kick-off"),
        activity("call", owner_id=member, due_at=day.replace(hour=15), opportunity_id=mine,
                 subject="Follow-up call"),
        activity("task", owner_id=member, due_at=day - timedelta(days=1),
                 opportunity_id=mine, subject="Late task"),
        activity("call", owner_id=member, due_at=day + timedelta(days=1, hours=9),
                 opportunity_id=mine, subject="Tomorrow's call"),
        activity("call", owner_id=colleague, due_at=day.replace(hour=11),
                 opportunity_id=theirs, subject="Their call"),
    ]
    for item in items:
        await api.deliver(item, org.id, item.activity_id)
    for n, owner_org in enumerate((org, org, other_org)):
        lead = uuid.uuid4()
        await api.deliver(ld.LeadCreated(lead_id=lead, company=f"Pool {n}"), owner_org.id,
                          lead)
    # The pass serves every org: other tests' members may get theirs, so look at this one's.
    api.clock.now = day.replace(hour=6, minute=59)
    await api.digests()
    await api.send()
    assert api.sink.to(address) == []
    api.clock.now = day.replace(hour=7, minute=0)
    await api.digests()
    api.clock.now = day.replace(hour=7, minute=30)
    await api.digests()  # once a day
    await api.send()
    [email] = api.sink.to(address)
    assert email["Subject"] == "Your day, Monday, 2 March 2026"
    text = email.get_content()
    today = text.split("Calls and meetings today (2):")[1].split("Overdue")[0]
    assert [line for line in today.splitlines() if line] == [
        "- 11:00 Kick-off (Mine)", "- 16:00 Follow-up call (Mine)"
    ]
    overdue = text.split("Overdue (1):")[1].split("Deals with")[0]
    assert [line for line in overdue.splitlines() if line] == ["- 1 Mar 2026 Late task (Mine)"]
    bare_deals = text.split("Deals with no next contact (1):")[1].split("Leads waiting")[0]
    assert [line for line in bare_deals.splitlines() if line] == [
        f"- Bare: https://crm.example.com/deals/{bare}"
    ]
    assert "Leads waiting in the pool: 2" in text
    assert "Their call" not in text and "Tomorrow" not in text

"""The bell: a lead a manager gives a rep reaches the rep's top bar as an unread notification,
listed in the bell and on the notifications page, in the rep's language; marking all read
clears the count."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from ..conftest import Member
from .conftest import Web, typed
from .flows import eventually, new_org, t
from .test_roles import sign_out

pytestmark = pytest.mark.e2e

M_LEAD = """mutation($c: String!, $e: String!) { createLead(input: {company: $c, email: $e}) {
  __typename ... on LeadPayload { lead { id } } } }"""
M_ASSIGN = """mutation($ids: [ID!]!, $m: ID!) { assignLeads(ids: $ids, memberId: $m) {
  __typename } }"""


def given_to_the_rep(web: Web, org: dict[str, Member], company: str) -> dict[str, Any]:
    """A lead the manager creates and gives the rep, once the rep's notice of it is there."""
    manager, rep = web.api(org["manager"]), web.api(org["rep"])
    lead: dict[str, Any] = typed(manager(M_LEAD, {
        "c": company, "e": f"buyer@{uuid.uuid4().hex[:8]}.pl"})["createLead"], "LeadPayload")[
        "lead"]
    typed(manager(M_ASSIGN, {"ids": [lead["id"]], "m": str(org["rep"].id)})["assignLeads"],
          "LeadsPayload")
    eventually(lambda: rep("{ unreadNotificationCount }")["unreadNotificationCount"] == 1)
    return lead


def test_a_lead_given_to_a_rep_rings_the_bell(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    company = f"Bell Works {uuid.uuid4().hex[:6]}"
    lead = given_to_the_rep(web, org, company)

    page = web.page()
    web.sign_in(page, org["rep"], locale="pl")
    bell = page.locator("#notifications details.bell")
    expect(bell.locator("#bell-count")).to_have_text("1")
    bell.locator("summary").click()
    expected = t("pl", "A lead was assigned to you: %(title)s") % {"title": company}
    item = bell.locator("li.notification.unread")
    expect(item).to_have_text(re.compile(re.escape(expected)))
    expect(item.locator("a")).to_have_attribute("href", f"/leads/{lead['id']}")

    page.goto(web.url("/notifications"))
    expect(page.locator("#notification-list li.unread")).to_have_count(1)
    page.locator("main form[action='/notifications/read'] button").click()
    page.wait_for_url(re.compile("/notifications$"))
    expect(page.locator("#notification-list li.unread")).to_have_count(0)
    expect(page.locator("#notification-list li.notification")).to_have_count(1)
    expect(page.locator("#bell-count")).to_be_hidden()
    assert rep("{ unreadNotificationCount }")["unreadNotificationCount"] == 0


def test_a_member_sets_how_they_are_notified_and_gets_a_calendar_address(web: Web) -> None:
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url("/notifications/settings"))
    form = page.locator("#notification-settings")
    form.locator("[name=email]").fill("rita@example.com")
    form.locator("[name=language]").select_option("pl")
    form.locator("[name=timeZone]").fill("Europe/Warsaw")
    form.locator("[name=digestHour]").select_option("8")
    form.locator("[name=leadMinutes]").fill("30")
    form.locator("[name=email-LEAD_ASSIGNED]").uncheck()
    form.locator("button[type=submit]").click()
    expect(page.locator("#notification-settings [role=status]")).to_be_visible()
    saved = web.api(org["rep"])("{ myNotificationSettings { email language timeZone "
                                "digestHour leadMinutes channels { kind email } } }")
    settings = saved["myNotificationSettings"]
    assert (settings["email"], settings["language"], settings["timeZone"]) == (
        "rita@example.com", "pl", "Europe/Warsaw")
    assert (settings["digestHour"], settings["leadMinutes"]) == (8, 30)
    lead = next(c for c in settings["channels"] if c["kind"] == "LEAD_ASSIGNED")
    assert lead["email"] is False

    form.locator("[name=timeZone]").fill("Mars/Olympus")
    form.locator("button[type=submit]").click()
    expect(page.locator("#notification-settings .field.invalid [name=timeZone]")).to_be_visible()

    feed = page.locator("#calendar-feed input[readonly]")
    first = feed.input_value()
    assert "/feeds/calendar/" in first and first.endswith(".ics")
    page.locator("#calendar-feed button").click()
    expect(page.locator("#calendar-feed input[readonly]")).not_to_have_value(first)


def test_an_erased_lead_is_gone_with_the_notice_about_it(web: Web) -> None:
    """The person behind a lead asks to be forgotten: an admin erases it from its page; the
    lead is found nowhere, and the rep's notice naming it is gone from the bell."""
    org = new_org(web)
    rep = web.api(org["rep"])
    company = f"Forget Me {uuid.uuid4().hex[:6]}"
    lead = given_to_the_rep(web, org, company)

    page = web.page()
    web.sign_in(page, org["manager"])  # a manager is offered no erasure
    page.goto(web.url(f"/leads/{lead['id']}"))
    expect(page.locator("h1")).to_contain_text(company)
    expect(page.locator("#erase-lead")).to_have_count(0)
    sign_out(page)

    web.sign_in(page, org["admin"])
    page.goto(web.url(f"/leads/{lead['id']}"))
    erase = page.locator("#erase-lead")
    erase.locator("summary").click()
    erase.locator("button").click()
    page.wait_for_url(web.url("/leads?erased=1"))
    expect(page.locator("#lead-erased")).to_have_text("The lead was erased for good.")
    page.goto(web.url(f"/leads?q={company.split()[-1]}"))
    expect(page.locator("main table")).not_to_contain_text(company)
    assert rep("query($id: ID!) { lead(id: $id) { id } }", {"id": lead["id"]})["lead"] is None
    eventually(lambda: rep("{ unreadNotificationCount }")["unreadNotificationCount"] == 0)
    notices = rep("{ notifications { edges { node { title } } } }")["notifications"]["edges"]
    assert notices == []

"""Managers, admins and other orgs in the browser: assigning leads against caps, changing the
stages (seen on the board and in the funnel), and an org that sees none of another's data."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import Web, unique
from .flows import M_OPEN_DEAL, eventually, import_leads, new_org, set_cap

pytestmark = pytest.mark.e2e


def test_a_manager_assigns_leads_and_meets_the_cap(web: Web) -> None:
    org = new_org(web)
    import_leads(web.api(org["manager"]), [unique("Lead") for _ in range(4)])
    set_cap(web.api(org["admin"]), org["rep"], 2)

    page = web.page()
    web.sign_in(page, org["manager"])
    page.goto(web.url("/pool/team"))
    rep_row = page.locator(f"tr[data-member='{org['rep'].id}']")
    expect(rep_row).to_contain_text("0")
    boxes = page.locator("input[name=lead]")
    expect(boxes).to_have_count(4)
    for i in range(3):
        boxes.nth(i).check()
    page.locator("#assign-member").select_option(str(org["rep"].id))
    page.locator("form[hx-post='/pool/team/assign'] button[type=submit]").click()
    refusal = page.locator("#team .alert-error")
    expect(refusal).to_contain_text("2")  # how many fit
    expect(page.locator("input[name=lead]")).to_have_count(4)  # nothing assigned
    expect(page.locator("input[name=lead]:checked")).to_have_count(3)  # the choice is kept

    page.locator("input[name=lead]").nth(2).uncheck()
    page.locator("form[hx-post='/pool/team/assign'] button[type=submit]").click()
    expect(page.locator("#team .alert-success")).to_be_visible()
    expect(page.locator("input[name=lead]")).to_have_count(2)
    expect(rep_row).to_contain_text("2 of 2")
    expect(rep_row.locator(".meter.full")).to_have_count(1)


def test_an_admin_renames_and_adds_a_stage_seen_on_the_board_and_in_the_funnel(web: Web) -> None:
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["admin"])
    page.goto(web.url("/admin"))
    row = page.locator("tr[data-stage='Negotiation']")
    row.locator("input[name=name]").fill("Talks")
    row.locator("form.stage-form button[type=submit]").click()
    expect(page.locator("tr[data-stage='Talks']")).to_be_visible()
    add = page.locator("form[hx-post='/admin/add_stage']")
    add.locator("input[name=name]").fill("Demo")
    add.locator("input[name=probability]").fill("60")
    add.locator("button[type=submit]").click()
    expect(page.locator("tr[data-stage='Demo']")).to_be_visible()

    page.goto(web.url("/"))
    headers = page.locator("section.column h2")
    expect(headers).to_contain_text(
        [re.compile(n) for n in ["Identification", "Qualification", "Offer", "Talks", "Demo",
                                 "Won", "Lost"]]
    )

    # The funnel follows from the pipeline's events: it shows the new names once they arrive.
    def funnel_has_them() -> bool:
        page.goto(web.url("/dashboard"))
        funnel = page.locator("#funnel")
        text = funnel.inner_text()
        return "Talks" in text and "Demo" in text

    eventually(funnel_has_them, 20)


def test_a_rep_of_another_org_sees_none_of_it(web: Web) -> None:
    org = new_org(web)
    manager = web.api(org["manager"])
    import_leads(manager, [unique("Secret")])
    pool = manager("{ leads(filter: {poolOnly: true}) { edges { node { id company } } } }")
    lead = pool["leads"]["edges"][0]["node"]

    other = new_org(web)
    page = web.page()
    web.sign_in(page, other["rep"])
    page.goto(web.url("/pool"))
    expect(page.locator("#pool")).not_to_contain_text(lead["company"])
    page.goto(web.url("/leads"))
    expect(page.locator("main")).not_to_contain_text(lead["company"])
    response = page.goto(web.url(f"/leads/{lead['id']}"))
    assert response is not None and response.status == 404
    page.goto(web.url("/"))
    expect(page.locator(".card")).to_have_count(0)
    page.goto(web.url("/accounts"))
    expect(page.locator("main")).not_to_contain_text(lead["company"])


def test_a_card_moves_with_the_keyboard_alone(web: Web) -> None:
    org = new_org(web)
    created = web.api(org["rep"])(
        """mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
        __typename ... on OpportunityPayload { opportunity { id } } } }""",
        {"input": {"name": unique("Keyboard deal"), "amount": "900", "currency": "PLN"}},
    )["createOpportunity"]
    deal_id = created["opportunity"]["id"]
    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url("/"))
    card = page.locator(f"#card-{deal_id}")
    card.locator(".card-title").focus()
    page.keyboard.press("Tab")  # to the card's Move button
    expect(card.locator(".card-move-open")).to_be_focused()
    page.keyboard.press("Enter")
    expect(card.locator("select[name=stage]")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the next stage, Qualification
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    # The gate answers as it does to a drag: the missing items, each with its fix.
    expect(page.locator(f"#card-{deal_id} li[data-requirement=CONTACT_MADE] a")).to_be_visible()


def test_a_stale_card_is_reloaded_when_its_move_conflicts(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    admin = web.api(org["admin"])
    pipeline = admin("{ pipelines { stages { id name } } }")["pipelines"][0]
    for stage in pipeline["stages"]:  # no gate in the way of this move
        admin("mutation($s: ID!) { updateStage(stageId: $s, patch: {requirements: []}) "
              "{ __typename } }", {"s": stage["id"]})
    created = rep(
        """mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
        __typename ... on OpportunityPayload { opportunity { id version } } } }""",
        {"input": {"name": unique("Contested"), "amount": "800", "currency": "PLN"}},
    )["createOpportunity"]["opportunity"]
    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url("/"))
    card = page.locator(f"#card-{created['id']}")
    expect(card).to_be_visible()
    rep("""mutation($id: ID!, $v: Int!) { updateOpportunity(id: $id, expectedVersion: $v,
        patch: {name: "Renamed meanwhile"}) { __typename } }""",
        {"id": created["id"], "v": created["version"]})
    card.drag_to(page.locator("ol.cards").nth(1))
    expect(card.locator(".card-problem")).to_contain_text("changed")
    expect(card.locator(".card-title")).to_have_text("Renamed meanwhile")
    expect(page.locator("ol.cards").first.locator(f"#card-{created['id']}")).to_be_visible()


M_CALL = """mutation($input: ScheduleActivityInput!) { scheduleActivity(input: $input) {
  __typename } }"""
Q_DEAL = "query($id: ID!) { opportunity(id: $id) { id owner { name } } }"


def sign_out(page: Page) -> None:
    page.locator("details.usermenu:not(.bell) summary").click()
    page.locator("form[action='/sign-out'] button").click()
    page.wait_for_url(re.compile("/sign-in"))


def test_a_manager_hands_a_deal_over_and_the_agreed_call_goes_with_it(web: Web) -> None:
    """Rita is away: her manager gives her deal to Rob, and the call she agreed with the
    client is on Rob's calendar now, not lost on hers."""
    org = new_org(web)
    rita, rob = web.api(org["rep"]), web.api(org["rep2"])
    name = unique("Fleet")
    deal = rita(M_OPEN_DEAL, {"input": {"name": name, "amount": "8000", "currency": "PLN"}})[
        "createOpportunity"]["opportunity"]["id"]
    rita(M_CALL, {"input": {"opportunityId": deal, "kind": "CALL", "subject": "Agreed call",
                            "dueAt": "2030-01-02T09:00:00+00:00"}})

    # A rep is offered no hand-over, not even of their own deal.
    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/deals/{deal}"))
    expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator("details.hand-over")).to_have_count(0)
    sign_out(page)

    manager = page
    web.sign_in(manager, org["manager"])
    manager.goto(web.url(f"/deals/{deal}"))
    hand = manager.locator("details.hand-over")
    hand.locator("summary").click()
    options = hand.locator("select[name=owner] option")
    expect(options).to_have_count(2)  # the team's other members: Rob and the manager
    hand.locator("select[name=owner]").select_option(label="Rob Rep · north")
    hand.locator("button").click()
    expect(manager.locator("[data-owner]")).to_contain_text("Rob Rep")
    # The deal's history says who had it, who has it and who handed it over.
    handover = manager.locator("#history li.handover")
    expect(handover).to_have_count(1)
    expect(handover).to_contain_text("Handed over: Rita Rep → Rob Rep")
    expect(handover).to_contain_text("Max Manager")
    assert rob(Q_DEAL, {"id": deal})["opportunity"]["owner"]["name"] == "Rob Rep"
    # Rita no longer sees it; Rob has the agreed call on his calendar.
    assert rita(Q_DEAL, {"id": deal})["opportunity"] is None
    sign_out(manager)
    mine = manager
    web.sign_in(mine, org["rep2"])
    mine.goto(web.url("/calendar?view=day&date=2030-01-02"))
    expect(mine.locator("li[data-activity]", has_text="Agreed call")).to_contain_text(name)
    # And he is told: the bell lists the deal handed to him.
    mine.goto(web.url("/notifications"))
    expect(mine.locator("main li.notification[data-kind=DEAL_ASSIGNED]")).to_contain_text(name)

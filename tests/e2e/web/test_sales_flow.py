"""A rep's whole day in the browser, in English and once in Polish: claiming leads up to the
cap, converting one, the stage gate on the board and fixing it from the card, a call, an
offer, negotiation and the win."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import Web, nip, unique
from .flows import dialog, eventually, import_leads, new_org, offer_template, set_cap, t

pytestmark = pytest.mark.e2e


STAGES = {
    "en": ["Identification", "Qualification", "Offer", "Negotiation"],
    "pl": ["Identyfikacja", "Kwalifikacja", "Oferta", "Negocjacje"],
}


@pytest.mark.parametrize("locale", ["en", "pl"])
def test_a_rep_claims_converts_and_wins_a_deal(web: Web, locale: str) -> None:
    org = new_org(web)
    admin, manager = web.api(org["admin"]), web.api(org["manager"])
    # The org's language: its default stages' names, and the app's language for its members.
    admin("mutation($l: Locale!) { setOrganizationLocale(locale: $l) { __typename } }",
          {"l": locale.upper()})
    stages = STAGES[locale]
    companies = [unique("Northwind"), unique("Contoso"), unique("Fabrikam"), unique("Initech"),
                 unique("Globex")]
    import_leads(manager, companies)
    set_cap(admin, org["rep"], 3)
    offer_template(admin)

    page = web.page()
    web.sign_in(page, org["rep"])  # no choice made: the org's language
    expect(page.locator("html")).to_have_attribute("lang", locale)
    if locale == "pl":
        assert t("pl", "Lead pool") != "Lead pool"
        expect(page.locator("nav.mainnav")).to_contain_text(t("pl", "Lead pool"))

    # The pool: ask for five, get three (the cap), and the meter refuses more.
    page.goto(web.url("/pool"))
    meter = page.locator("[role=meter]")
    expect(meter).to_have_attribute("aria-valuenow", "0")
    page.locator("#claim-count").fill("5")
    page.locator("form[hx-post='/pool/claim'] button[type=submit]").click()
    expect(meter).to_have_attribute("aria-valuenow", "3")
    expect(meter).to_have_attribute("aria-valuemax", "3")
    expect(page.locator("[data-cap-reached]")).to_be_visible()
    expect(page.locator("form[hx-post='/pool/claim'] button[type=submit]")).to_be_disabled()
    expect(page.locator("#pool .alert-success")).to_contain_text("3")
    # The two left in the pool cannot be claimed either.
    pool_buttons = page.locator("form[hx-post$='/claim'] button")
    expect(pool_buttons.first).to_be_disabled()

    # Convert the first lead into a client and a deal.
    page.locator("[data-lead] a").first.click()
    page.wait_for_url(re.compile(r"/leads/"))
    convert = page.locator("#convert form")
    deal_name = unique("Rollout")
    convert.locator("[name=name]").fill(deal_name)
    convert.locator("[name=amount]").fill("12000")
    convert.locator("[name=account_name]").fill(unique("Client"))
    convert.locator("[name=nip]").fill(nip(526025027))
    convert.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/deals/[0-9a-f-]{36}$"), timeout=20_000)
    deal_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_have_text(deal_name)

    # The board: drag it to Qualification; the gate refuses and lists every missing item.
    page.goto(web.url("/"))
    card = page.locator(f"#card-{deal_id}")
    first_column = page.locator("ol.cards").first
    expect(first_column.locator(f"#card-{deal_id}")).to_be_visible()
    target = page.locator("ol.cards").nth(1)
    card.drag_to(target)
    problem = card.locator(".card-problem")
    expect(problem.locator("li[data-requirement=CONTACT_MADE]")).to_be_visible()
    expect(problem.locator("li[data-requirement=NEXT_CONTACT_SCHEDULED]")).to_be_visible()
    expect(first_column.locator(f"#card-{deal_id}")).to_be_visible()  # put back

    # Fix both from the card: schedule the next contact, then log the contact made.
    problem.locator("li[data-requirement=NEXT_CONTACT_SCHEDULED] a").click()
    box = dialog(page)
    box.locator("[name=subject]").fill("Discovery meeting")
    box.locator("[name=due]").fill("2031-03-04T10:30")
    box.locator("button[type=submit]").click()
    expect(box).to_be_hidden()
    expect(card.locator("li[data-requirement=NEXT_CONTACT_SCHEDULED]")).to_have_count(0)
    card.locator("li[data-requirement=CONTACT_MADE] a").click()
    box = dialog(page)
    box.locator("[name=subject]").fill("Intro call")
    box.locator("[name=outcome]").fill("Interested, wants a workshop")
    box.locator("button[type=submit]").click()
    expect(box).to_be_hidden()
    expect(card.locator(".card-problem")).to_have_count(0)

    # Now the move goes through.
    card.drag_to(target)
    expect(target.locator(f"#card-{deal_id}")).to_be_visible()
    expect(page.locator(f"#card-{deal_id} .card-problem")).to_have_count(0)
    expect(page.locator("section.column").nth(1).locator("h2")).to_contain_text(stages[1])

    # The deal page: a call scheduled and completed, qualification filled in.
    page.locator(f"#card-{deal_id} .card-title").click()
    page.wait_for_url(re.compile(f"/deals/{deal_id}$"))
    page.locator("#activities details.schedule summary").click()
    form = page.locator("#activities form[hx-post$='/activities']")
    form.locator("[name=kind]").select_option("CALL")
    form.locator("[name=due]").fill("2031-03-05T09:00")
    form.locator("[name=subject]").fill("Budget call")
    form.locator("button[type=submit]").click()
    call = page.locator("#activities li", has_text="Budget call")
    expect(call).to_be_visible()
    call.locator("input[name=outcome]").fill("Budget confirmed")
    call.locator("form[hx-post$='/complete'] button").click()
    expect(page.locator("#activities li", has_text="Budget call").locator(".badge-success")) \
        .to_be_visible()

    fields = page.locator("#deal-fields form")
    fields.locator("[name=needs]").fill("A CRM for 40 sales people")
    fields.locator("[name=budgetAmount]").fill("15000")
    fields.locator("[name=budgetCurrency]").fill("PLN")
    fields.locator("button[type=submit]").click()
    expect(page.locator("#deal-fields .badge-success")).to_be_visible()

    # Offer stage, an offer issued, Negotiation (once the offer reached the pipeline), won.
    stage_bar = page.locator(".deal-stages")
    stage_bar.locator("button").nth(1).click()  # the stage after Qualification
    expect(page.locator(".deal-stages [aria-current=step]")).to_have_text(stages[2])
    details = page.locator("#offers details.issue-offer")
    details.locator("summary").click()
    details.locator("input[name='value.product']").fill("CRM licences")
    details.locator("textarea[name=items]").fill("CRM licence; 40; 120.00; 23")
    details.locator("button[type=submit]:not([name=action])").click()
    expect(page.locator("#offers [data-offer]")).to_have_count(1)
    # The offer's file, through its signed URL on the API's origin: the text as issued.
    with page.expect_download() as download:
        page.locator("#offers a.offer-file").click()
    assert download.value.suggested_filename.endswith("-v1.txt")
    assert "CRM licences" in download.value.path().read_text()
    # The client's answer, recorded from the deal page.
    page.locator("#offers form[hx-post$='/accept'] button").click()
    expect(page.locator("#offers .offer-status")).to_contain_text(
        t(locale, "Accepted by the client"))

    def negotiation() -> bool:
        page.reload()
        page.locator(".deal-stages button").last.click()
        current = page.locator(".deal-stages [aria-current=step]")
        try:
            expect(current).to_have_text(stages[3], timeout=2_000)
        except AssertionError:
            return False
        return True

    eventually(negotiation, 20)

    page.locator("button[hx-get$='close?kind=WON']").click()
    box = dialog(page)
    box.locator("[name=comment]").fill("Signed for two years")
    box.locator("[name=lessons]").fill("The workshop convinced them")
    box.locator("button[type=submit]").click()
    expect(box.locator("[data-closed-deal]")).to_be_visible()
    page.goto(web.url(f"/deals/{deal_id}"))
    expect(page.locator(".badge-success").first).to_be_visible()
    expect(page.locator(".dl")).to_contain_text("Signed for two years")

    # Won deals leave the board's open columns.
    page.goto(web.url("/"))
    expect(page.locator(f"#card-{deal_id}")).to_have_count(0)
    # The session cookie is out of page scripts' reach.
    assert page.evaluate("document.cookie") == ""

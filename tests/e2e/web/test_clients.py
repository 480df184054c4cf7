"""A client's page in the browser: its contact people changed and removed, with a stale form
and a bad value refused where they belong, and what an offer shows of the contact following
each change (the documents service's copy, kept from leads' events); the client's deals
listed and a new one opened from there."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import Web, nip, typed, unique
from .flows import deal_with_account, eventually, new_org
from .test_offers import deal_with_client, upload_template

pytestmark = pytest.mark.e2e

M_FOLDER = """mutation { createFolder(name: "Templates") { __typename
  ... on CreateFolderPayload { folder { id } } } }"""
Q_ACCOUNT = "query($id: ID!) { opportunity(id: $id) { account { id } } }"
M_CONTACT = """mutation($account: ID!, $name: String!) { createContact(accountId: $account,
  input: {name: $name, email: "anna@zabka.example"}) { __typename
  ... on ContactPayload { contact { id } } } }"""
M_RENAME = """mutation($id: ID!, $name: String!) { updateContact(id: $id,
  input: {name: $name}) { __typename } }"""
M_DRAFT = """mutation($opp: ID!, $template: ID!) { draftOffer(opportunityId: $opp,
  templateId: $template) { __typename ... on OfferPayload { offer { content } } } }"""


def contact(page: Page, name: str) -> Locator:
    return page.locator("li.contact").filter(has=page.locator("strong", has_text=name))


def test_a_contact_is_changed_and_removed_and_offers_follow(web: Web) -> None:
    org = new_org(web)
    admin, rep = web.api(org["admin"]), web.api(org["rep"])
    folder = typed(admin(M_FOLDER)["createFolder"], "CreateFolderPayload")["folder"]["id"]
    deal = deal_with_client(admin, rep, folder)
    account = rep(Q_ACCOUNT, {"id": deal})["opportunity"]["account"]["id"]
    anna = typed(rep(M_CONTACT, {"account": account, "name": "Anna Nowak"})["createContact"],
                 "ContactPayload")["contact"]["id"]
    probe = upload_template(admin, folder, "Contact probe",
                            b"${client_contact_name}|${client_contact_phone}", "text/plain")

    def offer_shows(text: str) -> bool:
        drafted = rep(M_DRAFT, {"opp": deal, "template": probe})["draftOffer"]
        return bool(typed(drafted, "OfferPayload")["offer"]["content"] == text)

    eventually(lambda: offer_shows("Anna Nowak|"), 30)

    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/accounts/{account}"))
    anna_row = contact(page, "Anna Nowak")
    anna_row.locator("details.contact-edit > summary").click()
    form = anna_row.locator("details.contact-edit > form")
    # Someone else renames her meanwhile: the stale form is refused with the current values.
    rep(M_RENAME, {"id": anna, "name": "Anna Nowak-Kowalska"})
    form.locator("[name=phone]").fill("601 234 567")
    form.locator("button").click()
    row = contact(page, "Anna Nowak-Kowalska")
    expect(row.locator(".alert-error")).to_contain_text("changed this in the meantime")
    edit = row.locator("details.contact-edit > form")
    expect(edit.locator("[name=name]")).to_have_value("Anna Nowak-Kowalska")
    # A bad value shows at its field, the form kept open with what was typed.
    edit.locator("[name=position]").fill("CFO")
    edit.locator("[name=phone]").fill("123")
    edit.locator("button").click()
    edit = contact(page, "Anna Nowak-Kowalska").locator("details.contact-edit > form")
    expect(edit.locator(".field.invalid [name=phone]")).to_be_visible()
    expect(edit.locator("[name=position]")).to_have_value("CFO")
    # Now it goes through; the phone is kept in its international form.
    edit.locator("[name=phone]").fill("601 234 567")
    edit.locator("button").click()
    expect(page.locator(".alert-success")).to_contain_text("Contact saved")
    expect(contact(page, "Anna Nowak-Kowalska")).to_contain_text("+48601234567")
    eventually(lambda: offer_shows("Anna Nowak-Kowalska|+48601234567"), 30)

    # Removed for good, after asking: gone from the page and from what offers show.
    row = contact(page, "Anna Nowak-Kowalska")
    row.locator("details.contact-edit > summary").click()
    row.locator("details.remove-contact > summary").click()
    row.locator("details.remove-contact button").click()
    expect(page.locator(".alert-success")).to_contain_text("Contact removed")
    expect(page.locator("li.contact")).to_have_count(0)
    eventually(lambda: offer_shows("|"), 30)


def test_a_rep_is_offered_no_change_to_another_member_s_client(web: Web) -> None:
    """The client's owner (here the admin), their manager or an admin changes a client and its
    people; another rep sees them, and the deals they may open, without forms that would
    only be refused (the API refuses them all the same: tests/integration/leads)."""
    org = new_org(web)
    admin = web.api(org["admin"])
    account = typed(admin("""mutation { createAccount(input: {name: "Kappa",
        address: "ul. Prosta 1"}) { __typename ... on AccountPayload { account { id } } } }""")[
        "createAccount"], "AccountPayload")["account"]["id"]
    typed(admin(M_CONTACT, {"account": account, "name": "Ben"})["createContact"],
          "ContactPayload")

    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/accounts/{account}"))
    expect(contact(page, "Ben")).to_be_visible()
    expect(page.locator("#client-details")).to_contain_text("ul. Prosta 1")
    for offered in ("details.contact-edit", f"form[action='/accounts/{account}']",
                    f"form[action='/accounts/{account}/contacts']"):
        expect(page.locator(offered)).to_have_count(0)
    expect(page.locator("#client-deals details.new-deal")).to_have_count(1)


M_ACCOUNT = """mutation($name: String!) { createAccount(input: {name: $name}) { __typename
  ... on AccountPayload { account { id } } } }"""
M_ACCOUNT_WITH_NIP = """mutation($input: AccountInput!) { createAccount(input: $input) {
  __typename ... on AccountPayload { account { id } } } }"""


def test_a_client_page_lists_its_deals_and_opens_a_new_one(web: Web) -> None:
    """Repeat business needs no lead: the client's page lists the deals with it the member
    sees (one request through the gateway to leads and the pipeline) and opens a new one."""
    org = new_org(web)
    rep, rep2 = web.api(org["rep"]), web.api(org["rep2"])
    account = typed(rep(M_ACCOUNT, {"name": unique("Kappa")})["createAccount"],
                    "AccountPayload")["account"]["id"]
    elsewhere = typed(rep(M_ACCOUNT, {"name": unique("Lambda")})["createAccount"],
                      "AccountPayload")["account"]["id"]

    first = deal_with_account(rep, "Fleet 2026", account)
    deal_with_account(rep2, "Rob's own deal", account)  # not the rep's to see
    deal_with_account(rep, "Another client's deal", elsewhere)

    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/accounts/{account}"))
    rows = page.locator("#client-deals tr[data-deal]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Fleet 2026")
    expect(rows.first).to_contain_text("Identification")
    expect(rows.first).to_contain_text("Rita Rep")
    expect(rows.first.locator("a")).to_have_attribute("href", f"/deals/{first}")

    new = page.locator("#client-deals details.new-deal")
    new.locator("summary").click()
    new.locator("[name=name]").fill("Fleet 2027")
    new.locator("[name=amount]").fill("lots")
    new.locator("button[type=submit]").click()
    # The refusal stays on the client's page, the form open with what was typed.
    new = page.locator("#client-deals details.new-deal")
    expect(new.locator(".alert-error")).to_be_visible()
    expect(new.locator("[name=name]")).to_have_value("Fleet 2027")
    new.locator("[name=amount]").fill("12500")
    new.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/deals/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).to_contain_text("Fleet 2027")
    page.goto(web.url(f"/accounts/{account}"))
    expect(page.locator("#client-deals tr[data-deal]")).to_have_count(2)


def test_a_deal_opened_from_the_board_with_a_client_chosen(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    client = unique("Omega")
    account = typed(rep(M_ACCOUNT, {"name": client})["createAccount"],
                    "AccountPayload")["account"]["id"]

    deal_with_account(rep, "Probe", account, "1")  # the pipeline knows the client now

    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url("/"))
    new = page.locator("#new-deal")
    new.locator("summary").click()
    form = new.locator("form.new-deal-form")
    form.locator("[name=name]").fill("Omega fleet")
    form.locator("[name=amount]").fill("4200")
    form.locator("[name=expectedCloseDate]").fill("2030-06-30")
    form.locator("[name=account_id]").select_option(label=client)
    form.locator("[name=currency]").fill("ZZZ")
    form.locator("button[type=submit]").click()
    # Refused in place: the form keeps what was typed and names the field.
    form = new.locator("form.new-deal-form")
    expect(form.locator(".field.invalid [name=currency]")).to_be_visible()
    expect(form.locator("[name=name]")).to_have_value("Omega fleet")
    form.locator("[name=currency]").fill("PLN")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/deals/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).to_contain_text("Omega fleet")
    expect(page.locator(".deal-head")).to_contain_text(client)
    page.goto(web.url("/"))
    expect(page.locator(".card", has_text="Omega fleet")).to_have_count(1)
    # The form is a part of the board: its address alone shows the board.
    page.goto(web.url("/deals/new"))
    expect(page.locator("#new-deal")).to_be_visible()


def test_clients_are_found_by_name_without_polish_letters_or_by_nip(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    tag = uuid.uuid4().hex[:6]
    for name, tax_id in ((f"Żabka Łódź {tag}", nip(int(tag, 16))), (f"Kappa {tag}", None)):
        typed(rep(M_ACCOUNT_WITH_NIP, {"input": {"name": name, "nip": tax_id}})[
            "createAccount"], "AccountPayload")
    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url("/accounts"))
    box = page.locator("main form[role=search] [name=q]")
    box.fill(f"zabka lodz {tag}")  # typed without the Polish letters, in any case
    box.press("Enter")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Żabka Łódź {tag}")
    box = page.locator("main form[role=search] [name=q]")
    tax_id = nip(int(tag, 16))
    box.fill(f"{tax_id[:3]}-{tax_id[3:6]}-{tax_id[6:8]}-{tax_id[8:]}")
    box.press("Enter")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr").first).to_contain_text(tax_id)
    page.locator("main form[role=search] [name=q]").fill(f"nothing {tag}")
    page.locator("main form[role=search] [name=q]").press("Enter")
    expect(page.locator("table tbody")).to_contain_text("No client matches this search.")


def test_a_contact_is_changed_only_under_its_own_client(web: Web) -> None:
    """An address that puts one client's contact under another client is not found: nothing
    changes, rather than the contact changing and the other client's page following."""
    org = new_org(web)
    rep = web.api(org["rep"])
    kappa, lambda_ = (typed(rep(M_ACCOUNT, {"name": unique(name)})["createAccount"],
                            "AccountPayload")["account"]["id"] for name in ("Kappa", "Lambda"))
    anna = typed(rep(M_CONTACT, {"account": kappa, "name": "Anna Nowak"})["createContact"],
                 "ContactPayload")["contact"]["id"]
    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/accounts/{kappa}"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "crm_session")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    with httpx.Client(base_url=web.base, cookies={"crm_session": cookie["value"]},
                      timeout=10) as client:
        for action, data in (("", {"name": "Mallory", "version": "1"}),
                             ("/remove", {"version": "1"})):
            wrong = client.post(f"/accounts/{lambda_}/contacts/{anna}{action}",
                                data={**data, "csrf_token": token or ""})
            assert wrong.status_code == 404, action
    held = rep("query($id: ID!) { contact(id: $id) { name version } }", {"id": anna})
    assert held["contact"] == {"name": "Anna Nowak", "version": 1}

"""The top bar's search: one box finds deals, clients and leads, typed in any case and with
or without Polish letters, each linking to its page; nothing of another org's; a refused
search shown on the box."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from .conftest import Web, typed
from .flows import deal_with_account, new_org
from .test_clients import M_ACCOUNT
from .test_pages import M_LEAD
from .test_roles import sign_out

pytestmark = pytest.mark.e2e


def test_one_box_finds_deals_clients_and_leads(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    tag = uuid.uuid4().hex[:6]
    client = typed(rep(M_ACCOUNT, {"name": f"Młyny Łódź {tag}"})["createAccount"],
                   "AccountPayload")["account"]["id"]
    deal = deal_with_account(rep, f"Wdrożenie Łódź {tag}", client)
    typed(rep(M_LEAD, {"c": f"Hurtownia Łódź {tag}", "e": f"zakupy.{tag}@example.pl"})[
        "createLead"], "LeadPayload")

    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url("/calendar"))
    page.keyboard.press("/")  # the shortcut to the box, from anywhere but a field
    expect(page.locator("#top-q")).to_be_focused()
    page.keyboard.type(f"LODZ {tag}")
    page.keyboard.press("Enter")
    page.wait_for_url(web.url("/search") + "**")
    expect(page.locator("#found-deals a", has_text=f"Wdrożenie Łódź {tag}")).to_have_attribute(
        "href", f"/deals/{deal}")
    expect(page.locator("#found-clients a", has_text=f"Młyny Łódź {tag}")).to_have_attribute(
        "href", f"/accounts/{client}")
    expect(page.locator("#found-leads")).to_contain_text(f"Hurtownia Łódź {tag}")
    page.locator("#found-leads a", has_text=f"Hurtownia Łódź {tag}").click()
    expect(page.locator("h1")).to_contain_text(f"Hurtownia Łódź {tag}")

    # A control character is refused on the box, the page still answering.
    page.goto(web.url("/search?q=lodz%1B"))
    expect(page.locator("#e-search-q")).to_have_text("text must not contain control characters")
    expect(page.get_by_text("could not answer this request")).to_have_count(0)

    # Another org's member finds none of it.
    sign_out(page)
    web.sign_in(page, new_org(web)["admin"])
    page.goto(web.url(f"/search?q=lodz%20{tag}"))
    expect(page.locator("main")).to_contain_text(f"Nothing matches “lodz {tag}”.")


M_PERSON = """mutation($account: ID!, $name: String!, $email: String) { createContact(
  accountId: $account, input: {name: $name, email: $email, position: "CFO"}) { __typename } }"""


def test_a_client_is_found_by_its_contact_person(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    tag = uuid.uuid4().hex[:6]
    client = typed(rep(M_ACCOUNT, {"name": f"Młyny {tag}"})["createAccount"],
                   "AccountPayload")["account"]["id"]
    typed(rep(M_PERSON, {"account": client, "name": f"Jan Wiśniewski{tag}",
                         "email": f"jan.{tag}@mlyny.pl"})["createContact"], "ContactPayload")

    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url("/"))
    page.locator("#top-q").fill(f"WISNIEWSKI{tag}")
    page.locator("#top-q").press("Enter")
    found = page.locator("#found-clients")
    expect(found.locator("a", has_text=f"Młyny {tag}")).to_have_attribute(
        "href", f"/accounts/{client}")
    expect(found.locator(".person-found")).to_have_text(
        f"Jan Wiśniewski{tag} (CFO) · jan.{tag}@mlyny.pl")
    # The clients' own list finds it the same way.
    page.goto(web.url(f"/accounts?q=jan.{tag}@MLYNY"))
    expect(page.locator("main table")).to_contain_text(f"Młyny {tag}")


def test_people_lists_the_orgs_contacts_found_without_polish_letters(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    tag = uuid.uuid4().hex[:6]
    client = typed(rep(M_ACCOUNT, {"name": f"Piekarnia {tag}"})["createAccount"],
                   "AccountPayload")["account"]["id"]
    typed(rep(M_PERSON, {"account": client, "name": f"Zofia Łęcka{tag}",
                         "email": f"zofia.{tag}@piekarnia.pl"})["createContact"],
          "ContactPayload")

    page = web.page()
    web.sign_in(page, new_org(web)["admin"])  # another org's member finds nobody
    page.goto(web.url(f"/people?q=lecka{tag}"))
    expect(page.locator("#people tbody")).to_contain_text("Nobody matches this search.")
    sign_out(page)

    web.sign_in(page, org["manager"])  # not theirs, but their org's: listed
    page.goto(web.url("/accounts"))
    page.get_by_role("navigation", name="View").get_by_role("link", name="People").click()
    page.wait_for_url(web.url("/people"))
    page.fill("#people-q", f"LECKA{tag}")
    page.locator("form[role=search] button").click()
    row = page.locator("#people tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"Zofia Łęcka{tag}")
    expect(row).to_contain_text("CFO")
    expect(row.locator(f"a[href='mailto:zofia.{tag}@piekarnia.pl']")).to_have_count(1)
    with page.expect_download() as waited:
        page.locator("#export-people").click()
    lines = waited.value.path().read_text("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"Zofia Łęcka{tag},CFO,Piekarnia {tag},")
    row.locator(f"a[href='/accounts/{client}']").click()
    expect(page.locator("h1")).to_contain_text(f"Piekarnia {tag}")

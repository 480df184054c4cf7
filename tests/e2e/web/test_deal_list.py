"""The deals as a list: closed deals found with their reason and lessons learned, the board's
filters, the same list as a CSV file in the member's language with formula-like names
defused; the leads' file imports again, the clients' holds their people; nothing of another
org's in any."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import Web, nip, typed
from .flows import M_OPEN_DEAL, deal_with_account, new_org, t
from .test_clients import M_ACCOUNT
from .test_roles import sign_out

pytestmark = pytest.mark.e2e

Q_VERSION = "query($id: ID!) { opportunity(id: $id) { version } }"
Q_OWNER = "query($id: ID!) { opportunity(id: $id) { owner { name } } }"
M_LESSONS = """mutation($id: ID!, $v: Int!, $l: String!) { updateOpportunity(id: $id,
  expectedVersion: $v, patch: {lessonsLearned: $l}) { __typename } }"""
M_LOST = """mutation($id: ID!, $r: ID!, $c: String!) { markLost(id: $id, reasonId: $r,
  comment: $c) { __typename } }"""


def test_closed_deals_are_listed_with_what_was_learned_and_exported(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    tag = uuid.uuid4().hex[:6]
    client = typed(rep(M_ACCOUNT, {"name": f"Młyny Łódź {tag}"})["createAccount"],
                   "AccountPayload")["account"]["id"]
    lost = deal_with_account(rep, f"Linia pakująca {tag}", client, "125000.50")
    deal_with_account(rep, f"Serwis roczny {tag}", client)
    deal_with_account(rep, f"=HYPERLINK(\"http://example.com\") {tag}", client, "10")
    version = rep(Q_VERSION, {"id": lost})["opportunity"]["version"]
    lessons = "Call the CFO in the first week.\nPrice was never the problem."
    typed(rep(M_LESSONS, {"id": lost, "v": version, "l": lessons})["updateOpportunity"],
          "OpportunityPayload")
    reasons = rep("{ lostReasons { id code label } }")["lostReasons"]
    reason = next(r for r in reasons if r["code"] == "competitor")
    typed(rep(M_LOST, {"id": lost, "r": reason["id"], "c": "Chose a local supplier"})[
        "markLost"], "OpportunityPayload")

    page = web.page()
    web.sign_in(page, org["rep"], locale="pl")
    page.goto(web.url("/"))
    page.get_by_role("navigation", name=t("pl", "View")).get_by_role(
        "link", name=t("pl", "List")).click()
    page.wait_for_url(web.url("/deals"))
    page.fill("#f-q", tag)
    page.get_by_role("button", name=t("pl", "Filter")).click()
    rows = page.locator("#deal-list tbody tr")
    expect(rows).to_have_count(3)
    page.select_option("select[name=status]", "LOST")  # submits on change
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text(f"Linia pakująca {tag}")
    expect(row).to_contain_text(reason["label"])
    expect(row).to_contain_text("Chose a local supplier")
    row.locator("summary").click()
    expect(row.locator("details p")).to_have_text(lessons)
    assert "status=LOST" in page.url and f"q={tag}" in page.url

    # The file holds what the list shows, filters and all, in the member's language (Polish:
    # semicolons and decimal commas, as a Polish spreadsheet reads them).
    with page.expect_download() as waited:
        page.locator("#export-deals").click()
    download = waited.value
    assert download.suggested_filename.startswith("deals-")
    body = download.path().read_bytes()
    assert body.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    heading, rows_in_file = lines[0], lines[1:]
    assert heading[:3] == ["Szansa", "Klient", "NIP"]
    assert len(rows_in_file) == 1
    cells = dict(zip(heading, rows_in_file[0], strict=True))
    assert cells["Szansa"] == f"Linia pakująca {tag}"
    assert cells["Klient"] == f"Młyny Łódź {tag}"
    assert (cells["Status"], cells["Kwota"], cells["Waluta"]) == ("Przegrana", "125000,50", "PLN")
    assert (cells["Powód"], cells["Wnioski"]) == (reason["label"], lessons)
    assert cells["ID"] == lost

    # Every status: the name that would be a formula is text in the file.
    answer = page.request.get(web.url(f"/deals/export.csv?q={tag}"))
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
    names = [line[0] for line in csv.reader(
        io.StringIO(answer.body().decode("utf-8-sig")), delimiter=";")][1:]
    assert sorted(names) == sorted([f"'=HYPERLINK(\"http://example.com\") {tag}",
                                    f"Linia pakująca {tag}", f"Serwis roczny {tag}"])

    # The client's page leads to its deals in the list.
    page.goto(web.url(f"/deals?account={client}"))
    expect(rows).to_have_count(3)

    # Another org's member lists and exports none of it.
    sign_out(page)
    web.sign_in(page, new_org(web)["admin"], locale="en")
    page.goto(web.url(f"/deals?q={tag}"))
    expect(page.locator("#deal-list")).to_contain_text("No deals match.")
    answer = page.request.get(web.url(f"/deals/export.csv?q={tag}"))
    assert answer.status == 200
    assert len(answer.body().decode("utf-8-sig").splitlines()) == 1  # the headings alone


M_NEW_LEAD = """mutation($input: LeadInput!) { createLead(input: $input) { __typename } }"""
M_CLIENT = """mutation($input: AccountInput!) { createAccount(input: $input) { __typename
  ... on AccountPayload { account { id } } } }"""
M_PERSON = """mutation($account: ID!, $input: ContactInput!) { createContact(accountId: $account,
  input: $input) { __typename } }"""


def test_leads_export_imports_again_and_clients_export_with_their_people(
        web: Web, tmp_path) -> None:  # type: ignore[no-untyped-def]
    org = new_org(web)
    manager = web.api(org["manager"])
    tag = uuid.uuid4().hex[:6]
    for company, email, phone in ((f"Hurtownia Żółw {tag}", f"biuro.{tag}@zolw.pl",
                                   "+48 600 100 200"),
                                  (f"Piekarnia Łan {tag}", f"lan.{tag}@example.pl", None)):
        typed(manager(M_NEW_LEAD, {"input": {
            "company": company, "email": email, "phone": phone, "tags": ["vip", "2027"],
            "notes": "Met at the fair.\nCall in January."}})["createLead"], "LeadPayload")
    client = typed(manager(M_CLIENT, {"input": {"name": f"Młyn Zbożowy {tag}",
                                                "nip": nip(int(tag, 16))}})["createAccount"],
                   "AccountPayload")["account"]["id"]
    for person in ({"name": "Anna Nowak", "email": "anna@mlyn.example", "position": "CFO"},
                   {"name": "Jan Wiśniewski", "phone": "+48 22 123 45 67"}):
        typed(manager(M_PERSON, {"account": client, "input": person})["createContact"],
              "ContactPayload")

    page = web.page()
    web.sign_in(page, org["manager"], locale="pl")
    page.goto(web.url(f"/leads?q={tag}"))
    with page.expect_download() as waited:
        page.locator("#export-leads").click()
    leads_file = tmp_path / "leads.csv"
    waited.value.save_as(leads_file)
    lines = list(csv.reader(io.StringIO(leads_file.read_text("utf-8-sig")), delimiter=";"))
    assert lines[0][:4] == ["Firma", "Osoba kontaktowa", "E-mail", "Telefon"]
    found = {row[0]: dict(zip(lines[0], row, strict=True)) for row in lines[1:]}
    assert sorted(found) == [f"Hurtownia Żółw {tag}", f"Piekarnia Łan {tag}"]
    zolw = found[f"Hurtownia Żółw {tag}"]
    assert (zolw["Tagi"], zolw["Notatki"]) == ("vip, 2027", "Met at the fair.\nCall in January.")
    assert zolw["Telefon"] == "'+48600100200"  # a leading + would start a formula

    # Imported again, the file's every lead is found as the lead it came from.
    page.goto(web.url("/pool/import"))
    page.locator("#f-file").set_input_files(str(leads_file))
    page.locator("form[enctype] button[type=submit]").click()
    report = page.locator("#import-report")
    expect(report.locator("[data-duplicates]")).to_have_text("2")
    expect(report.locator("[data-created]")).to_have_text("0")
    expect(report.locator("[data-invalid]")).to_have_text("0")

    page.goto(web.url(f"/accounts?q={tag}"))
    with page.expect_download() as waited:
        page.locator("#export-clients").click()
    lines = list(csv.reader(io.StringIO(waited.value.path().read_text("utf-8-sig")),
                            delimiter=";"))
    assert len(lines) == 2
    row = dict(zip(lines[0], lines[1], strict=True))
    assert (row["Klient"], row["NIP"], row["ID"]) == (f"Młyn Zbożowy {tag}", nip(int(tag, 16)),
                                                      client)
    assert sorted(row["Osoby kontaktowe"].split("\n")) == [
        "Anna Nowak (CFO, anna@mlyn.example)", "Jan Wiśniewski (+48221234567)"]

    # Another org's member finds nothing in either file.
    sign_out(page)
    web.sign_in(page, new_org(web)["admin"], locale="en")
    for path in (f"/leads/export.csv?q={tag}", f"/accounts/export.csv?q={tag}"):
        answer = page.request.get(web.url(path))
        assert answer.status == 200
        assert len(answer.body().decode("utf-8-sig").splitlines()) == 1, path


M_RENAME = """mutation($id: ID!, $v: Int!, $name: String!) { updateOpportunity(id: $id,
  expectedVersion: $v, patch: {name: $name}) { __typename } }"""


def test_a_manager_hands_several_deals_over_at_once(web: Web) -> None:
    """Rita leaves: her manager selects her open deals on the list and gives them to Rob in
    one step; one she changed meanwhile is refused by name, and goes in a second step."""
    org = new_org(web)
    rita, rob = web.api(org["rep"]), web.api(org["rep2"])
    tag = uuid.uuid4().hex[:6]
    deals = {}
    for name in ("Alfa", "Beta", "Gamma", "Delta"):
        deals[name] = typed(rita(M_OPEN_DEAL, {"input": {
            "name": f"{name} {tag}", "amount": "1000", "currency": "PLN"}})["createOpportunity"],
            "OpportunityPayload")["opportunity"]["id"]
    reasons = rita("{ lostReasons { id } }")["lostReasons"]
    typed(rita(M_LOST, {"id": deals["Delta"], "r": reasons[0]["id"], "c": "No budget"})[
        "markLost"], "OpportunityPayload")

    page = web.page()
    web.sign_in(page, org["rep"])  # a rep hands nothing over
    page.goto(web.url(f"/deals?q={tag}"))
    expect(page.locator("#deal-list tbody tr")).to_have_count(4)
    expect(page.locator("#hand-over")).to_have_count(0)
    expect(page.locator("#deal-list input[type=checkbox]")).to_have_count(0)
    sign_out(page)

    web.sign_in(page, org["manager"])
    page.goto(web.url(f"/deals?q={tag}"))
    page.locator("[data-select-all]").check()
    boxes = page.locator("#deal-list tbody input[name=deal]")
    expect(boxes).to_have_count(3)  # the lost deal is not handed over
    for index in range(3):
        expect(boxes.nth(index)).to_be_checked()
    # Rita renames Gamma after the list was drawn: that one is refused, the others go.
    version = rita(Q_VERSION, {"id": deals["Gamma"]})["opportunity"]["version"]
    typed(rita(M_RENAME, {"id": deals["Gamma"], "v": version, "name": f"Gamma 2 {tag}"})[
        "updateOpportunity"], "OpportunityPayload")
    page.select_option("#hand-over-to", label="Rob Rep · north")
    page.locator("#hand-over button").click()
    expect(page.locator("#handed")).to_have_text("2 deals handed over to Rob Rep.")
    expect(page.locator("#refused li")).to_have_count(1)
    expect(page.locator("#refused li")).to_contain_text(f"Gamma {tag}")
    expect(page.locator("#refused li")).to_contain_text("Someone else changed this")
    assert {rob(Q_OWNER, {"id": deals[n]})["opportunity"]["owner"]["name"]
            for n in ("Alfa", "Beta")} == {"Rob Rep"}
    assert rita(Q_OWNER, {"id": deals["Alfa"]})["opportunity"] is None

    # The list drawn again has Gamma's new version: it goes now, and the page says so.
    page.locator(f"#deal-list tr[data-deal='{deals['Gamma']}'] input[name=deal]").check()
    page.select_option("#hand-over-to", label="Rob Rep · north")
    page.locator("#hand-over button").click()
    expect(page.locator("#handed")).to_have_text("1 deal handed over to Rob Rep.")
    expect(page.locator("#refused")).to_have_count(0)
    assert f"q={tag}" in page.url  # back on the list as it was filtered
    assert rob(Q_OWNER, {"id": deals["Gamma"]})["opportunity"]["owner"]["name"] == "Rob Rep"


def test_the_list_and_its_file_are_sorted_as_chosen(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    tag = uuid.uuid4().hex[:6]
    for name, day in (("March", "2031-03-01"), ("Undated", None), ("January", "2031-01-15")):
        typed(rep(M_OPEN_DEAL, {"input": {"name": f"{name} {tag}", "amount": "100",
                                          "currency": "PLN", "expectedCloseDate": day}})[
            "createOpportunity"], "OpportunityPayload")

    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/deals?q={tag}"))
    names = page.locator("#deal-list tbody tr td:first-child > a")
    expect(names).to_have_text([f"January {tag}", f"Undated {tag}", f"March {tag}"])  # newest
    page.select_option("select[name=sort]", "CLOSING_SOONEST")  # submits on change
    expect(names).to_have_text([f"January {tag}", f"March {tag}", f"Undated {tag}"])
    assert "sort=CLOSING_SOONEST" in page.url
    with page.expect_download() as waited:
        page.locator("#export-deals").click()
    rows = list(csv.reader(io.StringIO(waited.value.path().read_text("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [f"January {tag}", f"March {tag}", f"Undated {tag}"]

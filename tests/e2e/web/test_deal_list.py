"""The deals as a list: closed deals found with their reason and lessons learned, the board's
filters, the same list as a CSV file in the member's language with formula-like names
defused, and nothing of another org's."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import Web, typed
from .flows import deal_with_account, new_org, t
from .test_clients import M_ACCOUNT
from .test_roles import sign_out

pytestmark = pytest.mark.e2e

Q_VERSION = "query($id: ID!) { opportunity(id: $id) { version } }"
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

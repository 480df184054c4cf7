"""Notes on a deal's page: the rep writes down what a call gave, the manager adds a hint, each
removes only their own; a stranger sees none of it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Web, unique
from .flows import M_OPEN_DEAL, new_org
from .test_roles import sign_out

pytestmark = pytest.mark.e2e

Q_NOTES = "query($id: ID!) { opportunity(id: $id) { notes { body } } }"


def notes(page: Page) -> list[str]:
    return page.locator("#notes li.note .note-body").all_inner_texts()


def test_notes_on_a_deal_are_written_read_and_removed_by_their_authors(web: Web) -> None:
    org = new_org(web)
    rita = web.api(org["rep"])
    deal = rita(M_OPEN_DEAL, {"input": {"name": unique("Fleet"), "amount": "8000",
                                        "currency": "PLN"}})["createOpportunity"]
    deal_id = deal["opportunity"]["id"]

    page = web.page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Remove this note?"
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/deals/{deal_id}"))
    region = page.locator("#notes")
    expect(region).to_contain_text("No notes yet.")
    # An empty note is refused at its field, nothing written.
    region.get_by_role("button", name="Add note").click()
    expect(region.locator(".field.invalid textarea[name=body]")).to_be_visible()
    region.locator("textarea[name=body]").fill("Budget agreed: 8k.\nCall back on Friday.")
    region.get_by_role("button", name="Add note").click()
    expect(region.locator("li.note")).to_have_count(1)
    assert notes(page) == ["Budget agreed: 8k.\nCall back on Friday."]
    expect(region.locator("li.note")).to_contain_text("Rita Rep")
    sign_out(page)

    # The manager reads it and adds a hint; the newest comes first.
    web.sign_in(page, org["manager"])
    page.goto(web.url(f"/deals/{deal_id}"))
    expect(region.locator("li.note")).to_have_count(1)
    expect(region.locator("li.note button")).to_have_count(0)  # not his to remove
    region.locator("textarea[name=body]").fill("Offer the fleet discount")
    region.get_by_role("button", name="Add note").click()
    expect(region.locator("li.note")).to_have_count(2)
    assert notes(page) == ["Offer the fleet discount", "Budget agreed: 8k.\nCall back on Friday."]
    sign_out(page)

    # Another rep of the team, and a member of another org, see none of it.
    assert web.api(org["rep2"])(Q_NOTES, {"id": deal_id})["opportunity"] is None
    stranger = new_org(web)["admin"]
    assert web.api(stranger)(Q_NOTES, {"id": deal_id})["opportunity"] is None

    # Rita removes her own note (after confirming), and only hers is offered to her.
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/deals/{deal_id}"))
    expect(region.locator("li.note button")).to_have_count(1)
    region.locator("li.note button").click()
    expect(region.locator("li.note")).to_have_count(1)
    assert notes(page) == ["Offer the fleet discount"]
    assert rita(Q_NOTES, {"id": deal_id})["opportunity"]["notes"] == [
        {"body": "Offer the fleet discount"}]

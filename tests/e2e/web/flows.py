"""Steps the browser tests share: setting up an org through the API and the pages' parts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Locator, Page, expect

from web import i18n

from ..conftest import Client, Member, new_org_members
from .conftest import Web, typed

TEMPLATE_TEXT = "Offer for ${client}: ${product}, total ${total}."


def t(locale: str, message: str) -> str:
    """The message as the app shows it in ``locale``."""
    return i18n.translations(locale).ugettext(message)


def registered(web: Web, *members: Member) -> None:
    """Members appear in their org's roster on their first request."""
    for member in members:
        web.api(member)("{ me { id } }")


def import_leads(manager: Client, companies: list[str]) -> None:
    rows = "\n".join(
        f"{name};Contact {i};lead{i}.{abs(hash(name)) % 10**8}@example.pl;{50 + i}"
        for i, name in enumerate(companies)
    )
    result = manager(
        """mutation($csv: String!) { importLeads(csv: $csv) { __typename
        ... on ImportReport { createdCount } } }""",
        {"csv": "company;contact name;email;priority\n" + rows},
    )["importLeads"]
    assert typed(result, "ImportReport")["createdCount"] == len(companies), result


def set_cap(admin: Client, member: Member, cap: int) -> None:
    result = admin(
        """mutation($m: ID!, $cap: Int) { setLeadCap(memberId: $m, leadCap: $cap) {
        __typename } }""",
        {"m": str(member.id), "cap": cap},
    )["setLeadCap"]
    typed(result, "MemberPayload")


def offer_template(admin: Client) -> str:
    folder = admin(
        """mutation { createFolder(name: "Templates") { __typename
        ... on CreateFolderPayload { folder { id } } } }"""
    )["createFolder"]
    document = admin(
        """mutation($f: ID!, $text: String!) { uploadDocument(folderId: $f,
        name: "Standard offer", kind: OFFER_TEMPLATE, content: $text) { __typename
        ... on UploadDocumentPayload { document { id } } } }""",
        {"f": typed(folder, "CreateFolderPayload")["folder"]["id"], "text": TEMPLATE_TEXT},
    )["uploadDocument"]
    return str(typed(document, "UploadDocumentPayload")["document"]["id"])


def new_org(web: Web) -> dict[str, Member]:
    members = new_org_members()
    registered(web, *members.values())
    return members


def column(page: Page, name: str) -> Locator:
    """The list of cards under the column headed ``name``."""
    return page.locator("section.column").filter(
        has=page.locator("h2", has_text=name)
    ).locator("ol.cards")


def eventually(check: Callable[[], Any], seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("not reached in time")
        time.sleep(0.3)


def dialog(page: Page) -> Locator:
    found = page.locator("dialog#dialog")
    expect(found).to_be_visible()
    return found


M_OPEN_DEAL = """mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
  __typename ... on OpportunityPayload { opportunity { id } } } }"""


def deal_with_account(client: Client, name: str, account_id: str, amount: str = "9000") -> str:
    """A deal of ``client``'s member with the account, once the pipeline takes the account: it
    refuses one it has not heard of from leads yet (an unknown one could be another org's),
    and leads' event reaches it a few milliseconds after the account was made."""
    def created() -> str | None:
        found = client(M_OPEN_DEAL, {"input": {"name": name, "amount": amount,
                                               "currency": "PLN", "accountId": account_id}})
        answer = found["createOpportunity"]
        return str(answer["opportunity"]["id"]) if "opportunity" in answer else None

    return str(eventually(created, 30))

"""The offers of a deal in the browser: offers drafted from the demo's DOCX and HTML templates
with line items, previewed, issued and downloaded as real Word and PDF files showing the
client; and the document library's upload form only where the member may write."""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from typing import Any

from playwright.sync_api import Page, expect

from crm import offer_templates
from tests.unit.documents.test_rendering import docx_text, pdf_text

from ..conftest import Client
from .conftest import Web, nip, typed, unique
from .flows import deal_with_account, dialog, eventually, new_org

CLIENT = "Żabka Polska Sp. z o.o."
ITEMS = "Fleet tracker; 10; 199.99; 23\nInstallation; 1; 5000; 8"

M_VALIDITY = """mutation($days: Int!) { setOfferSettings(validityDays: $days) { __typename } }"""
Q_OFFERS = "query($opp: ID!) { offers(opportunityId: $opp) { validUntil } }"
M_FOLDER = """mutation($name: String!) { createFolder(name: $name) { __typename
  ... on CreateFolderPayload { folder { id } } } }"""
M_SHARED = """mutation($name: String!, $writers: [String!]) {
  createFolder(name: $name, writeGroups: $writers) { __typename
  ... on CreateFolderPayload { folder { id } } } }"""
M_TEMPLATE = """mutation($f: ID!, $name: String!, $content: String!, $media: String!,
  $encoding: ContentEncoding!) {
  uploadDocument(folderId: $f, name: $name, kind: OFFER_TEMPLATE, content: $content,
    contentEncoding: $encoding, mediaType: $media) { __typename
  ... on UploadDocumentPayload { document { id } } } }"""
M_ACCOUNT = """mutation($input: AccountInput!) { createAccount(input: $input) { __typename
  ... on AccountPayload { account { id } } } }"""
M_PROBE = """mutation($opp: ID!, $template: ID!) { draftOffer(opportunityId: $opp,
  templateId: $template) { __typename ... on OfferPayload { offer { content } } } }"""


def upload_template(admin: Client, folder: str, name: str, content: bytes, media: str) -> str:
    result = admin(M_TEMPLATE, {"f": folder, "name": name, "media": media, "encoding": "BASE64",
                                "content": base64.b64encode(content).decode("ascii")})
    return str(typed(result["uploadDocument"], "UploadDocumentPayload")["document"]["id"])


def deal_with_client(admin: Client, rep: Client, folder: str) -> str:
    """A deal of the rep with a client company, once documents knows both (their events
    travel over the bus: a probe deal made after it shows the client in a plain-text draft)."""
    account = typed(rep(M_ACCOUNT, {"input": {"name": CLIENT, "nip": nip(uuid.uuid4().int)}})[
        "createAccount"], "AccountPayload")["account"]["id"]

    real, probe = (deal_with_account(rep, unique(name), account, "12000")
                   for name in ("Fleet", "Probe"))
    plain = upload_template(admin, folder, "Probe", b"${client_name}", "text/plain")

    def known() -> bool:
        drafted = rep(M_PROBE, {"opp": probe, "template": plain})["draftOffer"]
        return bool(typed(drafted, "OfferPayload")["offer"]["content"] == CLIENT)

    eventually(known, 30)
    return real


def offer_row(page: Page, template: str) -> Any:
    return page.locator("#offers [data-offer]").filter(has_text=template)


def test_offers_from_word_and_html_templates_previewed_issued_and_downloaded(
    web: Web, tmp_path: Any
) -> None:
    org = new_org(web)
    admin, rep = web.api(org["admin"]), web.api(org["rep"])
    folder = typed(admin(M_FOLDER, {"name": "Offer templates"})["createFolder"],
                   "CreateFolderPayload")["folder"]["id"]
    upload_template(admin, folder, "Offer (Word)", offer_templates.docx_template(),
                    offer_templates.DOCX_MEDIA_TYPE)
    upload_template(admin, folder, "Offer (PDF)", offer_templates.html_template(), "text/html")
    typed(admin(M_VALIDITY, {"days": 7})["setOfferSettings"], "SetOfferSettingsPayload")
    deal = deal_with_client(admin, rep, folder)
    valid_until = dt.date.today() + dt.timedelta(days=7)

    page = web.page()
    web.sign_in(page, org["rep"], "en")
    page.goto(web.url(f"/deals/{deal}"))
    for template, suffix in (("Offer (Word)", ".docx"), ("Offer (PDF)", ".pdf")):
        details = page.locator("#offers details.issue-offer")
        details.locator("summary").click()
        details.locator("#of-template").select_option(label=f"{template} (v1)")
        details.locator("textarea[name=items]").fill(ITEMS)
        details.locator("button[name=action][value=draft]").click()
        row = offer_row(page, template)
        expect(row).to_have_count(1)
        expect(row.locator(".offer-status")).to_contain_text("Draft")
        # Valid for the org's 7 days (the date drafted on the service's, UTC, day).
        expect(row.locator(".offer-valid-until")).to_contain_text(str(valid_until.year))

        # The preview: the rendered offer's text, with the client and the line items.
        row.locator("td a").first.click()
        preview = dialog(page)
        expect(preview.locator(".offer-content")).to_contain_text(CLIENT)
        expect(preview.locator(".offer-content")).to_contain_text("Fleet tracker")
        preview.locator("[data-close-dialog]").click()

        row.locator("form[hx-post$='/issue'] button").click()
        expect(offer_row(page, template).locator(".offer-status")).to_contain_text("Issued")

        with page.expect_download() as download:
            offer_row(page, template).locator("a.offer-file").click()
        assert download.value.suggested_filename.endswith(f"-v1{suffix}")
        data = download.value.path().read_bytes()
        if suffix == ".docx":
            text = docx_text(data)
        else:
            assert data.startswith(b"%PDF")
            text = pdf_text(data)
        # 10 x 199.99 at 23% and 5000.00 at 8%: 6,999.90 net, 7,859.88 gross.
        flat = text.replace("\xa0", " ")
        assert CLIENT in text and "Fleet tracker" in text and "Installation" in text
        assert "PLN 7,859.88" in flat, flat  # the org chose no language: en, as the app shows
    offers = rep(Q_OFFERS, {"opp": deal})["offers"]
    assert {o["validUntil"] for o in offers} == {valid_until.isoformat()}


def test_the_upload_form_only_where_the_member_may_write(web: Web) -> None:
    org = new_org(web)
    admin = web.api(org["admin"])
    read_only = typed(admin(M_FOLDER, {"name": "Price lists"})["createFolder"],
                      "CreateFolderPayload")["folder"]["id"]
    shared = typed(admin(M_SHARED, {"name": "Shared", "writers": ["sales"]})["createFolder"],
                   "CreateFolderPayload")["folder"]["id"]
    page = web.page()
    web.sign_in(page, org["rep"])  # in the group "sales"
    page.goto(web.url(f"/documents?folder={read_only}"))
    expect(page.locator("h2", has_text="Price lists")).to_be_visible()
    expect(page.locator("form[data-signed-upload]")).to_have_count(0)
    page.goto(web.url(f"/documents?folder={shared}"))
    expect(page.locator("form[data-signed-upload]")).to_have_count(1)
    page.goto(web.url("/documents"))
    # Of all the folders, only those the rep writes in are offered.
    upload = page.locator("form[data-signed-upload]")
    expect(upload.locator("select[name=folder] option")).to_have_text(["Shared"])


def test_a_file_larger_than_graphql_carried_goes_up_and_down_by_signed_urls(
    web: Web, tmp_path: Any
) -> None:
    org = new_org(web)
    shared = typed(web.api(org["admin"])(M_SHARED, {"name": "Shared", "writers": ["sales"]})[
        "createFolder"], "CreateFolderPayload")["folder"]["id"]
    big = tmp_path / "catalogue.txt"
    line = "Fleet tracker, model 2027, per unit 199.99 PLN net\n"
    big.write_text(line * (6 * 1024 * 1024 // len(line) + 1), encoding="utf-8")  # over 6 MB
    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/documents?folder={shared}"))
    upload = page.locator("form[data-signed-upload]")
    upload.locator("[name=file]").set_input_files(str(big))
    upload.locator("button").click()  # as an offer template, the first kind: too big for one
    expect(upload.locator("[data-upload-error]")).to_contain_text(
        "an offer template must be at most")
    upload.locator("[name=kind]").select_option("PRICE_LIST")
    upload.locator("button").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}$"), timeout=60_000)
    expect(page.locator("h1")).to_have_text("catalogue.txt")
    with page.expect_download() as download:
        page.locator("table tbody tr").first.locator("a").click()
    assert download.value.path().read_bytes() == big.read_bytes()


def test_an_admin_sets_the_offer_validity_and_the_language_reaches_the_offers(web: Web) -> None:
    org = new_org(web)
    admin = web.api(org["admin"])
    page = web.page()
    web.sign_in(page, org["admin"], "en")
    page.goto(web.url("/admin"))
    days = page.locator("#offer-validity")
    expect(days).to_have_value("30")
    days.evaluate("input => input.removeAttribute('min')")  # the service's own check
    days.fill("0")
    page.locator("form[hx-post='/admin/offer_settings'] button").click()
    expect(page.locator("#admin")).to_contain_text("between 1 and 365")
    page.locator("#offer-validity").fill("14")
    page.locator("form[hx-post='/admin/offer_settings'] button").click()
    expect(page.locator("#admin .alert-success")).to_be_visible()
    assert admin("{ offerSettings { validityDays } }")["offerSettings"]["validityDays"] == 14

    # The pipeline announces the language on the bus; documents formats offers in it.
    for language in ("pl", "en"):
        page.goto(web.url("/admin"))
        page.locator("#org-locale").select_option(language)
        page.locator("form[hx-post='/admin/locale'] button").click()
        expect(page.locator("#admin .alert-success")).to_be_visible()
        expect(page.locator("#org-locale")).to_have_value(language)
        eventually(lambda: admin("{ offerSettings { locale } }")["offerSettings"][
            "locale"] == language, 60)  # noqa: B023 (checked before the loop goes on)

"""Offers through GraphQL and PostgreSQL: DOCX and HTML templates checked on upload with the
place of each problem, offers drafted from the deal's and the client's data (kept from the
pipeline's and leads' events), revised, issued and answered, their files downloaded over HTTP,
and the offer library searched in Polish with and without diacritics."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import docx
import pypdf
import pytest

from crmkit.contracts import Envelope
from crmkit.contracts.leads import AccountCreated, ContactCreated, MemberUpdated
from crmkit.contracts.pipeline import OpportunityCreated, OpportunityLost, OpportunityWon
from crmkit.testing.plugin import Org
from services.documents import rendering as r
from tests.unit.documents.test_rendering import HTML, docx_template

from .conftest import ERRORS, UPLOAD, Api, make_folder

pytestmark = pytest.mark.integration

OFFER_FIELDS = "id number status revision amount currency mediaType content"
DRAFT = f"""
mutation($opp: ID!, $template: ID!, $items: [OfferLineItemInput!], $values: [OfferValueInput!],
         $currency: String) {{
  draftOffer(opportunityId: $opp, templateId: $template, items: $items, values: $values,
             currency: $currency) {{
    __typename ... on OfferPayload {{ offer {{ {OFFER_FIELDS} }} }} {ERRORS} }} }}"""
REVISE = f"""
mutation($id: ID!, $items: [OfferLineItemInput!]) {{
  reviseOffer(offerId: $id, items: $items) {{
    __typename ... on OfferPayload {{ offer {{ {OFFER_FIELDS} }} }} {ERRORS} }} }}"""
ISSUE = f"""mutation($id: ID!) {{ issueOfferDraft(offerId: $id) {{
    __typename ... on OfferPayload {{ offer {{ {OFFER_FIELDS} }} }} {ERRORS} }} }}"""
ACCEPT = f"""mutation($id: ID!) {{ acceptOffer(offerId: $id, comment: "OK") {{
    __typename ... on OfferPayload {{ offer {{ {OFFER_FIELDS} }} }} {ERRORS} }} }}"""
OFFER = """query($id: ID!) { offer(id: $id) { id status revision
  revisions { number mediaType createdBy lineItems { product net gross } } } }"""
REQUEST_DOWNLOAD = f"""mutation($id: ID!, $revision: Int) {{
  requestOfferDownload(offerId: $id, revision: $revision) {{ __typename
    ... on RequestOfferDownloadPayload {{ download {{ url fileName mediaType revision }} }}
    {ERRORS} }} }}"""
LIBRARY = """query($search: String, $outcome: DealOutcome) {
  offerLibrary(search: $search, outcome: $outcome) {
    dealName clientName outcome closeReason closeComment lessonsLearned offer { id number } } }"""
ITEMS = [
    {"product": "Lokalizator GPS", "quantity": "10", "unitPrice": "199.99", "vatRate": "23"},
    {"product": "Wdrożenie systemu", "quantity": "1", "unitPrice": "5000", "vatRate": "8",
     "unit": "usł."},
]


async def upload(api: Api, token: str, folder: str, data: bytes, media: str) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(
        token, UPLOAD, folder=folder, name="Oferta", kind="OFFER_TEMPLATE",
        content=base64.b64encode(data).decode(), encoding="BASE64", media=media,
    ))["uploadDocument"]
    return result


ACCOUNTS: dict[uuid.UUID, uuid.UUID] = {}
"""Each deal's client company."""


async def client_deal(api: Api, org: Org, owner_id: uuid.UUID) -> uuid.UUID:
    opportunity_id, account_id = uuid.uuid4(), uuid.uuid4()
    ACCOUNTS[opportunity_id] = account_id
    for event, aggregate in (
        (AccountCreated(account_id=account_id, name="Żabka Polska Sp. z o.o.",
                        nip="5260250274", address="ul. Prosta 1, Warszawa"), account_id),
        (ContactCreated(contact_id=uuid.uuid4(), account_id=account_id, name="Anna Nowak"),
         account_id),
        (MemberUpdated(member_id=owner_id, lead_cap=10, name="Jan Kowalski"), owner_id),
        (OpportunityCreated(
            opportunity_id=opportunity_id, name="Flota 2027", owner_id=owner_id, team="alpha",
            account_id=account_id, pipeline_id=uuid.uuid4(), stage_id=uuid.uuid4(),
            stage_name="Offer", status="open", amount=Decimal("25000"), currency="PLN",
            probability=40), opportunity_id),
    ):
        assert await api.deliver(Envelope.wrap(event, org_id=org.id, aggregate_id=aggregate,
                                               aggregate_version=1))
    return opportunity_id


async def download(api: Api, token: str, offer_id: str, revision: int | None = None) -> Any:
    """The file through a signed URL asked for as the token's member (None: refused)."""
    asked = (await api.data(token, REQUEST_DOWNLOAD, id=offer_id, revision=revision))
    answer = asked["requestOfferDownload"]
    if answer["__typename"] != "RequestOfferDownloadPayload":
        return None
    return await api.http.get(answer["download"]["url"])


async def test_template_errors_are_refused_on_upload_naming_their_place(
    api: Api, org: Org
) -> None:
    admin = org.token("admin")
    folder = await make_folder(api, admin)
    broken = await upload(api, admin, folder, docx_template("{{ client.nipp }}"),
                          r.DOCX_MEDIA_TYPE)
    assert broken["__typename"] == "ValidationError"
    (problem,) = broken["fields"]
    assert problem["path"] == ["content"]
    assert problem["message"].startswith("paragraph 4: 'client.nipp' is not a merge field")
    broken = await upload(api, admin, folder, b"<p>\n{% for x in items %}", "text/html")
    assert broken["__typename"] == "ValidationError"
    assert broken["fields"][0]["message"].startswith("line 2: Unexpected end of template")


async def test_a_docx_offer_from_the_deal_is_revised_issued_accepted_and_downloaded(
    api: Api, org: Org
) -> None:
    admin = org.token("admin")
    rep_id = uuid.uuid4()
    rep = org.token("rep", member_id=rep_id)
    template = await upload(api, admin, await make_folder(api, admin), docx_template(),
                            r.DOCX_MEDIA_TYPE)
    assert template["__typename"] == "UploadDocumentPayload", template
    opportunity = await client_deal(api, org, rep_id)
    template_id = template["document"]["id"]

    wrong = (await api.data(rep, DRAFT, opp=str(opportunity), template=template_id,
                            items=ITEMS, currency="EUR"))["draftOffer"]
    assert wrong["fields"] == [{"path": ["currency"],
                                "message": "must be the deal's currency (PLN)"}]
    draft = (await api.data(rep, DRAFT, opp=str(opportunity), template=template_id,
                            items=ITEMS, values=[{"name": "delivery", "value": "14 dni"}]))
    offer = draft["draftOffer"]["offer"]
    assert (offer["status"], offer["revision"], offer["amount"], offer["currency"]) == (
        "DRAFT", 1, "6999.90", "PLN")
    assert offer["number"] == f"OF/{datetime.now(UTC):%Y/%m}/0001"
    second = (await api.data(rep, DRAFT, opp=str(opportunity), template=template_id,
                             items=ITEMS))["draftOffer"]["offer"]
    assert second["number"].endswith("/0002")

    revised = (await api.data(rep, REVISE, id=offer["id"], items=ITEMS[:1]))["reviseOffer"]
    assert revised["offer"]["revision"] == 2 and revised["offer"]["amount"] == "1999.90"
    issued = (await api.data(rep, ISSUE, id=offer["id"]))["issueOfferDraft"]["offer"]
    assert issued["status"] == "ISSUED"
    accepted = (await api.data(rep, ACCEPT, id=offer["id"]))["acceptOffer"]["offer"]
    assert accepted["status"] == "ACCEPTED"
    events = await api.events(aggregate_id=offer["id"])
    assert [(e.type, e.aggregate_version) for e in events] == [
        ("crm.documents.offer.issued", 3), ("crm.documents.offer.accepted", 4)]
    assert events[0].payload["revision"] == 2 and events[0].payload["owner_id"] == str(rep_id)

    found = (await api.data(rep, OFFER, id=offer["id"]))["offer"]
    assert [x["number"] for x in found["revisions"]] == [2, 1]
    assert [i["product"] for i in found["revisions"][1]["lineItems"]] == [
        "Lokalizator GPS", "Wdrożenie systemu"]
    response = await download(api, rep, offer["id"], 1)
    assert response.status_code == 200
    assert response.headers["content-type"] == r.DOCX_MEDIA_TYPE
    assert "-v1.docx" in response.headers["content-disposition"]
    document = docx.Document(io.BytesIO(response.content))
    text = "\n".join([p.text for p in document.paragraphs] + [
        c.text for t in document.tables for row in t.rows for c in row.cells])
    assert "Żabka Polska Sp. z o.o., NIP 5260250274" in text
    assert "Wdrożenie systemu" in text and "Dostawa: 14 dni" in text
    assert (await api.http.get("/files/forged.token")).status_code == 403
    current = await download(api, rep, offer["id"])
    assert current.headers["content-disposition"].endswith("-v2.docx")


async def test_an_html_offer_is_a_pdf_and_another_orgs_member_sees_nothing_of_it(
    api: Api, org: Org
) -> None:
    admin = org.token("admin")
    rep_id = uuid.uuid4()
    rep = org.token("rep", member_id=rep_id)
    template = await upload(api, admin, await make_folder(api, admin), HTML.encode(),
                            "text/html")
    opportunity = await client_deal(api, org, rep_id)
    offer = (await api.data(rep, DRAFT, opp=str(opportunity),
                            template=template["document"]["id"], items=ITEMS))["draftOffer"]
    offer = offer["offer"]
    assert offer["mediaType"] == "application/pdf"
    response = await download(api, rep, offer["id"])
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    assert "Żabka Polska Sp. z o.o., NIP 5260250274" in text
    assert "Lokalizator GPS" in text and "Wdrożenie systemu" in text

    stranger = Org(uuid.uuid4()).token("admin")
    assert (await api.data(stranger, OFFER, id=offer["id"]))["offer"] is None
    assert await download(api, stranger, offer["id"]) is None
    answer = (await api.data(stranger, ISSUE, id=offer["id"]))["issueOfferDraft"]
    assert answer["__typename"] == "NotFound"
    other_rep = org.token("rep", team="beta")
    assert (await api.data(other_rep, OFFER, id=offer["id"]))["offer"] is None


async def test_the_library_searches_polish_with_and_without_diacritics(
    api: Api, org: Org
) -> None:
    admin = org.token("admin")
    rep_id = uuid.uuid4()
    rep = org.token("rep", member_id=rep_id)
    template = await upload(api, admin, await make_folder(api, admin), docx_template(),
                            r.DOCX_MEDIA_TYPE)
    won, lost = await client_deal(api, org, rep_id), await client_deal(api, org, rep_id)
    for opportunity in (won, lost):
        issued = (await api.data(rep, """mutation($o: ID!, $t: ID!, $items: [OfferLineItemInput!])
          { issueOffer(opportunityId: $o, templateId: $t, items: $items) { __typename } }""",
                                 o=str(opportunity), t=template["document"]["id"], items=ITEMS))
        assert issued["issueOffer"]["__typename"] == "IssueOfferPayload"
    common: dict[str, Any] = {
        "owner_id": rep_id, "team": "alpha", "pipeline_id": uuid.uuid4(),
        "stage_id": uuid.uuid4(), "amount": Decimal("25000"), "currency": "PLN",
        "from_stage_id": uuid.uuid4(), "closed_at": datetime.now(UTC)}
    await api.deliver(Envelope.wrap(OpportunityWon(
        opportunity_id=won, account_id=ACCOUNTS[won], name="Flota 2027", status="won",
        probability=100,
        lessons_learned="Szybkie wdrożenie przekonało zarząd", **common),
        org_id=org.id, aggregate_id=won, aggregate_version=2))
    await api.deliver(Envelope.wrap(OpportunityLost(
        opportunity_id=lost, account_id=ACCOUNTS[lost], name="Flota 2028", status="lost",
        probability=0,
        close_reason_id=uuid.uuid4(), close_reason_label="Cena", comment="Konkurencja tańsza",
        **common), org_id=org.id, aggregate_id=lost, aggregate_version=2))

    colleague = org.token("rep", team="beta")  # every rep of the org learns from them

    async def found(search: str | None, outcome: str | None = None) -> list[str]:
        entries = (await api.data(colleague, LIBRARY, search=search, outcome=outcome))
        return sorted(e["dealName"] for e in entries["offerLibrary"])

    assert await found(None) == ["Flota 2027", "Flota 2028"]
    assert await found("wdrożenie zarząd") == ["Flota 2027"]
    assert await found("WDROZENIE Zarzad") == ["Flota 2027"]
    assert await found("tańsza") == ["Flota 2028"] == await found("tansza")
    assert await found("lokaliz") == ["Flota 2027", "Flota 2028"]  # the offer's own text
    assert await found(None, "LOST") == ["Flota 2028"]
    assert await found("nic takiego") == []
    # Operators are words, never tsquery syntax (words no offer text begins with: one-letter
    # ones such as "a" or "b" begin words of an offer in English).
    assert await found("qqq & zzz | !xxx :* ('") == []
    entry = (await api.data(colleague, LIBRARY, search="cena"))["offerLibrary"]
    assert [(e["outcome"], e["closeReason"], e["clientName"]) for e in entry] == [
        ("LOST", "Cena", "Żabka Polska Sp. z o.o.")]
    stranger = Org(uuid.uuid4()).token("admin")
    assert (await api.data(stranger, LIBRARY, search=None))["offerLibrary"] == []


async def test_an_admin_restricts_the_library_to_groups(api: Api, org: Org) -> None:
    restrict = """mutation($g: [String!]!) { setOfferLibraryAccess(allowedGroups: $g) {
      __typename ... on SetOfferLibraryAccessPayload { allowedGroups } } }"""
    refused = await api.data(org.token("manager"), restrict, g=["sales"])
    assert refused["setOfferLibraryAccess"]["__typename"] == "Forbidden"
    done = await api.data(org.token("admin"), restrict, g=["sales"])
    assert done["setOfferLibraryAccess"]["allowedGroups"] == ["sales"]
    allowed = await api.call(org.token("rep", groups=("sales",)), LIBRARY, search=None)
    assert allowed["data"]["offerLibrary"] == []
    outside = await api.call(org.token("rep", groups=("support",)), LIBRARY, search=None)
    assert outside["errors"][0]["extensions"]["code"] == "FORBIDDEN"

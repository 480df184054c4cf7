"""The deal page's offers section: the offers of the deal, drafting one from an offer template
with line items (and a plain-text template's ``${placeholders}`` filled in) to preview and then
issue, or issuing it at once, an offer's preview and the download of its file.

Its own region of the deal page (loaded by htmx), its own module and templates, so the offers
can grow (files, downloads) without touching the rest of the deal page.
"""

from __future__ import annotations

import string
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.context import form_of, query, redirect, render, text
from web.errors import problem_of
from web.i18n import N_
from web.routes.deals import own_version

Q_OFFERS = """query Offers($id: ID!) {
  opportunity(id: $id) { id name amount currency status version
    account { name } offers { id number status mediaType title amount currency issuedAt validUntil
      issuedBy templateVersion template { id name } } }
  documents(kind: OFFER_TEMPLATE, first: 100) { edges { node { id name currentVersion
    latestVersion { text } } } } }"""

Q_OFFER = """query Offer($id: ID!) { offer(id: $id) { id title content mediaType amount currency
  issuedAt templateVersion opportunityId template { name } } }"""

M_ISSUE = """mutation Issue($opp: ID!, $template: ID!, $values: [OfferValueInput!], $title: String,
  $version: Int, $amount: Decimal, $currency: String, $items: [OfferLineItemInput!]) {
  issueOffer(opportunityId: $opp, templateId: $template, values: $values, title: $title,
    templateVersion: $version, amount: $amount, currency: $currency, items: $items) {
    __typename
    ... on IssueOfferPayload { offer { id } }
    ... on ValidationError { message fields { path message } }
    ... on NotFound { message } ... on Forbidden { message }
    ... on VersionConflict { message currentVersion } } }"""
M_DRAFT = """mutation Draft($opp: ID!, $template: ID!, $values: [OfferValueInput!],
  $title: String, $version: Int, $currency: String, $items: [OfferLineItemInput!]) {
  draftOffer(opportunityId: $opp, templateId: $template, values: $values, title: $title,
    templateVersion: $version, currency: $currency, items: $items) {
    __typename
    ... on OfferPayload { offer { id } }
    ... on ValidationError { message fields { path message } }
    ... on NotFound { message } ... on Forbidden { message }
    ... on VersionConflict { message currentVersion } } }"""

M_ANSWER = {
    "issue": """mutation IssueDraft($id: ID!) { issueOfferDraft(offerId: $id) { __typename
      ... on ValidationError { message fields { path message } }
      ... on NotFound { message } ... on Forbidden { message } } }""",
    "accept": """mutation Accept($id: ID!) { acceptOffer(offerId: $id) { __typename
      ... on ValidationError { message fields { path message } }
      ... on NotFound { message } ... on Forbidden { message } } }""",
    "reject": """mutation Reject($id: ID!) { rejectOffer(offerId: $id) { __typename
      ... on ValidationError { message fields { path message } }
      ... on NotFound { message } ... on Forbidden { message } } }""",
}
STATUS_LABELS = {
    "DRAFT": N_("Draft"), "ISSUED": N_("Issued"), "ACCEPTED": N_("Accepted by the client"),
    "REJECTED": N_("Rejected by the client"), "EXPIRED": N_("Expired"),
}

M_DOWNLOAD = """mutation Download($id: ID!) { requestOfferDownload(offerId: $id) { __typename
  ... on RequestOfferDownloadPayload { download { url fileName mediaType } } } }"""


def line_items(text: str | None) -> list[dict[str, str]] | None:
    """One line item a line: ``product; quantity; unit net price; VAT rate[; unit]`` (the
    service checks each part and names the one at fault)."""
    items = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        parts += [""] * (4 - len(parts))
        item = {"product": parts[0], "quantity": parts[1] or "1", "unitPrice": parts[2] or "0",
                "vatRate": parts[3] or "23"}
        if len(parts) > 4 and parts[4]:
            item["unit"] = parts[4]
        items.append(item)
    return items or None


def placeholders(template_text: str | None) -> list[str]:
    """The ``${name}`` placeholders of a template, in order of first use."""
    if not template_text:
        return []
    try:
        return list(dict.fromkeys(string.Template(template_text).get_identifiers()))
    except ValueError:
        return []


def suggested_values(deal: dict[str, Any]) -> dict[str, str]:
    """What a placeholder most likely means, filled in from the deal."""
    client = deal["account"]["name"] if deal.get("account") else ""
    total = i18n.money(deal["amount"], deal["currency"])
    return {"client": client, "company": client, "total": total, "amount": total,
            "deal": deal["name"], "name": deal["name"], "currency": deal["currency"]}


async def _section(request: Request, deal_id: str, problem: Any = None,
                   values: dict[str, Any] | None = None, issued: bool = False,
                   drafted: bool = False, form: FormData | None = None) -> Response:
    data = await query(request, Q_OFFERS, id=deal_id)
    deal = data["opportunity"]
    if deal is None:
        return Response(status_code=204)
    templates = [
        {**edge["node"], "placeholders": placeholders((edge["node"]["latestVersion"] or {})
                                                      .get("text"))}
        for edge in data["documents"]["edges"]
    ]
    return render(request, "offers/section.html", deal=deal, offers=deal["offers"],
                  status_label=lambda code: i18n.gettext(STATUS_LABELS.get(code) or code),
                  templates=templates, suggested=suggested_values(deal), problem=problem,
                  values=values or {}, issued=issued, drafted=drafted,
                  own_version=form is not None and own_version(form, deal["version"]))


async def section(request: Request) -> Response:
    return await _section(request, str(request.path_params["id"]))


async def issue(request: Request) -> Response:
    """Issue an offer at once, or (``action=draft``) keep it as a draft to preview first."""
    deal_id = str(request.path_params["id"])
    form = await form_of(request)
    template_id = text(form, "template") or ""
    values = [
        {"name": key[len("value."):], "value": str(value)}
        for key, value in form.multi_items()
        if key.startswith("value.") and isinstance(value, str)
    ]
    version = text(form, "templateVersion")
    common = dict(opp=deal_id, template=template_id, values=values, title=text(form, "title"),
                  version=int(version) if version and version.isdigit() else None,
                  currency=text(form, "currency"), items=line_items(text(form, "items")))
    drafting = text(form, "action") == "draft"
    if drafting:
        result = (await query(request, M_DRAFT, **common))["draftOffer"]
    else:
        result = (await query(request, M_ISSUE, **common, amount=text(form, "amount")))[
            "issueOffer"]
    problem = problem_of(result)
    response = await _section(request, deal_id, problem, dict(form) if problem else None,
                              issued=problem is None and not drafting,
                              drafted=problem is None and drafting, form=form)
    return response


async def preview(request: Request) -> Response:
    offer = (await query(request, Q_OFFER, id=str(request.path_params["offer"])))["offer"]
    if offer is None:
        return render(request, "error.html", status=404,
                      message=i18n.gettext("It no longer exists or you cannot see it."))
    return render(request, "offers/preview.html", offer=offer,
                  headers={"HX-Trigger-After-Settle": "crm:open-dialog"})


async def answer(request: Request) -> Response:
    """A draft issued, or the client's answer to an issued offer: accepted or rejected."""
    deal_id = str(request.path_params["id"])
    verb = str(request.path_params["answer"])
    if verb not in M_ANSWER:
        return Response(status_code=404)
    document = M_ANSWER[verb]
    result = (await query(request, document, id=str(request.path_params["offer"])))
    return await _section(request, deal_id, problem_of(next(iter(result.values()))))


async def download(request: Request) -> Response:
    """The offer's current file: a redirect to its signed URL (``/files/`` on this origin)."""
    answer = (await query(request, M_DOWNLOAD, id=str(request.path_params["offer"])))
    found = answer["requestOfferDownload"]
    if found["__typename"] != "RequestOfferDownloadPayload":
        return render(request, "error.html", status=404,
                      message=i18n.gettext("It no longer exists or you cannot see it."))
    return redirect(request, found["download"]["url"])


routes = [
    Route("/deals/{id:uuid}/offers", section, methods=["GET"]),
    Route("/deals/{id:uuid}/offers", issue, methods=["POST"]),
    Route("/offers/{offer:uuid}", preview, methods=["GET"]),
    Route("/offers/{offer:uuid}/file", download, methods=["GET"]),
    Route("/deals/{id:uuid}/offers/{offer:uuid}/{answer:str}", answer, methods=["POST"]),
]

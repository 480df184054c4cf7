"""Administration (admins): pipelines and their stages (add, rename, reorder, remove,
probability, rotting days, entry requirements), the lost-reason catalogue, lead caps, and the
org's settings (language, phone region, lead defaults, base currency, exchange rates, how long
a new offer is valid)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.context import form_of, query, redirect, render, session_of, text
from web.errors import Problem, problem_of

REQUIREMENTS = (
    "CONTACT_MADE", "NEXT_CONTACT_SCHEDULED", "NEEDS", "PAIN_POINTS", "BUDGET",
    "DECISION_MAKER", "OFFER_ISSUED", "CLOSE_REASON", "CLOSE_COMMENT",
)
ERRORS = """... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message }
  ... on VersionConflict { message currentVersion }"""
STAGE = "id name position probability kind rottingDays requirements"

Q_ADMIN = f"""query Admin {{
  pipelines {{ id name isDefault version stages {{ {STAGE} }} }}
  lostReasons(includeInactive: true) {{ id label code active position }}
  members {{ id name team roles leadCap customLeadCap activeLeadCount }}
  organizationSettings {{ locale }}
  leadSettings {{ defaultRegion defaultLeadCap customDefaultLeadCap idleReturnDays }}
  exchangeRates {{ baseCurrency rates {{ currency rate }} }}
  offerSettings {{ validityDays }} }}"""

PIPELINE_RESULT = f"""__typename ... on PipelinePayload {{ pipeline {{ id }} }} {ERRORS}"""
M = {
    "create_pipeline": f"""mutation($name: String!) {{ createPipeline(name: $name) {{
      {PIPELINE_RESULT} }} }}""",
    "add_stage": f"""mutation($pipeline: ID!, $input: StageInput!, $position: Int) {{
      addStage(pipelineId: $pipeline, input: $input, position: $position) {{
      {PIPELINE_RESULT} }} }}""",
    "update_stage": f"""mutation($stage: ID!, $patch: StagePatchInput!) {{
      updateStage(stageId: $stage, patch: $patch) {{ {PIPELINE_RESULT} }} }}""",
    "reorder": f"""mutation($pipeline: ID!, $stages: [ID!]!) {{
      reorderStages(pipelineId: $pipeline, stageIds: $stages) {{ {PIPELINE_RESULT} }} }}""",
    "remove_stage": f"""mutation($stage: ID!, $to: ID) {{
      removeStage(stageId: $stage, moveOpportunitiesTo: $to) {{ {PIPELINE_RESULT} }} }}""",
    "add_reason": f"""mutation($label: String!) {{ addLostReason(label: $label) {{ __typename
      ... on LostReasonPayload {{ lostReason {{ id }} }} {ERRORS} }} }}""",
    "update_reason": f"""mutation($id: ID!, $label: String, $active: Boolean) {{
      updateLostReason(id: $id, label: $label, active: $active) {{ __typename
      ... on LostReasonPayload {{ lostReason {{ id }} }} {ERRORS} }} }}""",
    "cap": """mutation($member: ID!, $cap: Int) { setLeadCap(memberId: $member, leadCap: $cap) {
      __typename ... on MemberPayload { member { id } }
      ... on ValidationError { message fields { path message } }
      ... on NotFound { message } ... on Forbidden { message } } }""",
    "locale": f"""mutation($locale: Locale!) {{ setOrganizationLocale(locale: $locale) {{
      __typename ... on OrganizationSettingsPayload {{ settings {{ locale }} }} {ERRORS} }} }}""",
    "lead_settings": """mutation($input: LeadSettingsInput!) {
      updateLeadSettings(input: $input) { __typename
      ... on LeadSettingsPayload { settings { defaultRegion } }
      ... on ValidationError { message fields { path message } }
      ... on Forbidden { message } } }""",
    "base_currency": """mutation($currency: String!) { setBaseCurrency(currency: $currency) {
      __typename ... on ExchangeRates { baseCurrency }
      ... on ValidationError { message fields { path message } }
      ... on Forbidden { message } } }""",
    "rate": """mutation($currency: String!, $rate: Decimal!) {
      setExchangeRate(currency: $currency, rate: $rate) { __typename
      ... on ExchangeRates { baseCurrency }
      ... on ValidationError { message fields { path message } }
      ... on Forbidden { message } } }""",
    "offer_settings": """mutation($days: Int!) { setOfferSettings(validityDays: $days) {
      __typename ... on SetOfferSettingsPayload { settings { validityDays } }
      ... on ValidationError { message fields { path message } }
      ... on Forbidden { message } } }""",
}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def _page(request: Request, problem: Problem | None = None,
                message: str | None = None, section: str | None = None) -> Response:
    data = await query(request, Q_ADMIN)
    for pipeline in data["pipelines"]:
        pipeline["stages"].sort(key=lambda s: s["position"])
    template = "admin/region.html" if request.method == "POST" else "admin/page.html"
    return render(request, template, **data, requirements=REQUIREMENTS, problem=problem,
                  message=message, section=section)


async def admin(request: Request) -> Response:
    if not session_of(request).is_admin:
        return redirect(request, "/")
    return await _page(request)


def _stage_input(form: FormData) -> dict[str, Any]:
    return {
        "name": text(form, "name") or "",
        "probability": _int(text(form, "probability")) or 0,
        "kind": text(form, "kind") or "OPEN",
        "rottingDays": _int(text(form, "rottingDays")),
        "requirements": [str(r) for r in form.getlist("requirements")],
    }


async def action(request: Request) -> Response:
    """Every admin form posts here: the action names the mutation, the page is redrawn."""
    name = request.path_params["action"]
    if name not in M:
        return render(request, "error.html", status=404, message=i18n.gettext("Page not found"))
    form = await form_of(request)
    variables: dict[str, Any]
    if name == "create_pipeline":
        variables = {"name": text(form, "name") or ""}
    elif name == "add_stage":
        variables = {"pipeline": text(form, "pipeline"), "input": _stage_input(form),
                     "position": _int(text(form, "position"))}
    elif name == "update_stage":
        stage = _stage_input(form)
        patch = {key: stage[key] for key in ("name", "probability", "requirements")}
        if stage["rottingDays"] is None:
            patch["clearRottingDays"] = True
        else:
            patch["rottingDays"] = stage["rottingDays"]
        variables = {"stage": text(form, "stage"), "patch": patch}
    elif name == "reorder":
        order = [str(s) for s in form.getlist("order")]
        moved, direction = text(form, "stage"), text(form, "direction")
        if moved in order:
            i = order.index(moved)
            j = i - 1 if direction == "up" else i + 1
            if 0 <= j < len(order):
                order[i], order[j] = order[j], order[i]
        variables = {"pipeline": text(form, "pipeline"), "stages": order}
    elif name == "remove_stage":
        variables = {"stage": text(form, "stage"), "to": text(form, "to")}
    elif name == "add_reason":
        variables = {"label": text(form, "label") or ""}
    elif name == "update_reason":
        variables = {"id": text(form, "id"), "label": text(form, "label"),
                     "active": text(form, "active") == "1"}
    elif name == "cap":
        variables = {"member": text(form, "member"), "cap": _int(text(form, "cap"))}
    elif name == "locale":
        variables = {"locale": (text(form, "locale") or "").upper()}
    elif name == "lead_settings":
        variables = {"input": {"defaultRegion": (text(form, "defaultRegion") or "PL").upper(),
                               "defaultLeadCap": _int(text(form, "defaultLeadCap")),
                               "idleReturnDays": _int(text(form, "idleReturnDays"))}}
    elif name == "offer_settings":
        # Not a number: 0, which the service refuses with its own message.
        variables = {"days": _int(text(form, "validityDays")) or 0}
    elif name == "base_currency":
        variables = {"currency": (text(form, "currency") or "").upper()}
    else:
        variables = {"currency": (text(form, "currency") or "").upper(),
                     "rate": text(form, "rate") or ""}
    result = next(iter((await query(request, M[name], **variables)).values()))
    problem = problem_of(result)
    if problem is None and name == "locale":
        session_of(request).org_locale = variables["locale"].lower()
    return await _page(request, problem, None if problem else i18n.gettext("Saved"),
                       section=text(form, "section"))


routes = [
    Route("/admin", admin, methods=["GET"]),
    Route("/admin/{action:str}", action, methods=["POST"]),
]

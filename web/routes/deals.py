"""A deal: moving it on the board (with the stage gate's refusals), closing it as won or lost,
fixing what a gate misses from the card, and the deal page with every field editable."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.context import form_of, query, redirect, render, session_of, text, version_of
from web.errors import REQUIREMENT_LABELS, Problem, problem_of
from web.i18n import N_
from web.routes.board import CARD_FIELDS, card_labels, card_view
from web.routes.deal_notes import NOTE_FIELDS
from web.session import Session

RESULT_ERRORS = """... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message }
  ... on VersionConflict { message currentVersion }
  ... on GateNotSatisfied { message stageId stageName missing }"""

CARD = CARD_FIELDS

Q_CARD = f"""query Card($id: ID!) {{ opportunity(id: $id) {{ {CARD} }} }}"""

M_MOVE = f"""mutation Move($id: ID!, $stage: ID!, $version: Int!) {{
  moveOpportunity(id: $id, stageId: $stage, expectedVersion: $version) {{ __typename
    ... on OpportunityPayload {{ opportunity {{ {CARD} }} }}
    {RESULT_ERRORS} }} }}"""

Q_CLOSE = """query Close($id: ID!) { opportunity(id: $id) { id name version status stageId
  pipeline { stages { id name kind } } } lostReasons { id label } }"""

M_WON = f"""mutation Won($id: ID!, $comment: String, $version: Int) {{
  markWon(id: $id, comment: $comment, expectedVersion: $version) {{ __typename
  ... on OpportunityPayload {{ opportunity {{ id version }} }} {RESULT_ERRORS} }} }}"""
M_LOST = f"""mutation Lost($id: ID!, $reason: ID, $comment: String, $version: Int) {{
  markLost(id: $id, reasonId: $reason, comment: $comment, expectedVersion: $version) {{
  __typename ... on OpportunityPayload {{ opportunity {{ id version }} }} {RESULT_ERRORS} }} }}"""
M_LESSONS = f"""mutation Lessons($id: ID!, $version: Int!, $lessons: String!) {{
  updateOpportunity(id: $id, expectedVersion: $version, patch: {{lessonsLearned: $lessons}}) {{
  __typename ... on OpportunityPayload {{ opportunity {{ version }} }} {RESULT_ERRORS} }} }}"""

M_UPDATE = f"""mutation Update($id: ID!, $version: Int!, $patch: OpportunityPatchInput!) {{
  updateOpportunity(id: $id, expectedVersion: $version, patch: $patch) {{ __typename
    ... on OpportunityPayload {{ opportunity {{ {CARD} }} }}
    {RESULT_ERRORS} }} }}"""

ACTIVITY_ERRORS = """... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message }
  ... on VersionConflict { message currentVersion }"""

M_SCHEDULE = f"""mutation Schedule($input: ScheduleActivityInput!) {{
  scheduleActivity(input: $input) {{ __typename ... on ActivityPayload {{ activity {{ id }} }}
  {ACTIVITY_ERRORS} }} }}"""
M_COMPLETE = f"""mutation Complete($id: ID!, $outcome: String) {{
  completeActivity(id: $id, outcome: $outcome) {{ __typename
  ... on ActivityPayload {{ activity {{ id }} }} {ACTIVITY_ERRORS} }} }}"""

# Qualification requirements and the patch fields that satisfy them.
QUALIFICATION_FIELDS = {
    "NEEDS": ("needs", N_("The client's needs")),
    "PAIN_POINTS": ("painPoints", N_("The client's pain points")),
    "DECISION_MAKER": ("decisionMakers", N_("The decision makers")),
}


def _card_response(
    request: Request, card: dict[str, Any], problem: Problem | None = None, *, refused: bool = False
) -> Response:
    """The card (fetched with ``CARD``), with a refusal shown on it."""
    labels = card_labels()
    # The page puts the card in its stage's column and counts the columns again.
    headers = {"HX-Trigger-After-Swap": orjson.dumps({"crm:card": {"id": card["id"]}}).decode()}
    if refused:
        headers["X-Move-Refused"] = "1"
    return render(
        request, "board/card.html", card=card_view(card, i18n.now(), labels), problem=problem,
        labels=labels, headers=headers,
    )


async def _reload_card(request: Request, deal_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await query(request, Q_CARD, id=deal_id))["opportunity"]
    return found


def _deal_id(request: Request) -> str:
    return str(request.path_params["id"])


async def move(request: Request) -> Response:
    deal_id = _deal_id(request)
    form = await form_of(request)
    stage = text(form, "stage") or ""
    kind = text(form, "kind") or "OPEN"
    version = version_of(form)
    if kind in ("WON", "LOST"):
        return await close_dialog(request, stage_kind=kind)
    result = (await query(request, M_MOVE, id=deal_id, stage=stage, version=version))[
        "moveOpportunity"
    ]
    problem = problem_of(result)
    if problem is None:
        return _card_response(request, result["opportunity"])
    # Refused: the card as it is now (another version after a conflict) goes back, with why.
    card = await _reload_card(request, deal_id)
    if card is None:
        return render(request, "partials/flash.html", level="error", message=problem.message,
                      headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return _card_response(request, card, problem, refused=True)


async def close_dialog(request: Request, stage_kind: str | None = None) -> Response:
    """The dialog that closes a deal as won or lost: comment, lessons learned, lost reason."""
    deal_id = _deal_id(request)
    kind = stage_kind or request.query_params.get("kind", "WON")
    data = await query(request, Q_CLOSE, id=deal_id)
    deal = data["opportunity"]
    if deal is None:
        return render(request, "partials/flash.html", level="error",
                      message=i18n.gettext("It no longer exists or you cannot see it."),
                      headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return render(
        request,
        "deals/close_dialog.html",
        deal=deal,
        kind=kind,
        reasons=data["lostReasons"],
        values={},
        problem=None,
        headers={"HX-Retarget": "#dialog-body", "HX-Reswap": "innerHTML",
                 "HX-Trigger-After-Settle": "crm:open-dialog"},
    )


async def close(request: Request) -> Response:
    deal_id = _deal_id(request)
    form = await form_of(request)
    kind = text(form, "kind") or "WON"
    version = version_of(form)
    comment = text(form, "comment")
    lessons = text(form, "lessons")
    problem: Problem | None = None
    if lessons:
        updated = (await query(request, M_LESSONS, id=deal_id, version=version,
                               lessons=lessons))["updateOpportunity"]
        problem = problem_of(updated)
        if problem is None:
            version = updated["opportunity"]["version"]
    if problem is None:
        if kind == "LOST":
            result = (await query(request, M_LOST, id=deal_id,
                                  reason=text(form, "reason"), comment=comment,
                                  version=version))["markLost"]
        else:
            result = (await query(request, M_WON, id=deal_id, comment=comment,
                                  version=version))["markWon"]
        problem = problem_of(result)
    if problem is None:
        message = (i18n.gettext("The deal is won. Congratulations!") if kind == "WON"
                   else i18n.gettext("The deal is closed as lost."))
        return render(request, "deals/closed.html", deal_id=deal_id, message=message)
    data = await query(request, Q_CLOSE, id=deal_id)
    return render(request, "deals/close_dialog.html", deal=data["opportunity"], kind=kind,
                  reasons=data["lostReasons"], values=dict(form), problem=problem)


async def fix_dialog(request: Request) -> Response:
    """A small form for one missing gate item, opened from the card."""
    deal_id = _deal_id(request)
    item = request.path_params["item"].upper()
    card = await _reload_card(request, deal_id)
    if card is None:
        return render(request, "partials/flash.html", level="error",
                      message=i18n.gettext("It no longer exists or you cannot see it."),
                      headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    params = request.query_params
    return render(request, "deals/fix_dialog.html", deal_id=deal_id, item=item,
                  values={"version": card["version"]}, problem=None,
                  fields=QUALIFICATION_FIELDS, deal=card,
                  missing=_missing(params.get("missing")), stage_name=params.get("stage", ""),
                  headers={"HX-Trigger-After-Settle": "crm:open-dialog"})


async def _schedule(
    request: Request, form: FormData, deal_id: str, *, done: bool
) -> Problem | None:
    due = i18n.parse_local(text(form, "due") or "") if not done else dt.datetime.now(dt.UTC)
    if due is None:
        return Problem("ValidationError", i18n.gettext("Check the highlighted fields."),
                       {"due": i18n.gettext("Enter a date and time")})
    activity = {
        "opportunityId": deal_id,
        "kind": text(form, "kind") or "CALL",
        "dueAt": due.isoformat(),
        "subject": text(form, "subject") or "",
        "notes": text(form, "notes"),
    }
    result = (await query(request, M_SCHEDULE, input=activity))[
        "scheduleActivity"]
    problem = problem_of(result, {"dueAt": "due"})
    if problem is None and done:
        completed = (await query(request, M_COMPLETE,
                                 id=result["activity"]["id"], outcome=text(form, "outcome")))[
            "completeActivity"]
        problem = problem_of(completed)
    return problem


def patch_from(form: FormData, names: list[str]) -> dict[str, Any]:
    """An ``OpportunityPatchInput`` from the form: filled fields set, emptied ones cleared."""
    patch: dict[str, Any] = {}
    clear: list[str] = []
    for name in names:
        if name not in form:
            continue
        value = text(form, name)
        if value is None:
            clear.append(name)
        else:
            patch[name] = value
    if clear:
        patch["clear"] = clear
    return patch


def _from_deal_page(request: Request) -> bool:
    return urlsplit(request.headers.get("hx-current-url", "")).path.startswith("/deals/")


def _missing(raw: str | None) -> list[str]:
    return [item for item in (raw or "").split(",") if item in REQUIREMENT_LABELS]


def _fixed(request: Request, card: dict[str, Any], form: FormData, item: str) -> Response:
    """After a fix: the deal page reloads; on the board the card is redrawn, still listing
    what else the gate misses (so the next fix is one click away)."""
    if _from_deal_page(request):
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    remaining = [m for m in _missing(text(form, "missing")) if m != item]
    problem = None
    if remaining:
        problem = Problem("GateNotSatisfied", "", details={
            "missing": remaining, "stageName": text(form, "stage_name") or ""})
    response = _card_response(request, card, problem)
    response.headers["HX-Retarget"] = f"#card-{card['id']}"
    response.headers["HX-Reswap"] = "outerHTML"
    response.headers["HX-Trigger"] = "crm:close-dialog"
    return response


async def fix(request: Request) -> Response:
    deal_id = _deal_id(request)
    item = request.path_params["item"].upper()
    form = await form_of(request)
    problem: Problem | None
    if item == "CONTACT_MADE":
        problem = await _schedule(request, form, deal_id, done=True)
    elif item == "NEXT_CONTACT_SCHEDULED":
        problem = await _schedule(request, form, deal_id, done=False)
    else:
        version = version_of(form)
        if item == "BUDGET":
            patch = {"budgetAmount": text(form, "budgetAmount"),
                     "budgetCurrency": text(form, "budgetCurrency")}
        else:
            patch = patch_from(form, [QUALIFICATION_FIELDS[item][0]])
        result = (await query(request, M_UPDATE, id=deal_id, version=version, patch=patch))[
            "updateOpportunity"]
        problem = problem_of(result)
        if problem is None:  # the payload is the card as it is now
            return _fixed(request, result["opportunity"], form, item)
    if problem is not None:
        return render(request, "deals/fix_dialog.html", deal_id=deal_id, item=item,
                      values=dict(form), problem=problem, fields=QUALIFICATION_FIELDS,
                      deal=await _reload_card(request, deal_id),
                      missing=_missing(text(form, "missing")),
                      stage_name=text(form, "stage_name") or "")
    card = await _reload_card(request, deal_id)
    if card is None:
        return redirect(request, "/")
    return _fixed(request, card, form, item)


routes = [
    Route("/deals/{id:uuid}/move", move, methods=["POST"]),
    Route("/deals/{id:uuid}/close", close_dialog, methods=["GET"]),
    Route("/deals/{id:uuid}/close", close, methods=["POST"]),
    Route("/deals/{id:uuid}/fix/{item:str}", fix_dialog, methods=["GET"]),
    Route("/deals/{id:uuid}/fix/{item:str}", fix, methods=["POST"]),
]


# --- the deal page --------------------------------------------------------------------------

DEAL_FIELDS = """id name amount currency expectedCloseDate probability status version stageId
  createdAt stageEnteredAt closedAt closeComment lessonsLearned isStale nextContactAt
  contactMade offerIssued ownerId owner { id name } account { id name nip }
  closeReason { label } stage { id name kind }
  pipeline { id name stages { id name kind position requirements } }
  qualification { needs painPoints budget { amount currency } decisionMakers
    customerPreferences offerRequirements }
  negotiation { price terms delivery contract }"""

Q_DEAL = f"""query Deal($id: ID!) {{ opportunity(id: $id) {{ {DEAL_FIELDS}
  history {{ fromStageId toStageId changedAt changedBy {{ name }} secondsInPreviousStage }}
  handovers {{ previousOwner {{ name }} newOwner {{ name }} changedAt changedBy {{ name }} }}
  notes {{ {NOTE_FIELDS} }}
  activities {{ {{ACTIVITY}} }} }} {{MEMBERS}} }}"""

ACTIVITY_FIELDS = """id kind subject notes dueAt status completedAt outcome overdue version
  owner { id name }"""
Q_DEAL = Q_DEAL.replace("{ACTIVITY}", ACTIVITY_FIELDS)
# A manager's or an admin's page also lists who the deal may be handed to (leads' roster,
# fetched by the gateway beside the deal).
Q_DEAL_AND_MEMBERS = Q_DEAL.replace("{MEMBERS}", "members { id name team }")
Q_DEAL = Q_DEAL.replace("{MEMBERS}", "")

Q_ACTIVITIES = f"""query Activities($id: ID!) {{ opportunity(id: $id) {{ id status version
  nextContactAt
  activities {{ {ACTIVITY_FIELDS} }} }} }}"""

M_SAVE = f"""mutation Save($id: ID!, $version: Int!, $patch: OpportunityPatchInput!) {{
  updateOpportunity(id: $id, expectedVersion: $version, patch: $patch) {{ __typename
    ... on OpportunityPayload {{ opportunity {{ {DEAL_FIELDS} }} }}
    {RESULT_ERRORS} }} }}"""

M_MOVE_DEAL = """mutation MoveDeal($id: ID!, $stage: ID!, $version: Int!) {
  moveOpportunity(id: $id, stageId: $stage, expectedVersion: $version) { __typename
    ... on OpportunityPayload { opportunity { id } } %s } }""".replace("%s", RESULT_ERRORS)

M_REASSIGN = """mutation Reassign($id: ID!, $version: Int!, $owner: ID!) {
  reassignOpportunity(id: $id, expectedVersion: $version, ownerId: $owner) { __typename
    ... on OpportunityPayload { opportunity { id } } %s } }""".replace("%s", RESULT_ERRORS)

M_REOPEN = """mutation Reopen($id: ID!, $version: Int) {
  reopenOpportunity(id: $id, expectedVersion: $version) { __typename
    ... on OpportunityPayload { opportunity { id } } %s } }""".replace("%s", RESULT_ERRORS)

M_RESCHEDULE = """mutation Reschedule($id: ID!, $due: DateTime!) {
  rescheduleActivity(id: $id, dueAt: $due) { __typename
  ... on ActivityPayload { activity { id } } %s } }""".replace("%s", ACTIVITY_ERRORS)
M_CANCEL = """mutation Cancel($id: ID!) { cancelActivity(id: $id) { __typename
  ... on ActivityPayload { activity { id } } %s } }""".replace("%s", ACTIVITY_ERRORS)

TEXT_FIELDS = [
    "needs", "painPoints", "decisionMakers", "customerPreferences", "offerRequirements",
    "negotiationPrice", "negotiationTerms", "negotiationDelivery", "negotiationContract",
    "lessonsLearned",
]


def deal_values(deal: dict[str, Any]) -> dict[str, Any]:
    """The deal as the edit form's values."""
    q = deal["qualification"]
    n = deal["negotiation"]
    budget = q.get("budget") or {}
    return {
        "name": deal["name"], "amount": deal["amount"], "currency": deal["currency"],
        "expectedCloseDate": deal["expectedCloseDate"] or "",
        "probability": deal["probability"], "version": deal["version"],
        "needs": q["needs"], "painPoints": q["painPoints"],
        "budgetAmount": budget.get("amount"), "budgetCurrency": budget.get("currency"),
        "decisionMakers": q["decisionMakers"], "customerPreferences": q["customerPreferences"],
        "offerRequirements": q["offerRequirements"],
        "negotiationPrice": n["price"], "negotiationTerms": n["terms"],
        "negotiationDelivery": n["delivery"], "negotiationContract": n["contract"],
        "lessonsLearned": deal["lessonsLearned"],
    }


def history_rows(deal: dict[str, Any]) -> list[dict[str, Any]]:
    """Each stage change (the name of both stages and the time spent before it) and each
    handover (both owners' names), oldest first."""
    names = {s["id"]: s["name"] for s in deal["pipeline"]["stages"]} if deal["pipeline"] else {}
    stages = [
        {**change, "kind": "stage", "from": names.get(change["fromStageId"], "?"),
         "to": names.get(change["toStageId"], "?")}
        for change in deal["history"]
    ]
    owners = [
        {**change, "kind": "owner", "from": (change["previousOwner"] or {}).get("name", "?"),
         "to": (change["newOwner"] or {}).get("name", "?")}
        for change in deal.get("handovers") or []
    ]
    return sorted(stages + owners, key=lambda row: dt.datetime.fromisoformat(row["changedAt"]))


async def deal_page(request: Request) -> Response:
    deal_id = _deal_id(request)
    session = session_of(request)
    data = await query(request, Q_DEAL_AND_MEMBERS if session.is_manager else Q_DEAL,
                       id=deal_id)
    deal = data["opportunity"]
    if deal is None:
        return render(request, "error.html", status=404,
                      message=i18n.gettext("It no longer exists or you cannot see it."))
    return render(request, "deals/page.html", deal=deal, values=deal_values(deal),
                  problem=None, saved=False, history=history_rows(deal),
                  activities=deal["activities"], stage_problem=None,
                  successors=successors(session, deal, data.get("members") or []))


def receivers(session: Session, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Who the caller may hand deals to (the API decides; this only offers them): for an
    admin anyone, for a manager their team, for a rep nobody."""
    if not session.is_manager:
        return []
    return [m for m in members
            if session.is_admin or (session.team is not None and m["team"] == session.team)]


def successors(session: Session, deal: dict[str, Any],
               members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Who the caller may hand this deal to: a receiver other than its owner."""
    return [m for m in receivers(session, members) if m["id"] != deal["ownerId"]]


async def reassign(request: Request) -> Response:
    deal_id = _deal_id(request)
    form = await form_of(request)
    result = (await query(request, M_REASSIGN, id=deal_id, version=version_of(form),
                          owner=text(form, "owner") or ""))["reassignOpportunity"]
    problem = problem_of(result)
    if problem is None:
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return render(request, "deals/stage_problem.html", problem=problem, card={"id": deal_id})


async def save_deal(request: Request) -> Response:
    deal_id = _deal_id(request)
    form = await form_of(request)
    version = version_of(form)
    patch: dict[str, Any] = {}
    for name in ("name", "amount", "currency", "probability", "expectedCloseDate"):
        value = text(form, name)
        if value is not None:
            patch[name] = int(value) if name == "probability" and value.isdigit() else value
    if "expectedCloseDate" in form and text(form, "expectedCloseDate") is None:
        patch.setdefault("clear", []).append("expectedCloseDate")
    budget_amount, budget_currency = text(form, "budgetAmount"), text(form, "budgetCurrency")
    if budget_amount is not None:
        patch["budgetAmount"] = budget_amount
        patch["budgetCurrency"] = budget_currency or text(form, "currency")
    elif "budgetAmount" in form:
        patch.setdefault("clear", []).append("budget")
    text_patch = patch_from(form, TEXT_FIELDS)
    patch.setdefault("clear", []).extend(text_patch.pop("clear", []))
    patch.update(text_patch)
    if not patch["clear"]:
        del patch["clear"]
    result = (await query(request, M_SAVE, id=deal_id, version=version, patch=patch))[
        "updateOpportunity"]
    problem = problem_of(result, {"budgetAmount": "budgetAmount"})
    if problem is None:
        deal = result["opportunity"]
        return render(request, "deals/fields.html", deal=deal, values=deal_values(deal),
                      problem=None, saved=True)
    deal = (await query(request, Q_DEAL, id=deal_id))["opportunity"]
    if deal is None:
        return redirect(request, "/")
    # A conflict shows the current version (the form reloaded); other errors keep the input.
    values = deal_values(deal) if problem.kind == "VersionConflict" else {
        **dict(form), "version": version}
    return render(request, "deals/fields.html", deal=deal, values=values, problem=problem,
                  saved=False)


async def move_deal(request: Request) -> Response:
    """The deal page's stage bar: a move, or the gate's refusal with links that fix it."""
    deal_id = _deal_id(request)
    form = await form_of(request)
    stage = text(form, "stage") or ""
    kind = text(form, "kind") or "OPEN"
    if kind in ("WON", "LOST"):
        return await close_dialog(request, stage_kind=kind)
    result = (await query(request, M_MOVE_DEAL, id=deal_id, stage=stage,
                          version=version_of(form)))["moveOpportunity"]
    problem = problem_of(result)
    if problem is None:
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return render(request, "deals/stage_problem.html", problem=problem, card={"id": deal_id})


async def reopen(request: Request) -> Response:
    deal_id = _deal_id(request)
    form = await form_of(request)
    result = (await query(request, M_REOPEN, id=deal_id,
                          version=version_of(form)))["reopenOpportunity"]
    problem = problem_of(result)
    if problem is None:
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return render(request, "deals/stage_problem.html", problem=problem, card={"id": deal_id})


def own_version(form: FormData, current: int) -> bool:
    """Whether the page may take the deal's new version after its own change: only when the
    deal moved on by that change alone (at most one version), so a change someone else made
    meanwhile still surfaces as a conflict when the page's details are saved."""
    page = version_of(form)
    return page >= 0 and 0 <= current - page <= 1


async def _activities_region(
    request: Request, deal_id: str, form: FormData, problem: Problem | None = None,
    values: Any = None,
) -> Response:
    deal = (await query(request, Q_ACTIVITIES, id=deal_id))["opportunity"]
    if deal is None:
        return redirect(request, "/")
    return render(request, "deals/activities.html", deal=deal, activities=deal["activities"],
                  problem=problem, values=values or {},
                  own_version=own_version(form, deal["version"]))


async def schedule(request: Request) -> Response:
    deal_id = _deal_id(request)
    form = await form_of(request)
    problem = await _schedule(request, form, deal_id, done=text(form, "done") == "1")
    return await _activities_region(request, deal_id, form, problem,
                                    dict(form) if problem else None)


async def change_activity(
    request: Request, activity_id: str, action: str, form: FormData
) -> Problem | None:
    """Complete, reschedule or cancel an activity; the typed error when refused."""
    if action == "complete":
        result = (await query(request, M_COMPLETE, id=activity_id,
                              outcome=text(form, "outcome")))["completeActivity"]
    elif action == "reschedule":
        due = i18n.parse_local(text(form, "due") or "")
        if due is None:
            return Problem("ValidationError", i18n.gettext("Enter a date and time"))
        result = (await query(request, M_RESCHEDULE, id=activity_id, due=due.isoformat()))[
            "rescheduleActivity"]
    elif action == "cancel":
        result = (await query(request, M_CANCEL, id=activity_id))["cancelActivity"]
    else:
        return Problem("NotFound", i18n.gettext("Page not found"))
    return problem_of(result)


async def activity_action(request: Request) -> Response:
    deal_id = _deal_id(request)
    form = await form_of(request)
    problem = await change_activity(
        request, str(request.path_params["activity"]), request.path_params["action"], form
    )
    return await _activities_region(request, deal_id, form, problem)


routes += [
    Route("/deals/{id:uuid}", deal_page, methods=["GET"]),
    Route("/deals/{id:uuid}", save_deal, methods=["POST"]),
    Route("/deals/{id:uuid}/stage", move_deal, methods=["POST"]),
    Route("/deals/{id:uuid}/reopen", reopen, methods=["POST"]),
    Route("/deals/{id:uuid}/owner", reassign, methods=["POST"]),
    Route("/deals/{id:uuid}/activities", schedule, methods=["POST"]),
    Route("/deals/{id:uuid}/activities/{activity:uuid}/{action:str}", activity_action,
          methods=["POST"]),
]

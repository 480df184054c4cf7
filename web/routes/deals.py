"""A deal: moving it on the board (with the stage gate's refusals), closing it as won or lost,
fixing what a gate misses from the card, and the deal page with every field editable."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.context import form_of, query, redirect, render, text
from web.errors import Problem, problem_of
from web.routes.board import CARD_FIELDS, card_flags

RESULT_ERRORS = """... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message }
  ... on VersionConflict { message currentVersion }
  ... on GateNotSatisfied { message stageId stageName missing }"""

# A card with its pipeline's stages (the card's keyboard "move to" menu).
CARD = CARD_FIELDS + " pipeline { stages { id name kind position } }"

Q_CARD = f"""query Card($id: ID!) {{ opportunity(id: $id) {{ {CARD} }} }}"""

M_MOVE = f"""mutation Move($id: ID!, $stage: ID!, $version: Int!) {{
  moveOpportunity(id: $id, stageId: $stage, expectedVersion: $version) {{ __typename
    ... on OpportunityPayload {{ opportunity {{ {CARD} }} }}
    {RESULT_ERRORS} }} }}"""

Q_CLOSE = """query Close($id: ID!) { opportunity(id: $id) { id name version status stageId
  pipeline { stages { id name kind } } } lostReasons { id label } }"""

M_WON = """mutation Won($id: ID!, $comment: String, $version: Int) {
  markWon(id: $id, comment: $comment, expectedVersion: $version) { __typename
  ... on OpportunityPayload { opportunity { id version } } %s } }"""
M_LOST = """mutation Lost($id: ID!, $reason: ID, $comment: String, $version: Int) {
  markLost(id: $id, reasonId: $reason, comment: $comment, expectedVersion: $version) { __typename
  ... on OpportunityPayload { opportunity { id version } } %s } }"""
M_LESSONS = """mutation Lessons($id: ID!, $version: Int!, $lessons: String!) {
  updateOpportunity(id: $id, expectedVersion: $version, patch: {lessonsLearned: $lessons}) {
  __typename ... on OpportunityPayload { opportunity { version } } %s } }"""

M_UPDATE = f"""mutation Update($id: ID!, $version: Int!, $patch: OpportunityPatchInput!) {{
  updateOpportunity(id: $id, expectedVersion: $version, patch: $patch) {{ __typename
    ... on OpportunityPayload {{ opportunity {{ {CARD} }} }}
    {RESULT_ERRORS} }} }}"""

M_SCHEDULE = """mutation Schedule($input: ScheduleActivityInput!) {
  scheduleActivity(input: $input) { __typename ... on ActivityPayload { activity { id } } %s } }"""
M_COMPLETE = """mutation Complete($id: ID!, $outcome: String) {
  completeActivity(id: $id, outcome: $outcome) { __typename
  ... on ActivityPayload { activity { id } } %s } }"""

ACTIVITY_ERRORS = """... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message }
  ... on VersionConflict { message currentVersion }"""

# Qualification requirements and the patch fields that satisfy them.
QUALIFICATION_FIELDS = {
    "NEEDS": ("needs", "The client's needs"),
    "PAIN_POINTS": ("painPoints", "The client's pain points"),
    "DECISION_MAKER": ("decisionMakers", "The decision makers"),
}


def _card_response(
    request: Request, card: dict[str, Any], problem: Problem | None = None, *, refused: bool = False
) -> Response:
    """The card (fetched with ``CARD``), with a refusal shown on it."""
    card["flags"] = card_flags(card, i18n.now())
    pipeline = card.pop("pipeline", None) or {"stages": []}
    stages = sorted(pipeline["stages"], key=lambda s: s["position"])
    headers = {"X-Move-Refused": "1"} if refused else None
    return render(
        request, "board/card.html", card=card, problem=problem, stages=stages, headers=headers
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
    try:
        version = int(text(form, "version") or "")
    except ValueError:
        version = -1
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
    version = int(text(form, "version") or "0")
    comment = text(form, "comment")
    lessons = text(form, "lessons")
    errors = ACTIVITY_ERRORS + " ... on GateNotSatisfied { message stageId stageName missing }"
    problem: Problem | None = None
    if lessons:
        updated = (await query(request, M_LESSONS % errors, id=deal_id, version=version,
                               lessons=lessons))["updateOpportunity"]
        problem = problem_of(updated)
        if problem is None:
            version = updated["opportunity"]["version"]
    if problem is None:
        if kind == "LOST":
            result = (await query(request, M_LOST % errors, id=deal_id,
                                  reason=text(form, "reason"), comment=comment,
                                  version=version))["markLost"]
        else:
            result = (await query(request, M_WON % errors, id=deal_id, comment=comment,
                                  version=version))["markWon"]
        problem = problem_of(result)
    if problem is None:
        message = (i18n.gettext("The deal is won. Congratulations!") if kind == "WON"
                   else i18n.gettext("The deal is closed as lost."))
        return render(request, "deals/closed.html", deal_id=deal_id, message=message,
                      headers={"HX-Trigger": "crm:close-dialog"})
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
    return render(request, "deals/fix_dialog.html", deal_id=deal_id, item=item,
                  values={"version": card["version"]}, problem=None,
                  fields=QUALIFICATION_FIELDS, deal=card,
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
    result = (await query(request, M_SCHEDULE % ACTIVITY_ERRORS, input=activity))[
        "scheduleActivity"]
    problem = problem_of(result, {"dueAt": "due"})
    if problem is None and done:
        completed = (await query(request, M_COMPLETE % ACTIVITY_ERRORS,
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
        version = int(text(form, "version") or "0")
        if item == "BUDGET":
            patch = {"budgetAmount": text(form, "budgetAmount"),
                     "budgetCurrency": text(form, "budgetCurrency")}
        else:
            patch = patch_from(form, [QUALIFICATION_FIELDS[item][0]])
        result = (await query(request, M_UPDATE, id=deal_id, version=version, patch=patch))[
            "updateOpportunity"]
        problem = problem_of(result)
        if problem is None:  # the payload is the card as it is now
            response = _card_response(request, result["opportunity"])
            response.headers["HX-Retarget"] = f"#card-{deal_id}"
            response.headers["HX-Reswap"] = "outerHTML"
            response.headers["HX-Trigger"] = "crm:close-dialog"
            return response
    if problem is not None:
        return render(request, "deals/fix_dialog.html", deal_id=deal_id, item=item,
                      values=dict(form), problem=problem, fields=QUALIFICATION_FIELDS,
                      deal=await _reload_card(request, deal_id))
    card = await _reload_card(request, deal_id)
    if card is None:
        return redirect(request, "/")
    response = _card_response(request, card)
    response.headers["HX-Retarget"] = f"#card-{deal_id}"
    response.headers["HX-Reswap"] = "outerHTML"
    response.headers["HX-Trigger"] = "crm:close-dialog"
    return response


routes = [
    Route("/deals/{id:uuid}/move", move, methods=["POST"]),
    Route("/deals/{id:uuid}/close", close_dialog, methods=["GET"]),
    Route("/deals/{id:uuid}/close", close, methods=["POST"]),
    Route("/deals/{id:uuid}/fix/{item:str}", fix_dialog, methods=["GET"]),
    Route("/deals/{id:uuid}/fix/{item:str}", fix, methods=["POST"]),
]

"""Opening a deal without a lead (repeat business, a deal found on the phone): from the board,
with the client chosen from the org's clients, or from a client's page. The caller owns it;
it opens in the first stage of the default pipeline."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.api import InvalidInput
from web.context import form_of, is_htmx, query, redirect, render, text
from web.errors import Problem, on, problem_of, refused_input

M_NEW_DEAL = f"""mutation NewDeal($input: CreateOpportunityInput!) {{
  createOpportunity(input: $input) {{ __typename
  ... on OpportunityPayload {{ opportunity {{ id }} }}
  {on("ValidationError", "NotFound", "Forbidden")} }} }}"""
# The newest clients to choose from; one not among them is opened from its own page.
Q_CLIENTS = "query Clients { accounts(first: 100) { edges { node { id name nip } } } }"


async def create_deal(request: Request, form: FormData,
                      account_id: str | None) -> tuple[str | None, Problem | None]:
    """``createOpportunity`` from a new-deal form: the new deal's id, or what is wrong."""
    deal = {"name": text(form, "name") or "", "amount": text(form, "amount") or "",
            "currency": text(form, "currency") or "",
            "expectedCloseDate": text(form, "expectedCloseDate"), "accountId": account_id}
    try:
        result = (await query(request, M_NEW_DEAL, input=deal))["createOpportunity"]
    except InvalidInput as error:
        # An amount or a date that is none is refused before any rule runs: at its field.
        return None, refused_input(error, {"accountId": "account_id"})
    problem = problem_of(result, {"accountId": "account_id"})
    return (result["opportunity"]["id"], None) if problem is None else (None, problem)


async def _form(request: Request, values: dict[str, Any] | None = None,
                problem: Problem | None = None) -> Response:
    clients = (await query(request, Q_CLIENTS))["accounts"]["edges"]
    return render(request, "deals/new.html", clients=[e["node"] for e in clients],
                  values=values or {"currency": "PLN"}, problem=problem)


async def new_deal_form(request: Request) -> Response:
    if not is_htmx(request):  # the form is a part of the board, not a page of its own
        return redirect(request, "/")
    return await _form(request)


async def open_deal(request: Request) -> Response:
    form = await form_of(request)
    deal_id, problem = await create_deal(request, form, text(form, "account_id"))
    if deal_id is not None:
        return redirect(request, f"/deals/{deal_id}")
    return await _form(request, dict(form), problem)


routes = [
    Route("/deals/new", new_deal_form, methods=["GET"]),
    Route("/deals/new", open_deal, methods=["POST"]),
]

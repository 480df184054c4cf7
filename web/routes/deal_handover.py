"""Handing over several deals at once from the list (a manager within their team, an admin to
anyone): when a salesperson leaves or is away, their open deals go to a colleague in one step.

One GraphQL operation hands over every selected deal (an aliased ``reassignOpportunity`` each,
with the version the list was drawn with); the API decides each as it does one deal's, and a
deal it refuses (changed meanwhile, outside the manager's team) is listed with why.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.context import form_of, query, redirect
from web.errors import problem_of
from web.routes.deal_list import list_page
from web.routes.deals import RESULT_ERRORS

MAX_DEALS = 100
# A selected deal: "<id>:<version the list was drawn with>:<name, to say which was refused>".
_SELECTED = re.compile(r"^([0-9a-fA-F-]{36}):(\d{1,9}):(.*)$", re.DOTALL)


def hand_over_operation(count: int) -> str:
    variables = ", ".join(f"$d{i}: ID!, $v{i}: Int!" for i in range(count))
    fields = "\n".join(
        f"d{i}: reassignOpportunity(id: $d{i}, expectedVersion: $v{i}, ownerId: $owner) {{ "
        f"__typename ... on OpportunityPayload {{ opportunity {{ id }} }} {RESULT_ERRORS} }}"
        for i in range(count)
    )
    return f"mutation HandOver($owner: ID!, {variables}) {{\n{fields}\n}}"


async def hand_over(request: Request) -> Response:
    form = await form_of(request)
    back = dict(parse_qsl(str(form.get("back") or "")))  # the list's filters, to return to
    selected = [m for value in form.getlist("deal") if (m := _SELECTED.match(str(value)))]
    owner = str(form.get("owner") or "")
    if not selected or not owner:
        message = i18n.gettext("Choose the deals and who takes them over.")
        return await list_page(request, back, refused=[{"name": "", "why": message}])
    if len(selected) > MAX_DEALS:
        message = i18n.gettext("At most %(num)d deals at a time.") % {"num": MAX_DEALS}
        return await list_page(request, back, refused=[{"name": "", "why": message}])
    variables: dict[str, Any] = {"owner": owner}
    for i, match in enumerate(selected):
        variables[f"d{i}"], variables[f"v{i}"] = match[1], int(match[2])
    answers = await query(request, hand_over_operation(len(selected)), **variables)
    refused = []
    for i, match in enumerate(selected):
        problem = problem_of(answers[f"d{i}"])
        if problem is not None:
            refused.append({"name": match[3], "why": problem.message})
    handed = {"handed": str(len(selected) - len(refused)), "to": owner}
    if refused:
        return await list_page(request, {**back, **handed}, refused=refused)
    return redirect(request, "/deals?" + urlencode({**back, **handed}))


routes = [Route("/deals/hand-over", hand_over, methods=["POST"])]

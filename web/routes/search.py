"""One search box for the whole CRM (in the top bar): deals, clients (by their people too) and
leads matching what was typed, each found as its own list finds it (any case, with or without
Polish letters), in one operation the gateway answers from both services at once."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmkit.values import search_form
from web.api import InvalidInput
from web.context import query, render
from web.errors import Problem, refused_input

SHOWN = 10
Q_SEARCH = f"""query Search($q: String!) {{
  opportunities(filter: {{text: $q}}, first: {SHOWN}) {{ edges {{ node {{
    id name amount currency status stage {{ name }} account {{ name }} owner {{ name }} }} }}
    pageInfo {{ hasNextPage }} }}
  accounts(search: $q, first: {SHOWN}) {{ edges {{ node {{ id name nip domain
    contacts {{ name email position }} }} }}
    pageInfo {{ hasNextPage }} }}
  leads(filter: {{search: $q}}, first: {SHOWN}) {{ edges {{ node {{
    id company contactName email status }} }} pageInfo {{ hasNextPage }} }} }}"""


def _section(connection: dict[str, Any]) -> dict[str, Any]:
    return {"items": [e["node"] for e in connection["edges"]],
            "more": connection["pageInfo"]["hasNextPage"]}


def people_found(account: dict[str, Any], typed: str) -> list[dict[str, Any]]:
    """The client's contact people whom the typed text matches (by the rule the API searches
    with), shown under a client found through them."""
    wanted = search_form(typed)
    return [c for c in account.get("contacts") or []
            if wanted in search_form(" ".join(v for v in (c["name"], c["email"]) if v))]


async def search_page(request: Request) -> Response:
    typed = (request.query_params.get("q") or "").strip()
    sections: dict[str, Any] | None = None
    problem: Problem | None = None
    if typed:
        try:
            data = await query(request, Q_SEARCH, q=typed)
        except InvalidInput as error:
            # A control character, or more than a search box takes: shown on the box.
            problem = refused_input(error, {"text": "q", "search": "q"})
        else:
            sections = {name: _section(data[name])
                        for name in ("opportunities", "accounts", "leads")}
            for account in sections["accounts"]["items"]:
                account["people"] = people_found(account, typed)
    return render(request, "search.html", q=typed, sections=sections,
                  errors=problem.fields if problem else {}, status=422 if problem else 200)


routes = [Route("/search", search_page, methods=["GET"])]

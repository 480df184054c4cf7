"""People: the contact people at the org's clients in one list (a "Clients | People" tab),
found by name or email in any case and with or without Polish letters, each with their
client, email and phone one click away (the same list as a CSV file: ``web.routes.exports``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.api import InvalidInput
from web.context import query, render
from web.errors import refused_input

CONTACT_FIELDS = "id name position email phone account { id name }"
Q_PEOPLE = f"""query People($after: String, $search: String, $first: Int = 50) {{
  contacts(first: $first, after: $after, search: $search) {{
    edges {{ node {{ {CONTACT_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""


async def people(request: Request) -> Response:
    q = (request.query_params.get("q") or "").strip()
    search_errors: dict[str, str] = {}
    try:
        data = await query(request, Q_PEOPLE, after=request.query_params.get("after"),
                           search=q or None)
    except InvalidInput as error:
        # A search the API cannot take (a control character, too long) or a tampered page
        # address: shown on the box, with everyone.
        search_errors = refused_input(error, {"search": "q", "after": "q"}).fields
        data = await query(request, Q_PEOPLE, after=None, search=None)
    return render(request, "accounts/people.html",
                  people=[e["node"] for e in data["contacts"]["edges"]],
                  page=data["contacts"]["pageInfo"], q=q, search_errors=search_errors,
                  status=422 if search_errors else 200)


routes = [Route("/people", people, methods=["GET"])]

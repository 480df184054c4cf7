"""The deals as a list: open, won and lost alike, filtered as on the board, 50 a page (the
same list as a CSV file: ``web.routes.exports``).

Closed deals are found nowhere else (the board shows open ones): the list shows a won or lost
deal's reason, comment and lessons learned, which less experienced salespeople learn from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.api import InvalidInput
from web.context import query, render, session_of
from web.deal_filters import DealFilters, teams_of
from web.errors import refused_input
from web.routes.deals import receivers

PAGE_SIZE = 50

ROW_FIELDS = """id version name amount currency probability status expectedCloseDate nextContactAt
  createdAt closedAt closeComment lessonsLearned team
  pipeline { name } stage { name } closeReason { label }
  owner { id name } account { id name nip }"""

Q_CHROME = "query DealListChrome { members { id name team } pipelines { id name } }"

Q_ROWS = f"""query DealList($filter: OpportunityFilter, $first: Int, $after: String,
    $order: OpportunityOrder! = NEWEST) {{
  opportunities(filter: $filter, first: $first, after: $after, orderBy: $order) {{
    edges {{ node {{ {ROW_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""

FIELD_NAMES = {"text": "q", "ownerIds": "owner", "pipelineId": "pipeline", "closeFrom": "from",
               "closeTo": "to", "accountIds": "account"}


def api_filter(filters: DealFilters, members: list[dict[str, Any]]) -> dict[str, Any]:
    return filters.api(members, pipelineId=filters.pipeline or None)


def _address(filters: DealFilters, **more: str) -> str:
    """The list's address query for these filters (empty ones left out)."""
    return urlencode({k: v for k, v in {**filters.form(), **more}.items() if v})


async def list_page(request: Request, params: Mapping[str, str],
                    refused: list[dict[str, str]] | None = None) -> Response:
    """The list for the filters in ``params``; after a handover, how many deals went to whom
    (``handed`` and ``to`` in ``params``) and which were refused, each with why."""
    filters = DealFilters.of(params)
    chrome = await query(request, Q_CHROME)
    members = chrome["members"]
    variables = {"filter": api_filter(filters, members), "first": PAGE_SIZE,
                 "after": params.get("after") or None, "order": filters.order}
    filter_errors: dict[str, str] = {}
    try:
        found = await query(request, Q_ROWS, **variables)
    except InvalidInput as error:
        # A value the API refuses (a control character in the search box, a malformed id or
        # cursor in the address): shown on its box, the list unfiltered but for the status.
        filter_errors = refused_input(error, FIELD_NAMES).fields
        filters = DealFilters(status=filters.status, order=filters.order)
        found = await query(request, Q_ROWS, filter=api_filter(filters, members),
                            first=PAGE_SIZE, after=None, order=filters.order)
    page = found["opportunities"]
    return render(
        request,
        "deals/list.html",
        deals=[edge["node"] for edge in page["edges"]],
        more=_address(filters, after=page["pageInfo"]["endCursor"] or "")
        if page["pageInfo"]["hasNextPage"] else None,
        export=_address(filters),
        here=_address(filters, after=params.get("after") or ""),
        members=members,
        receivers=receivers(session_of(request), members),
        teams=teams_of(members),
        pipelines=chrome["pipelines"],
        filters=filters.form(),
        filter_errors=filter_errors,
        handed=_handed(params, members),
        refused=refused or [],
        status=422 if filter_errors or refused else 200,
    )


def _handed(params: Mapping[str, str], members: list[dict[str, Any]]) -> dict[str, Any] | None:
    count = params.get("handed") or ""
    to = next((m["name"] for m in members if m["id"] == params.get("to")), None)
    shown = count.isascii() and count.isdigit() and len(count) <= 4 and to
    return {"count": int(count), "to": to} if shown else None


async def deal_list(request: Request) -> Response:
    return await list_page(request, request.query_params)


routes = [Route("/deals", deal_list, methods=["GET"])]

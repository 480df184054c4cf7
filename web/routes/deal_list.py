"""The deals as a list: open, won and lost alike, filtered as on the board, 50 a page, and the
same list as a CSV file for a spreadsheet.

Closed deals are found nowhere else (the board shows open ones): the list shows a won or lost
deal's reason, comment and lessons learned, which less experienced salespeople learn from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from web import i18n
from web.api import InvalidInput
from web.context import query, render
from web.deal_filters import DealFilters, teams_of
from web.errors import refused_input
from web.exports import Column, CsvFormat, csv_file

PAGE_SIZE = 50
EXPORT_PAGE_SIZE = 200  # the API's largest page

ROW_FIELDS = """id name amount currency probability status expectedCloseDate nextContactAt
  createdAt closedAt closeComment lessonsLearned team
  pipeline { name } stage { name } closeReason { label }
  owner { id name } account { id name nip }"""

Q_CHROME = "query DealListChrome { members { id name team } pipelines { id name } }"

Q_ROWS = f"""query DealList($filter: OpportunityFilter, $first: Int, $after: String) {{
  opportunities(filter: $filter, first: $first, after: $after) {{
    edges {{ node {{ {ROW_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""

FIELD_NAMES = {"text": "q", "ownerIds": "owner", "pipelineId": "pipeline", "closeFrom": "from",
               "closeTo": "to"}


def _api_filter(filters: DealFilters, members: list[dict[str, Any]]) -> dict[str, Any]:
    return filters.api(members, pipelineId=filters.pipeline or None)


def _address(filters: DealFilters, **more: str) -> str:
    """The list's address query for these filters (empty ones left out)."""
    return urlencode({k: v for k, v in {**filters.form(), **more}.items() if v})


async def deal_list(request: Request) -> Response:
    filters = DealFilters.of(request.query_params)
    chrome = await query(request, Q_CHROME)
    members = chrome["members"]
    variables = {"filter": _api_filter(filters, members), "first": PAGE_SIZE,
                 "after": request.query_params.get("after") or None}
    filter_errors: dict[str, str] = {}
    try:
        found = await query(request, Q_ROWS, **variables)
    except InvalidInput as error:
        # A value the API refuses (a control character in the search box, a malformed id or
        # cursor in the address): shown on its box, the list unfiltered but for the status.
        filter_errors = refused_input(error, FIELD_NAMES).fields
        filters = DealFilters(status=filters.status)
        found = await query(request, Q_ROWS, filter=_api_filter(filters, members),
                            first=PAGE_SIZE, after=None)
    page = found["opportunities"]
    return render(
        request,
        "deals/list.html",
        deals=[edge["node"] for edge in page["edges"]],
        more=_address(filters, after=page["pageInfo"]["endCursor"] or "")
        if page["pageInfo"]["hasNextPage"] else None,
        export=_address(filters),
        members=members,
        teams=teams_of(members),
        pipelines=chrome["pipelines"],
        filters=filters.form(),
        filter_errors=filter_errors,
        status=422 if filter_errors else 200,
    )


def _columns(fmt: CsvFormat) -> list[Column]:
    """The file's columns: the heading (in the member's language) and each cell's text."""
    status = {"OPEN": i18n.gettext("Open"), "WON": i18n.gettext("Won"),
              "LOST": i18n.gettext("Lost")}

    def name_of(value: dict[str, Any] | None, key: str = "name") -> str:
        return str(value.get(key) or "") if value else ""

    return [
        (i18n.gettext("Deal"), lambda d: d["name"]),
        (i18n.gettext("Client"), lambda d: name_of(d["account"])),
        (i18n.gettext("NIP"), lambda d: name_of(d["account"], "nip")),
        (i18n.gettext("Owner"), lambda d: name_of(d["owner"])),
        (i18n.gettext("Team"), lambda d: d["team"] or ""),
        (i18n.gettext("Pipeline"), lambda d: name_of(d["pipeline"])),
        (i18n.gettext("Stage"), lambda d: name_of(d["stage"])),
        (i18n.gettext("Status"), lambda d: status.get(d["status"], d["status"])),
        (i18n.gettext("Amount"), lambda d: fmt.decimal(d["amount"])),
        (i18n.gettext("Currency"), lambda d: d["currency"]),
        (i18n.gettext("Probability (%)"), lambda d: str(d["probability"])),
        (i18n.gettext("Expected close"), lambda d: d["expectedCloseDate"] or ""),
        (i18n.gettext("Next contact"), lambda d: fmt.moment(d["nextContactAt"])),
        (i18n.gettext("Created"), lambda d: fmt.moment(d["createdAt"])),
        (i18n.gettext("Closed"), lambda d: fmt.moment(d["closedAt"])),
        (i18n.gettext("Reason"), lambda d: name_of(d["closeReason"], "label")),
        (i18n.gettext("Comment"), lambda d: d["closeComment"] or ""),
        (i18n.gettext("Lessons learned"), lambda d: d["lessonsLearned"] or ""),
        ("ID", lambda d: d["id"]),
    ]


async def export(request: Request) -> Response:
    """Every deal the filters match (as far as the member sees), page by page from the API,
    written out as each page arrives."""
    filters = DealFilters.of(request.query_params)
    members = (await query(request, Q_CHROME))["members"]
    api_filter = _api_filter(filters, members)
    try:  # the first page before the answer starts: a refused filter is still a page
        first = (await query(request, Q_ROWS, filter=api_filter, first=EXPORT_PAGE_SIZE,
                             after=None))["opportunities"]
    except InvalidInput as error:
        return render(request, "error.html", status=422,
                      message=refused_input(error, FIELD_NAMES).message)

    async def pages() -> AsyncIterator[list[dict[str, Any]]]:
        page = first
        while True:
            yield [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return
            page = (await query(request, Q_ROWS, filter=api_filter, first=EXPORT_PAGE_SIZE,
                                after=page["pageInfo"]["endCursor"]))["opportunities"]

    fmt = CsvFormat(i18n.current_locale(), i18n.zone())
    return StreamingResponse(
        csv_file(_columns(fmt), pages(), fmt),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="deals-{fmt.today()}.csv"',
                 "Cache-Control": "no-store"},
    )


routes = [
    Route("/deals", deal_list, methods=["GET"]),
    Route("/deals/export.csv", export, methods=["GET"]),
]

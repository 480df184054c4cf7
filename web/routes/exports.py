"""The lists as CSV files (``web.exports`` for the format): deals, leads, clients and people,
each with its list's filters, read from the API page by page as the member (the file holds
what they may see) and written out as each page arrives. The leads file's headings are ones
the lead import reads, so an exported file can be imported again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from web import i18n
from web.api import InvalidInput
from web.context import query, render
from web.deal_filters import DealFilters
from web.errors import refused_input
from web.exports import Column, CsvFormat, csv_file
from web.routes import deal_list
from web.routes.leads import leads_filter

PAGE = 200  # the API's largest page

Q_MEMBERS = "query ExportMembers { members { id name team } }"

Q_LEAD_ROWS = """query LeadExport($filter: LeadFilterInput, $first: Int, $after: String) {
  leads(filter: $filter, first: $first, after: $after) { edges { node {
    id company contactName email phone website source notes tags priority status ownerId
    createdAt lastActivityAt disqualifyReason } }
  pageInfo { hasNextPage endCursor } } }"""

Q_PEOPLE_ROWS = """query PeopleExport($search: String, $first: Int, $after: String) {
  contacts(search: $search, first: $first, after: $after) { edges { node {
    id name position email phone createdAt account { name nip } } }
  pageInfo { hasNextPage endCursor } } }"""

Q_ACCOUNT_ROWS = """query AccountExport($search: String, $first: Int, $after: String) {
  accounts(search: $search, first: $first, after: $after) { edges { node {
    id name nip domain address ownerId createdAt contacts { name email phone position } } }
  pageInfo { hasNextPage endCursor } } }"""


def _name(value: dict[str, Any] | None, key: str = "name") -> str:
    return str(value.get(key) or "") if value else ""


async def _file(request: Request, name: str, columns: Callable[[CsvFormat], list[Column]],
                document: str, field: str, **variables: Any) -> Response:
    """``document``'s connection ``field`` as a file, every page of it. The first page is read
    before the answer starts, so a filter the API refuses is an error page, not a broken file."""
    try:
        first = (await query(request, document, first=PAGE, after=None, **variables))[field]
    except InvalidInput as error:
        return render(request, "error.html", status=422, message=refused_input(error).message)

    async def pages() -> AsyncIterator[list[dict[str, Any]]]:
        page = first
        while True:
            yield [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]
            page = (await query(request, document, first=PAGE, after=after, **variables))[field]

    fmt = CsvFormat(i18n.current_locale(), i18n.zone())
    return StreamingResponse(
        csv_file(columns(fmt), pages(), fmt),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{fmt.today()}.csv"',
                 "Cache-Control": "no-store"},
    )


def _statuses() -> dict[str, str]:
    return {"OPEN": i18n.gettext("Open"), "WON": i18n.gettext("Won"), "LOST": i18n.gettext("Lost"),
            "NEW": i18n.gettext("New"), "ASSIGNED": i18n.gettext("Assigned"),
            "CONTACTED": i18n.gettext("Contacted"), "QUALIFIED": i18n.gettext("Qualified"),
            "DISQUALIFIED": i18n.gettext("Disqualified"), "CONVERTED": i18n.gettext("Converted")}


def deal_columns(fmt: CsvFormat) -> list[Column]:
    status = _statuses()
    _ = i18n.gettext
    return [
        (_("Deal"), lambda d: d["name"]),
        (_("Client"), lambda d: _name(d["account"])),
        (_("NIP"), lambda d: _name(d["account"], "nip")),
        (_("Owner"), lambda d: _name(d["owner"])),
        (_("Team"), lambda d: d["team"] or ""),
        (_("Pipeline"), lambda d: _name(d["pipeline"])),
        (_("Stage"), lambda d: _name(d["stage"])),
        (_("Status"), lambda d: status.get(d["status"], d["status"])),
        (_("Amount"), lambda d: fmt.decimal(d["amount"])),
        (_("Currency"), lambda d: d["currency"]),
        (_("Probability (%)"), lambda d: str(d["probability"])),
        (_("Expected close"), lambda d: d["expectedCloseDate"] or ""),
        (_("Next contact"), lambda d: fmt.moment(d["nextContactAt"])),
        (_("Created"), lambda d: fmt.moment(d["createdAt"])),
        (_("Closed"), lambda d: fmt.moment(d["closedAt"])),
        (_("Reason"), lambda d: _name(d["closeReason"], "label")),
        (_("Comment"), lambda d: d["closeComment"] or ""),
        (_("Lessons learned"), lambda d: d["lessonsLearned"] or ""),
        ("ID", lambda d: d["id"]),
    ]


def lead_columns(fmt: CsvFormat, owners: dict[str, str]) -> list[Column]:
    status = _statuses()
    _ = i18n.gettext
    return [
        (_("Company"), lambda d: d["company"] or ""),
        (_("Contact name"), lambda d: d["contactName"] or ""),
        (_("Email"), lambda d: d["email"] or ""),
        (_("Phone"), lambda d: d["phone"] or ""),
        (_("Website"), lambda d: d["website"] or ""),
        (_("Source"), lambda d: d["source"] or ""),
        (_("Tags"), lambda d: ", ".join(d["tags"])),
        (_("Priority"), lambda d: str(d["priority"])),
        (_("Notes"), lambda d: d["notes"] or ""),
        (_("Status"), lambda d: status.get(d["status"], d["status"])),
        (_("Owner"), lambda d: owners.get(d["ownerId"] or "", "")),
        (_("Created"), lambda d: fmt.moment(d["createdAt"])),
        (_("Last activity"), lambda d: fmt.moment(d["lastActivityAt"])),
        (_("Disqualified because"), lambda d: d["disqualifyReason"] or ""),
        ("ID", lambda d: d["id"]),
    ]


def _contact(person: dict[str, Any]) -> str:
    details = ", ".join(v for v in (person["position"], person["email"], person["phone"]) if v)
    return f"{person['name']} ({details})" if details else str(person["name"])


def account_columns(fmt: CsvFormat, owners: dict[str, str]) -> list[Column]:
    _ = i18n.gettext
    return [
        (_("Client"), lambda a: a["name"]),
        (_("NIP"), lambda a: a["nip"] or ""),
        (_("Domain"), lambda a: a["domain"] or ""),
        (_("Address"), lambda a: a["address"] or ""),
        (_("Contact people"), lambda a: "\n".join(_contact(p) for p in a["contacts"])),
        (_("Owner"), lambda a: owners.get(a["ownerId"] or "", "")),
        (_("Created"), lambda a: fmt.moment(a["createdAt"])),
        ("ID", lambda a: a["id"]),
    ]


def people_columns(fmt: CsvFormat) -> list[Column]:
    _ = i18n.gettext
    return [
        (_("Name"), lambda p: p["name"]),
        (_("Position"), lambda p: p["position"] or ""),
        (_("Client"), lambda p: _name(p["account"])),
        (_("NIP"), lambda p: _name(p["account"], "nip")),
        (_("Email"), lambda p: p["email"] or ""),
        (_("Phone"), lambda p: p["phone"] or ""),
        (_("Created"), lambda p: fmt.moment(p["createdAt"])),
        ("ID", lambda p: p["id"]),
    ]


async def deals(request: Request) -> Response:
    filters = DealFilters.of(request.query_params)
    members = (await query(request, Q_MEMBERS))["members"]
    return await _file(request, "deals", deal_columns, deal_list.Q_ROWS, "opportunities",
                       filter=deal_list.api_filter(filters, members), order=filters.order)


async def leads(request: Request) -> Response:
    params = request.query_params
    owners = {m["id"]: m["name"] for m in (await query(request, Q_MEMBERS))["members"]}
    return await _file(request, "leads", lambda fmt: lead_columns(fmt, owners), Q_LEAD_ROWS,
                       "leads", filter=leads_filter(params))


async def accounts(request: Request) -> Response:
    owners = {m["id"]: m["name"] for m in (await query(request, Q_MEMBERS))["members"]}
    return await _file(request, "clients", lambda fmt: account_columns(fmt, owners),
                       Q_ACCOUNT_ROWS, "accounts",
                       search=(request.query_params.get("q") or "").strip() or None)


async def people(request: Request) -> Response:
    return await _file(request, "people", people_columns, Q_PEOPLE_ROWS, "contacts",
                       search=(request.query_params.get("q") or "").strip() or None)


routes = [
    Route("/deals/export.csv", deals, methods=["GET"]),
    Route("/people/export.csv", people, methods=["GET"]),
    Route("/leads/export.csv", leads, methods=["GET"]),
    Route("/accounts/export.csv", accounts, methods=["GET"]),
]

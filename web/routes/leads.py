"""The lead pool (claiming within the cap, releasing), a manager's team view (assigning
leads, caps), the CSV import with its dry run, and the leads list and lead page (edit, mark
contacted, qualify, disqualify, convert to a client and a deal)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.api import InvalidInput
from web.context import form_of, is_htmx, query, redirect, render, session_of, text, version_of
from web.errors import Problem, on, problem_of, refused_input

LEAD_FIELDS = """id company contactName email phone website domain source notes tags priority
  status ownerId ownerTeam assignedAt lastActivityAt statusChangedAt disqualifyReason
  accountId contactId opportunityId createdAt updatedAt version"""

# The typed errors of each result union.
CLAIM_ERRORS = on("CapExceeded", "InvalidLeadState", "ValidationError", "NotFound", "Forbidden")
LEAD_ERRORS = on("ValidationError", "NotFound", "Forbidden", "VersionConflict", "InvalidLeadState")

POOL_PAGE = 50
CLOSED = ("CONVERTED", "DISQUALIFIED")  # no longer held against the cap

Q_POOL = f"""query Pool($q: String, $after: String, $me: ID!) {{
  me {{ id name leadCap activeLeadCount }}
  pool: leads(filter: {{poolOnly: true, search: $q}}, first: {POOL_PAGE}, after: $after) {{
    edges {{ node {{ {LEAD_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }}
  mine: leads(filter: {{ownerId: $me}}, first: 200) {{ edges {{ node {{ {LEAD_FIELDS} }} }} }}
}}"""

M_CLAIM_NEXT = """mutation ClaimNext($n: Int!, $filter: PoolFilterInput) {
  claimNextLeads(count: $n, filter: $filter) { __typename
  ... on ClaimPayload { leads { id company } requested leadCap activeLeads }
  ... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message } } }"""
M_CLAIM = f"""mutation Claim($id: ID!) {{ claimLead(id: $id) {{ __typename
  ... on LeadPayload {{ lead {{ id company }} }} {CLAIM_ERRORS} }} }}"""
M_RELEASE = f"""mutation Release($id: ID!) {{ releaseLead(id: $id) {{ __typename
  ... on LeadPayload {{ lead {{ id }} }} {LEAD_ERRORS} }} }}"""

Q_TEAM = f"""query Team($team: String, $q: String) {{
  members(team: $team) {{ id name team roles leadCap customLeadCap activeLeadCount }}
  pool: leads(filter: {{poolOnly: true, search: $q}}, first: 200) {{
    edges {{ node {{ {LEAD_FIELDS} }} }} pageInfo {{ hasNextPage }} }} }}"""
M_ASSIGN = f"""mutation Assign($ids: [ID!]!, $member: ID!) {{
  assignLeads(ids: $ids, memberId: $member) {{ __typename
  ... on LeadsPayload {{ leads {{ id }} }} {CLAIM_ERRORS} }} }}"""
M_CAP = """mutation Cap($member: ID!, $cap: Int) { setLeadCap(memberId: $member, leadCap: $cap) {
  __typename ... on MemberPayload { member { id leadCap } }
  ... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message } } }"""

M_IMPORT = """mutation Import($csv: String!, $dry: Boolean!) {
  importLeads(csv: $csv, dryRun: $dry) { __typename
  ... on ImportReport { importId dryRun totalRows createdCount
    created { line leadId } duplicates { line matchedOn existingLeadId duplicateOfLine }
    invalid { line reason } ignoredColumns }
  ... on ValidationError { message fields { path message } } ... on Forbidden { message } } }"""

Q_LEADS = f"""query Leads($filter: LeadFilterInput, $after: String) {{
  leads(filter: $filter, first: 50, after: $after) {{ edges {{ node {{ {LEAD_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }} }}
  members {{ id name }} }}"""

Q_LEAD = f"""query Lead($id: ID!) {{ lead(id: $id) {{ {LEAD_FIELDS} }} members {{ id name }}
  accounts(first: 200) {{ edges {{ node {{ id name nip }} }} }} }}"""

M_UPDATE_LEAD = f"""mutation UpdateLead($id: ID!, $input: LeadUpdateInput!, $version: Int) {{
  updateLead(id: $id, input: $input, version: $version) {{ __typename
  ... on LeadPayload {{ lead {{ {LEAD_FIELDS} }} }} {LEAD_ERRORS} }} }}"""
M_ERASE = f"""mutation EraseLead($id: ID!, $version: Int) {{ eraseLead(id: $id, version: $version)
  {{ __typename ... on EraseLeadPayload {{ leadId }} {on("ValidationError", "NotFound", "Forbidden",
  "VersionConflict")} }} }}"""

M_STATUS = {
    "contacted": f"""mutation Contacted($id: ID!) {{ markContacted(id: $id) {{ __typename
      ... on LeadPayload {{ lead {{ id }} }} {LEAD_ERRORS} }} }}""",
    "qualify": f"""mutation Qualify($id: ID!) {{ qualifyLead(id: $id) {{ __typename
      ... on LeadPayload {{ lead {{ id }} }} {LEAD_ERRORS} }} }}""",
    "disqualify": f"""mutation Disqualify($id: ID!, $reason: String!) {{
      disqualifyLead(id: $id, reason: $reason) {{ __typename
      ... on LeadPayload {{ lead {{ id }} }} {LEAD_ERRORS} }} }}""",
    "claim": M_CLAIM,
    "release": M_RELEASE,
}
M_CONVERT = f"""mutation Convert($id: ID!, $opp: OpportunityInput!, $accountId: ID,
  $account: AccountInput) {{
  convertLead(id: $id, opportunity: $opp, accountId: $accountId, account: $account) {{
  __typename ... on ConvertLeadPayload {{ opportunityId account {{ id name }} }}
  {on("InvalidLeadState", "ValidationError", "NotFound", "Forbidden")} }} }}"""
M_CREATE_LEAD = f"""mutation CreateLead($input: LeadInput!, $dup: Boolean!) {{
  createLead(input: $input, allowDuplicate: $dup) {{ __typename
  ... on LeadPayload {{ lead {{ id }} }} {on("DuplicateLead", "ValidationError", "Forbidden")}
  }} }}"""

Q_DEAL_EXISTS = "query Exists($id: ID!) { opportunity(id: $id) { id } }"

LEAD_INPUT_FIELDS = ("company", "contactName", "email", "phone", "website", "source", "notes")


def _edges(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


# --- the pool -------------------------------------------------------------------------------

async def _pool(request: Request, message: str | None = None,
                problem: Problem | None = None, claimed: list[Any] | None = None) -> Response:
    session = session_of(request)
    q = (request.query_params.get("q") or "").strip() or None
    search_errors: dict[str, str] = {}
    try:
        data = await query(request, Q_POOL, q=q, after=request.query_params.get("after"),
                           me=session.member_id)
    except InvalidInput as error:
        # A control character typed into the search box: shown on the box, the pool unsearched.
        search_errors = refused_input(error).fields
        data = await query(request, Q_POOL, q=None, after=None, me=session.member_id)
    me = data["me"]
    template = "leads/pool_region.html" if request.method == "POST" else "leads/pool.html"
    return render(request, template, me=me, pool=_edges(data["pool"]),
                  page=data["pool"]["pageInfo"], q=q or "", search_errors=search_errors,
                  mine=[lead for lead in _edges(data["mine"]) if lead["status"] not in CLOSED],
                  message=message, problem=problem, claimed=claimed or [],
                  room=max(0, me["leadCap"] - me["activeLeadCount"]),
                  status=422 if search_errors and not is_htmx(request) else 200)


async def pool(request: Request) -> Response:
    return await _pool(request)


async def claim_next(request: Request) -> Response:
    form = await form_of(request)
    try:
        count = int(text(form, "count") or "1")
    except ValueError:
        count = 0
    priority = text(form, "minPriority")
    pool_filter = {"source": text(form, "source"), "tag": text(form, "tag"),
                   "minPriority": int(priority) if priority and priority.isdigit() else None}
    result = (await query(request, M_CLAIM_NEXT, n=count,
                          filter=pool_filter if any(pool_filter.values()) else None))[
        "claimNextLeads"]
    problem = problem_of(result, {"count": "count"})
    if problem is not None:
        return await _pool(request, problem=problem)
    got = len(result["leads"])
    if got < result["requested"]:
        message = i18n.gettext(
            "You claimed %(got)d of %(asked)d: you hold %(held)d leads, your cap is %(cap)d."
        ) % {"got": got, "asked": result["requested"], "held": result["activeLeads"],
             "cap": result["leadCap"]}
        if result["activeLeads"] < result["leadCap"]:
            message = i18n.gettext("You claimed %(got)d of %(asked)d: the pool has no more.") % {
                "got": got, "asked": result["requested"]}
    else:
        message = i18n.ngettext("You claimed %(num)d lead.", "You claimed %(num)d leads.", got) % {
            "num": got}
    return await _pool(request, message=message, claimed=result["leads"])


async def lead_action_in_pool(request: Request) -> Response:
    lead_id = str(request.path_params["id"])
    action = request.path_params["action"]
    document = M_CLAIM if action == "claim" else M_RELEASE
    result = next(iter((await query(request, document, id=lead_id)).values()))
    problem = problem_of(result)
    if problem is None:
        message = (i18n.gettext("The lead is yours.") if action == "claim"
                   else i18n.gettext("The lead is back in the pool."))
        return await _pool(request, message=message)
    return await _pool(request, problem=problem)


# --- a manager's team view ------------------------------------------------------------------

async def _team(request: Request, problem: Problem | None = None, message: str | None = None,
                selected: list[str] | None = None, member: str | None = None) -> Response:
    session = session_of(request)
    team = None if session.is_admin else session.team
    q = (request.query_params.get("q") or "").strip() or None
    data = await query(request, Q_TEAM, team=team, q=q)
    template = "leads/team_region.html" if request.method == "POST" else "leads/team.html"
    return render(request, template, members=data["members"], pool=_edges(data["pool"]),
                  problem=problem, message=message, selected=selected or [], q=q or "",
                  team=team, chosen=member)


async def team(request: Request) -> Response:
    if not session_of(request).is_manager:
        return redirect(request, "/pool")
    return await _team(request)


async def assign(request: Request) -> Response:
    form = await form_of(request)
    ids = [str(v) for v in form.getlist("lead")]
    member = text(form, "member") or ""
    if not ids:
        return await _team(request, problem=Problem(
            "ValidationError", i18n.gettext("Select the leads to assign.")))
    result = (await query(request, M_ASSIGN, ids=ids, member=member))["assignLeads"]
    problem = problem_of(result)
    if problem is None:
        return await _team(request, message=i18n.ngettext(
            "%(num)d lead assigned.", "%(num)d leads assigned.", len(ids)) % {"num": len(ids)},
            member=member)
    return await _team(request, problem=problem, selected=ids, member=member)


async def set_cap(request: Request) -> Response:
    form = await form_of(request)
    raw = text(form, "cap")
    cap: int | None
    try:
        cap = int(raw) if raw is not None else None
    except ValueError:
        return await _team(request, problem=Problem(
            "ValidationError", i18n.gettext("A cap is a whole number.")))
    result = (await query(request, M_CAP, member=str(request.path_params["id"]), cap=cap))[
        "setLeadCap"]
    problem = problem_of(result)
    return await _team(request, problem=problem,
                       message=None if problem else i18n.gettext("The cap is saved."))


# --- the import -----------------------------------------------------------------------------

async def import_page(request: Request) -> Response:
    return render(request, "leads/import.html", report=None, problem=None, csv_text=None,
                  file_name=None)


async def run_import(request: Request) -> Response:
    form = await form_of(request)
    upload = form.get("file")
    csv_text = text(form, "csv")
    file_name = text(form, "file_name")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read()
        file_name = upload.filename
        try:
            csv_text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return render(request, "leads/import.html", report=None, csv_text=None,
                          file_name=file_name, problem=Problem(
                              "ValidationError", i18n.gettext("The file is not UTF-8 text.")))
    if not csv_text:
        return render(request, "leads/import.html", report=None, csv_text=None, file_name=None,
                      problem=Problem("ValidationError", i18n.gettext("Choose a CSV file.")))
    dry = text(form, "dry_run") == "1"
    result = (await query(request, M_IMPORT, csv=csv_text, dry=dry))["importLeads"]
    problem = problem_of(result)
    return render(request, "leads/import.html", report=None if problem else result,
                  problem=problem, csv_text=csv_text if dry else None, file_name=file_name)


# --- leads and the lead page ----------------------------------------------------------------

def leads_filter(params: Mapping[str, str]) -> dict[str, Any]:
    """The leads list's ``LeadFilterInput`` from its address (the list and its file)."""
    return {"search": (params.get("q") or "").strip() or None,
            "status": params.get("status") or None, "ownerId": params.get("owner") or None}


async def leads_list(request: Request) -> Response:
    params = request.query_params
    status = params.get("status") or None
    lead_filter = leads_filter(params)
    problem: Problem | None = None
    try:
        data = await query(request, Q_LEADS, filter=lead_filter, after=params.get("after"))
    except InvalidInput as error:
        # A control character typed into the search box: shown on the box, with every lead.
        problem = refused_input(error, {"search": "q", "ownerId": "owner"})
        data = await query(request, Q_LEADS, filter={}, after=None)
    return render(request, "leads/list.html", leads=_edges(data["leads"]),
                  page=data["leads"]["pageInfo"], members=data["members"],
                  filters={"q": params.get("q") or "", "status": status or "",
                           "owner": params.get("owner") or ""},
                  values={}, problem=None, filter_errors=problem.fields if problem else {},
                  erased=params.get("erased") == "1",
                  status=422 if problem else 200)


async def create_lead(request: Request) -> Response:
    form = await form_of(request)
    lead_input = {name: text(form, name) for name in LEAD_INPUT_FIELDS}
    result = (await query(request, M_CREATE_LEAD, input=lead_input,
                          dup=text(form, "allow_duplicate") == "1"))["createLead"]
    problem = problem_of(result)
    if problem is None:
        return redirect(request, f"/leads/{result['lead']['id']}")
    data = await query(request, Q_LEADS, filter={}, after=None)
    return render(request, "leads/list.html", leads=_edges(data["leads"]),
                  page=data["leads"]["pageInfo"], members=data["members"],
                  filters={"q": "", "status": "", "owner": ""}, values=dict(form),
                  problem=problem, status=422)


async def _lead_page(request: Request, lead_id: str, problem: Problem | None = None,
                     values: dict[str, Any] | None = None, message: str | None = None,
                     convert_values: dict[str, Any] | None = None,
                     convert_problem: Problem | None = None) -> Response:
    data = await query(request, Q_LEAD, id=lead_id)
    lead = data["lead"]
    if lead is None:
        return render(request, "error.html", status=404,
                      message=i18n.gettext("It no longer exists or you cannot see it."))
    names = {m["id"]: m["name"] for m in data["members"]}
    return render(request, "leads/lead.html", lead=lead, owner=names.get(lead["ownerId"] or ""),
                  values=values or {**lead, "tags": ", ".join(lead["tags"])},
                  problem=problem, message=message, accounts=_edges(data["accounts"]),
                  convert=convert_values or {
                      "name": f"{lead['company'] or lead['contactName'] or ''}".strip(),
                      "currency": "PLN", "account_name": lead["company"] or ""},
                  convert_problem=convert_problem)


async def lead_page(request: Request) -> Response:
    return await _lead_page(request, str(request.path_params["id"]))


async def update_lead(request: Request) -> Response:
    lead_id = str(request.path_params["id"])
    form = await form_of(request)
    lead_input: dict[str, Any] = {name: text(form, name) for name in LEAD_INPUT_FIELDS}
    lead_input["tags"] = [t.strip() for t in (text(form, "tags") or "").split(",") if t.strip()]
    priority = text(form, "priority")
    lead_input["priority"] = int(priority) if priority and priority.isdigit() else 0
    version = text(form, "version")
    result = (await query(request, M_UPDATE_LEAD, id=lead_id, input=lead_input,
                          version=int(version) if version and version.isdigit() else None))[
        "updateLead"]
    problem = problem_of(result)
    if problem is None:
        return await _lead_page(request, lead_id, message=i18n.gettext("Saved"))
    keep = None if problem.kind == "VersionConflict" else dict(form)
    return await _lead_page(request, lead_id, problem, keep)


async def lead_status(request: Request) -> Response:
    lead_id = str(request.path_params["id"])
    action = request.path_params["action"]
    if action not in M_STATUS:
        return render(request, "error.html", status=404, message=i18n.gettext("Page not found"))
    form = await form_of(request)
    variables: dict[str, Any] = {"id": lead_id}
    if action == "disqualify":
        variables["reason"] = text(form, "reason") or ""
    result = next(iter((await query(request, M_STATUS[action], **variables)).values()))
    problem = problem_of(result, {"reason": "reason"})
    return await _lead_page(request, lead_id, problem,
                            message=None if problem else i18n.gettext("Saved"))


async def erase(request: Request) -> Response:
    lead_id = str(request.path_params["id"])
    form = await form_of(request)
    result = (await query(request, M_ERASE, id=lead_id, version=version_of(form)))["eraseLead"]
    problem = problem_of(result)
    if problem is None:
        return redirect(request, "/leads?erased=1")
    return await _lead_page(request, lead_id, problem)


async def convert(request: Request) -> Response:
    lead_id = str(request.path_params["id"])
    form = await form_of(request)
    opportunity = {"name": text(form, "name") or "", "amount": text(form, "amount") or "",
                   "currency": text(form, "currency") or "",
                   "expectedCloseDate": text(form, "expectedCloseDate")}
    account_id = text(form, "account_id")
    account = None
    if not account_id:
        account = {"name": text(form, "account_name"), "nip": text(form, "nip")}
    result = (await query(request, M_CONVERT, id=lead_id, opp=opportunity, accountId=account_id,
                          account=account))["convertLead"]
    problem = problem_of(result, {"account.name": "account_name", "account.nip": "nip",
                                  "opportunity.name": "name"})
    if problem is None:
        return redirect(request, f"/deals/{result['opportunityId']}/wait")
    return await _lead_page(request, lead_id, convert_values=dict(form), convert_problem=problem)


async def wait_for_deal(request: Request) -> Response:
    """A converted lead's deal is created by the pipeline from an event: wait briefly for it."""
    deal_id = str(request.path_params["id"])
    for _ in range(40):
        if (await query(request, Q_DEAL_EXISTS, id=deal_id))["opportunity"] is not None:
            return redirect(request, f"/deals/{deal_id}")
        await asyncio.sleep(0.1)
    return render(request, "leads/waiting.html", deal_id=deal_id)


routes = [
    Route("/pool", pool, methods=["GET"]),
    Route("/pool/claim", claim_next, methods=["POST"]),
    Route("/pool/leads/{id:uuid}/{action:str}", lead_action_in_pool, methods=["POST"]),
    Route("/pool/team", team, methods=["GET"]),
    Route("/pool/team/assign", assign, methods=["POST"]),
    Route("/pool/team/members/{id:uuid}/cap", set_cap, methods=["POST"]),
    Route("/pool/import", import_page, methods=["GET"]),
    Route("/pool/import", run_import, methods=["POST"]),
    Route("/leads", leads_list, methods=["GET"]),
    Route("/leads", create_lead, methods=["POST"]),
    Route("/leads/{id:uuid}", lead_page, methods=["GET"]),
    Route("/leads/{id:uuid}", update_lead, methods=["POST"]),
    Route("/leads/{id:uuid}/convert", convert, methods=["POST"]),
    Route("/leads/{id:uuid}/erase", erase, methods=["POST"]),
    Route("/leads/{id:uuid}/{action:str}", lead_status, methods=["POST"]),
    Route("/deals/{id:uuid}/wait", wait_for_deal, methods=["GET"]),
]

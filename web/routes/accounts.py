"""Clients: the org's accounts (with their Polish tax id, NIP), the people at them, and the
deals with each (listed on its page, and a new one opened from there)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.api import InvalidInput
from web.context import form_of, query, redirect, render, text, version_of
from web.errors import Problem, on, problem_of, refused_input
from web.routes.new_deal import create_deal

ACCOUNT_FIELDS = """id name domain nip address ownerId createdAt updatedAt version
  contacts { id name email phone position createdAt version }"""
ERRORS = """... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message }
  ... on VersionConflict { message currentVersion }"""

Q_ACCOUNTS = """query Accounts($after: String, $search: String) {
  accounts(first: 50, after: $after, search: $search) {
  edges { node { id name domain nip address contacts { id } } }
  pageInfo { hasNextPage endCursor } } }"""
# The client and its deals in one operation: the gateway asks leads and the pipeline at once.
Q_ACCOUNT = f"""query Account($id: ID!) {{ account(id: $id) {{ {ACCOUNT_FIELDS} }}
  opportunities(filter: {{accountIds: [$id]}}, first: 50) {{ edges {{ node {{
    id name amount currency status expectedCloseDate stage {{ name }} owner {{ name }} }} }}
    pageInfo {{ hasNextPage }} }} }}"""
M_CREATE = f"""mutation CreateAccount($input: AccountInput!) {{ createAccount(input: $input) {{
  __typename ... on AccountPayload {{ account {{ id }} }} {ERRORS} }} }}"""
M_UPDATE = f"""mutation UpdateAccount($id: ID!, $input: AccountInput!, $version: Int) {{
  updateAccount(id: $id, input: $input, version: $version) {{ __typename
  ... on AccountPayload {{ account {{ id }} }} {ERRORS} }} }}"""
M_CONTACT = f"""mutation AddContact($account: ID!, $input: ContactInput!) {{
  createContact(accountId: $account, input: $input) {{ __typename
  ... on ContactPayload {{ contact {{ id }} }}
  {on("ValidationError", "NotFound", "Forbidden")} }} }}"""

M_UPDATE_CONTACT = f"""mutation UpdateContact($id: ID!, $input: ContactInput!, $version: Int) {{
  updateContact(id: $id, input: $input, version: $version) {{ __typename
  ... on ContactPayload {{ contact {{ id }} }} {ERRORS} }} }}"""
M_REMOVE_CONTACT = f"""mutation RemoveContact($id: ID!, $version: Int) {{
  removeContact(id: $id, version: $version) {{ __typename
  ... on RemoveContactPayload {{ contactId }} {ERRORS} }} }}"""

FIELDS = ("name", "domain", "website", "nip", "address")
CONTACT_FIELDS = ("name", "email", "phone", "position")


def _input(form: Any) -> dict[str, Any]:
    return {name: text(form, name) for name in FIELDS}


async def accounts(request: Request, problem: Problem | None = None,
                   values: dict[str, Any] | None = None) -> Response:
    q = (request.query_params.get("q") or "").strip()
    search_errors: dict[str, str] = {}
    try:
        data = await query(request, Q_ACCOUNTS, after=request.query_params.get("after"),
                           search=q or None)
    except InvalidInput as error:
        # A search the API cannot take (a control character, too long): shown on the box,
        # with every client.
        search_errors = refused_input(error, {"search": "q"}).fields
        data = await query(request, Q_ACCOUNTS, after=None, search=None)
    return render(request, "accounts/list.html",
                  accounts=[e["node"] for e in data["accounts"]["edges"]],
                  page=data["accounts"]["pageInfo"], problem=problem, values=values or {},
                  q=q, search_errors=search_errors,
                  status=422 if problem or search_errors else 200)


async def accounts_page(request: Request) -> Response:
    return await accounts(request)


async def create(request: Request) -> Response:
    form = await form_of(request)
    result = (await query(request, M_CREATE, input=_input(form)))["createAccount"]
    problem = problem_of(result)
    if problem is None:
        return redirect(request, f"/accounts/{result['account']['id']}")
    return await accounts(request, problem, dict(form))


def _not_found(request: Request) -> Response:
    return render(request, "error.html", status=404,
                  message=i18n.gettext("It no longer exists or you cannot see it."))


async def _account(request: Request, account_id: str, problem: Problem | None = None,
                   values: dict[str, Any] | None = None, contact_problem: Problem | None = None,
                   contact_values: dict[str, Any] | None = None,
                   message: str | None = None, editing: str | None = None,
                   deal_problem: Problem | None = None,
                   deal_values: dict[str, Any] | None = None) -> Response:
    """The account page; ``editing``: the contact whose form opens with ``contact_problem``
    and ``contact_values`` (else they belong to the form adding one)."""
    data = await query(request, Q_ACCOUNT, id=account_id)
    account = data["account"]
    if account is None:
        return _not_found(request)
    deals = data["opportunities"] or {"edges": [], "pageInfo": {"hasNextPage": False}}
    return render(request, "accounts/account.html", account=account,
                  values=values or account, problem=problem, contact_problem=contact_problem,
                  contact_values=contact_values or {}, message=message, editing=editing,
                  deals=[e["node"] for e in deals["edges"]],
                  more_deals=deals["pageInfo"]["hasNextPage"], deal_problem=deal_problem,
                  deal_values=deal_values or {"currency": "PLN"})


async def account_page(request: Request) -> Response:
    return await _account(request, str(request.path_params["id"]))


async def update(request: Request) -> Response:
    account_id = str(request.path_params["id"])
    form = await form_of(request)
    version = text(form, "version")
    result = (await query(request, M_UPDATE, id=account_id, input=_input(form),
                          version=int(version) if version and version.isdigit() else None))[
        "updateAccount"]
    problem = problem_of(result)
    if problem is None:
        return await _account(request, account_id, message=i18n.gettext("Saved"))
    keep = None if problem.kind == "VersionConflict" else dict(form)
    return await _account(request, account_id, problem, keep)


async def add_contact(request: Request) -> Response:
    account_id = str(request.path_params["id"])
    form = await form_of(request)
    contact = _contact_input(form)
    result = (await query(request, M_CONTACT, account=account_id, input=contact))[
        "createContact"]
    problem = problem_of(result)
    if problem is None:
        return await _account(request, account_id, message=i18n.gettext("Contact added"))
    return await _account(request, account_id, contact_problem=problem,
                          contact_values=dict(form))


def _contact_input(form: Any) -> dict[str, Any]:
    contact = {name: text(form, name) for name in CONTACT_FIELDS}
    contact["name"] = contact["name"] or ""
    return contact


Q_CONTACT_ACCOUNT = "query ContactAccount($id: ID!) { contact(id: $id) { accountId } }"


async def _not_the_client_s(request: Request, account_id: str, contact_id: str) -> bool:
    """Whether the address names a contact of another client (or none the caller sees): the
    API decides on the contact alone, and the page shown after would be the wrong client's."""
    found = (await query(request, Q_CONTACT_ACCOUNT, id=contact_id))["contact"]
    return found is None or found["accountId"] != account_id


async def update_contact(request: Request) -> Response:
    account_id, contact_id = (str(request.path_params[k]) for k in ("id", "contact"))
    if await _not_the_client_s(request, account_id, contact_id):
        return _not_found(request)
    form = await form_of(request)
    result = (await query(request, M_UPDATE_CONTACT, id=contact_id,
                          input=_contact_input(form), version=version_of(form)))["updateContact"]
    problem = problem_of(result)
    if problem is None:
        return await _account(request, account_id, message=i18n.gettext("Contact saved"))
    keep = None if problem.kind == "VersionConflict" else dict(form)
    return await _account(request, account_id, contact_problem=problem, contact_values=keep,
                          editing=contact_id)


async def remove_contact(request: Request) -> Response:
    account_id, contact_id = (str(request.path_params[k]) for k in ("id", "contact"))
    if await _not_the_client_s(request, account_id, contact_id):
        return _not_found(request)
    form = await form_of(request)
    result = (await query(request, M_REMOVE_CONTACT, id=contact_id,
                          version=version_of(form)))["removeContact"]
    problem = problem_of(result)
    if problem is None:
        return await _account(request, account_id, message=i18n.gettext("Contact removed"))
    return await _account(request, account_id, contact_problem=problem, editing=contact_id)


async def new_deal(request: Request) -> Response:
    """A deal with this client (:mod:`web.routes.new_deal`)."""
    account_id = str(request.path_params["id"])
    form = await form_of(request)
    deal_id, problem = await create_deal(request, form, account_id)
    if deal_id is not None:
        return redirect(request, f"/deals/{deal_id}")
    return await _account(request, account_id, deal_problem=problem, deal_values=dict(form))


routes = [
    Route("/accounts", accounts_page, methods=["GET"]),
    Route("/accounts", create, methods=["POST"]),
    Route("/accounts/{id:uuid}", account_page, methods=["GET"]),
    Route("/accounts/{id:uuid}", update, methods=["POST"]),
    Route("/accounts/{id:uuid}/contacts", add_contact, methods=["POST"]),
    Route("/accounts/{id:uuid}/deals", new_deal, methods=["POST"]),
    Route("/accounts/{id:uuid}/contacts/{contact:uuid}", update_contact, methods=["POST"]),
    Route("/accounts/{id:uuid}/contacts/{contact:uuid}/remove", remove_contact,
          methods=["POST"]),
]

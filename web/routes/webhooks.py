"""Webhooks (admins): the org's endpoints with their event types and state, registering one
(its signing secret shown once), re-enabling a disabled one, and an endpoint's deliveries
with every attempt, each delivered or failed one replayable."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.context import form_of, query, redirect, render, session_of, text
from web.errors import Problem, problem_of
from web.i18n import gettext as _

ENDPOINT = "id url eventTypes description enabled disabledReason createdAt"
ERRORS = """... on ValidationError { message fields { path message } }
  ... on NotFound { message } ... on Forbidden { message }"""
Q_ENDPOINTS = f"query Webhooks {{ webhookEndpoints {{ {ENDPOINT} }} }}"
Q_DELIVERIES = f"""query WebhookDeliveries($endpoint: ID!, $after: String) {{
  webhookEndpoints {{ {ENDPOINT} }}
  webhookDeliveries(endpointId: $endpoint, first: 25, after: $after) {{
    edges {{ node {{ id eventId eventType status nextAttemptAt deliveredAt createdAt
      attempts {{ at statusCode error durationMs }} }} }}
    pageInfo {{ hasNextPage endCursor }} }} }}"""
M_REGISTER = f"""mutation RegisterWebhook(
  $url: String!, $types: [String!]!, $description: String!
) {{ registerWebhookEndpoint(url: $url, eventTypes: $types, description: $description) {{
    __typename ... on RegisterWebhookEndpointPayload {{ secret endpoint {{ id }} }}
    {ERRORS} }} }}"""
M_ENABLE = f"""mutation EnableWebhook($id: ID!) {{ enableWebhookEndpoint(id: $id) {{
  __typename ... on WebhookEndpointPayload {{ endpoint {{ id }} }} {ERRORS} }} }}"""
M_REPLAY = f"""mutation ReplayDelivery($id: ID!) {{ replayWebhookDelivery(id: $id) {{
  __typename ... on WebhookDeliveryPayload {{ delivery {{ id }} }} {ERRORS} }} }}"""


def event_types(value: str | None) -> list[str]:
    """One type or subtree per line or comma: ``crm.pipeline.>``, ``crm.leads.lead.assigned``."""
    return [t.strip() for t in (value or "").replace(",", "\n").splitlines() if t.strip()]


async def _page(
    request: Request, *, endpoint: str | None = None, problem: Problem | None = None,
    secret: str | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    if not session_of(request).is_admin:  # the API refuses them too; say so, not "unavailable"
        return render(request, "error.html", status=403, section="admin",
                      message=_("You are not allowed to do this."))
    deliveries: dict[str, Any] | None = None
    if endpoint:
        data = await query(request, Q_DELIVERIES, endpoint=endpoint,
                           after=request.query_params.get("after"))
        deliveries = data["webhookDeliveries"]
    else:
        data = await query(request, Q_ENDPOINTS)
    endpoints = data["webhookEndpoints"]
    return render(
        request, "webhooks/page.html", section="admin", endpoints=endpoints,
        selected=next((e for e in endpoints if e["id"] == endpoint), None),
        deliveries=deliveries, problem=problem, errors=problem.fields if problem else {},
        secret=secret,
        values=values or {"url": "", "eventTypes": "", "description": ""},
    )


async def page(request: Request) -> Response:
    return await _page(request, endpoint=request.query_params.get("endpoint"))


async def register(request: Request) -> Response:
    form = await form_of(request)
    values = {"url": text(form, "url") or "", "eventTypes": text(form, "eventTypes") or "",
              "description": text(form, "description") or ""}
    result = (await query(request, M_REGISTER, url=values["url"],
                          types=event_types(values["eventTypes"]),
                          description=values["description"]))["registerWebhookEndpoint"]
    problem = problem_of(result)
    if problem is not None:
        # A bad event type's path ends in its index: shown at the one field that holds them.
        problem.fields = {"eventTypes" if k.isdigit() else k: v
                          for k, v in problem.fields.items()}
        return await _page(request, problem=problem, values=values)
    return await _page(request, endpoint=result["endpoint"]["id"], secret=result["secret"])


async def enable(request: Request) -> Response:
    endpoint = request.path_params["id"]
    result = (await query(request, M_ENABLE, id=endpoint))["enableWebhookEndpoint"]
    return await _done(request, endpoint, problem_of(result))


async def replay(request: Request) -> Response:
    form = await form_of(request)
    result = (await query(request, M_REPLAY, id=request.path_params["id"]))[
        "replayWebhookDelivery"]
    return await _done(request, text(form, "endpoint"), problem_of(result))


async def _done(request: Request, endpoint: str | None, problem: Problem | None) -> Response:
    """The endpoint's page again: redirected to when it worked (a reload sends nothing
    twice), rendered with the refusal when not."""
    if problem is not None:
        return await _page(request, endpoint=endpoint, problem=problem)
    return redirect(request, f"/admin/webhooks?endpoint={quote(endpoint or '')}")


routes = [
    Route("/admin/webhooks", page, methods=["GET"]),
    Route("/admin/webhooks", register, methods=["POST"]),
    Route("/admin/webhooks/{id}/enable", enable, methods=["POST"]),
    Route("/admin/webhooks/deliveries/{id}/replay", replay, methods=["POST"]),
]

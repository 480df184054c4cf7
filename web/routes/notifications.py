"""The notifications bell in the top bar (the unread count, the latest few) and the page of
all of them. The bell is loaded after the page and its count refreshed every minute, so a
page never waits for it and works without it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from crmkit.values import DEFAULT_TIME_ZONE
from web.api import ApiUnavailable
from web.context import form_of, is_htmx, query, redirect, render, text
from web.errors import Problem, problem_of

FIELDS = "id kind title detail subjectId opportunityId dueAt createdAt read"
Q_BELL = f"""query Bell {{
  unreadNotificationCount
  notifications(first: 8) {{ edges {{ node {{ {FIELDS} }} }} }}
}}"""
Q_COUNT = "query UnreadCount { unreadNotificationCount }"
Q_PAGE = f"""query Notifications($after: String, $unread: Boolean!) {{
  notifications(first: 30, after: $after, unreadOnly: $unread) {{
    edges {{ node {{ {FIELDS} }} }} pageInfo {{ hasNextPage endCursor }}
  }}
  unreadNotificationCount
}}"""
M_READ = """mutation MarkRead($ids: [ID!], $all: Boolean!) {
  markNotificationsRead(ids: $ids, all: $all) {
    __typename ... on MarkNotificationsReadPayload { unreadCount } } }"""


async def bell(request: Request) -> Response:
    try:
        data = await query(request, Q_BELL)
    except ApiUnavailable:
        return HTMLResponse("")  # no bell rather than a broken top bar
    return render(
        request, "notifications/bell.html", count=data["unreadNotificationCount"],
        items=[e["node"] for e in data["notifications"]["edges"]],
    )


async def count(request: Request) -> Response:
    try:
        data = await query(request, Q_COUNT)
    except ApiUnavailable:
        return Response(status_code=286)  # htmx: stop polling
    return render(request, "notifications/count.html", count=data["unreadNotificationCount"])


async def page(request: Request) -> Response:
    unread = request.query_params.get("unread") == "1"
    data = await query(request, Q_PAGE, after=request.query_params.get("after"), unread=unread)
    listing = data["notifications"]
    return render(
        request, "notifications/page.html", unread=unread,
        count=data["unreadNotificationCount"],
        items=[e["node"] for e in listing["edges"]], page_info=listing["pageInfo"],
    )


async def mark_read(request: Request) -> Response:
    form = await form_of(request)
    ids = [str(v) for v in form.getlist("id") if isinstance(v, str) and v]
    if ids:
        await query(request, M_READ, ids=ids, all=False)
    elif form.get("all"):
        await query(request, M_READ, ids=None, all=True)
    if is_htmx(request) and request.headers.get("hx-target") == "notifications":
        return await bell(request)
    return redirect(request, "/notifications")


KINDS = ("ACTIVITY_DUE", "ACTIVITY_OVERDUE", "LEAD_ASSIGNED", "DEAL_ASSIGNED", "NO_NEXT_CONTACT",
         "OFFER_ACCEPTED", "OFFER_REJECTED", "WEBHOOK_DISABLED")
SETTINGS = "email language timeZone digestHour leadMinutes version channels { kind inApp email }"
Q_SETTINGS = f"query MySettings {{ myNotificationSettings {{ {SETTINGS} }} calendarFeedUrl }}"
M_SETTINGS = f"""mutation SaveSettings($input: NotificationSettingsInput!) {{
  updateMyNotificationSettings(input: $input) {{ __typename
    ... on UpdateMyNotificationSettingsPayload {{ settings {{ {SETTINGS} }} }}
    ... on ValidationError {{ message fields {{ path message }} }} }} }}"""
M_ROTATE = """mutation RotateFeed { rotateCalendarFeed { __typename
  ... on CalendarFeedPayload { url } } }"""


async def _settings_page(request: Request, problem: Problem | None = None,
                         saved: bool = False) -> Response:
    data = await query(request, Q_SETTINGS)
    settings = data["myNotificationSettings"]
    return render(
        request, "notifications/settings.html", settings=settings,
        channels={c["kind"]: c for c in settings["channels"]}, kinds=KINDS,
        feed_url=data["calendarFeedUrl"], problem=problem, saved=saved,
        errors=problem.fields if problem else {},
    )


async def settings_page(request: Request) -> Response:
    return await _settings_page(request)


def _hour(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return -1  # the service names the field


async def save_settings(request: Request) -> Response:
    form = await form_of(request)
    lead = text(form, "leadMinutes")
    settings_input: dict[str, object] = {
        "email": text(form, "email"),
        "language": text(form, "language") or "en",
        "timeZone": text(form, "timeZone") or DEFAULT_TIME_ZONE,
        "digestHour": _hour(text(form, "digestHour")),
        "channels": [
            {"kind": k, "inApp": form.get(f"inApp-{k}") == "on",
             "email": form.get(f"email-{k}") == "on"}
            for k in KINDS
        ],
    }
    if lead is not None:
        settings_input["leadMinutes"] = _hour(lead)
    result = (await query(request, M_SETTINGS, input=settings_input))[
        "updateMyNotificationSettings"]
    problem = problem_of(result)
    return await _settings_page(request, problem, saved=problem is None)


async def rotate_feed(request: Request) -> Response:
    await query(request, M_ROTATE)
    return await _settings_page(request, saved=True)


routes = [
    Route("/notifications/settings", settings_page, methods=["GET"]),
    Route("/notifications/settings", save_settings, methods=["POST"]),
    Route("/notifications/settings/feed", rotate_feed, methods=["POST"]),
    Route("/notifications", page, methods=["GET"]),
    Route("/notifications/bell", bell, methods=["GET"]),
    Route("/notifications/count", count, methods=["GET"]),
    Route("/notifications/read", mark_read, methods=["POST"]),
]

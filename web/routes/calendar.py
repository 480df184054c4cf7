"""The calendar: my day or week of calls, meetings and tasks, what is overdue, and my deals
with no next contact (the deals that die when nobody calls back)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.context import day_in_address, form_of, query, render, session_of
from web.routes.deals import change_activity

ACTIVITY = "id opportunityId kind subject notes dueAt status completedAt outcome overdue"

Q_CALENDAR = f"""query Calendar($from: DateTime!, $to: DateTime!, $me: ID!) {{
  activities(from: $from, to: $to, ownerId: $me, first: 200) {{ edges {{ node {{ {ACTIVITY} }} }} }}
  overdue: overdueActivities(ownerId: $me, first: 100) {{ edges {{ node {{ {ACTIVITY} }} }} }}
  noNext: opportunitiesWithoutNextContact(first: 100) {{ edges {{ node {{ id name amount currency
    ownerId account {{ name }} stage {{ name }} }} }} }}
  deals: opportunities(filter: {{ownerIds: [$me]}}, first: 200) {{ edges {{ node {{ id name }} }} }}
}}"""


def _window(view: str, day: dt.date) -> tuple[dt.date, dt.date]:
    if view == "day":
        return day, day + dt.timedelta(days=1)
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=7)


async def _calendar(request: Request, problem: Any = None) -> Response:
    params = request.query_params
    view = "day" if params.get("view") == "day" else "week"
    day = day_in_address(params.get("date")) or i18n.now().date()
    start, end = _window(view, day)
    zone = i18n.zone()
    session = session_of(request)
    data = await query(
        request, Q_CALENDAR, me=session.member_id,
        **{"from": dt.datetime.combine(start, dt.time(), zone).isoformat(),
           "to": dt.datetime.combine(end, dt.time(), zone).isoformat()},
    )
    names = {e["node"]["id"]: e["node"]["name"] for e in data["deals"]["edges"]}
    days: dict[dt.date, list[dict[str, Any]]] = {
        start + dt.timedelta(days=i): [] for i in range((end - start).days)
    }
    for edge in data["activities"]["edges"]:
        activity = edge["node"]
        local = dt.datetime.fromisoformat(activity["dueAt"]).astimezone(zone).date()
        days.setdefault(local, []).append(activity)
    step = dt.timedelta(days=1 if view == "day" else 7)
    mine = [e["node"] for e in data["noNext"]["edges"] if e["node"]["ownerId"] == session.member_id]
    template = "calendar/region.html" if request.method == "POST" else "calendar/page.html"
    return render(
        request, template, view=view, day=day, start=start, end=end,
        days=sorted(days.items()), names=names, today=i18n.now().date(),
        overdue=[e["node"] for e in data["overdue"]["edges"]], no_next=mine,
        previous=(day - step).isoformat(), following=(day + step).isoformat(),
        problem=problem,
    )


async def calendar(request: Request) -> Response:
    return await _calendar(request)


async def activity(request: Request) -> Response:
    form = await form_of(request)
    problem = await change_activity(
        request, str(request.path_params["id"]), request.path_params["action"], form
    )
    return await _calendar(request, problem)


routes = [
    Route("/calendar", calendar, methods=["GET"]),
    Route("/calendar/activities/{id:uuid}/{action:str}", activity, methods=["POST"]),
]

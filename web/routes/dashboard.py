"""The dashboard: my week (meetings, tasks, deals by stage, leads against the cap) and the
sales funnel as a chart with an "as of" date; for managers and admins the team's or org's
analytics (win rate, time in stage, lost reasons, forecast, activity, leaderboard)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.charts import bar_chart, funnel_chart
from web.context import day_in_address, query, render, session_of
from web.errors import problem_of

TOTALS = "{ byCurrency { currency amount } converted { currency amount } }"
ACTIVITY = "activityId opportunityId kind subject dueAt"

_Q_MINE = f"""query Dashboard($asOf: DateTime, $team: String, $owner: ID) {{
  myDashboard {{ meetingsNext7Days {{ {ACTIVITY} }} tasksDueToday {{ {ACTIVITY} }}
    tasksOverdue {{ {ACTIVITY} }} overdueFollowUps {{ {ACTIVITY} }}
    openOpportunitiesByStage {{ stageId stageName position count amounts {TOTALS} }}
    opportunitiesWithoutNextContactCount leads {{ held cap }} }}
  salesFunnel(asOf: $asOf, team: $team, ownerId: $owner) {{ __typename
    ... on SalesFunnel {{ asOf stages {{ stageId name kind position probability count
      amounts {TOTALS} weightedAmounts {TOTALS} reached conversionRate }} }}
    ... on ValidationError {{ message fields {{ path message }} }}
    ... on NotFound {{ message }} ... on Forbidden {{ message }} }}
  members {{ id name team }}
  lostReasons(includeInactive: true) {{ id label }}
  ANALYTICS
}}"""

ANALYTICS = f"""salesAnalytics(filter: {{team: $team, ownerId: $owner}}) {{ __typename
    ... on SalesAnalytics {{
      winRate {{ wonCount lostCount rateByCount wonAmounts {TOTALS} closedAmounts {TOTALS} }}
      timeInStages {{ stageId stageName visits averageSeconds }}
      salesCycle {{ wonCount averageDays medianDays }}
      lostReasons {{ reasonId label count amounts {TOTALS} }}
      forecast {{ month count amounts {TOTALS} weightedAmounts {TOTALS} }}
      activityCounts {{ memberId name calls emails meetings tasks offersIssued total }}
      leaderboard {{ rank memberId name wonCount lostCount wonAmounts {TOTALS} }} }}
    ... on ValidationError {{ message fields {{ path message }} }}
    ... on Forbidden {{ message }} }}"""


Q_REP = _Q_MINE.replace("ANALYTICS", "")
Q_MANAGER = _Q_MINE.replace("ANALYTICS", ANALYTICS)


def _totals_text(totals: dict[str, Any]) -> str:
    return " · ".join(i18n.money(m["amount"], m["currency"]) for m in totals["byCurrency"]) or "0"


def _as_of(raw: str | None) -> dt.datetime | None:
    """The end of the chosen day in the app's zone (the funnel as it stood that evening)."""
    day = day_in_address(raw)
    return dt.datetime.combine(day, dt.time(23, 59, 59), i18n.zone()) if day else None


async def dashboard(request: Request) -> Response:
    session = session_of(request)
    params = request.query_params
    as_of = _as_of(params.get("asOf"))
    team = params.get("team") or None if session.is_admin else None
    owner = params.get("owner") or None if session.is_manager else None
    document = Q_MANAGER if session.is_manager else Q_REP
    data = await query(request, document, asOf=as_of.isoformat() if as_of else None,
                       team=team, owner=owner)
    funnel_result = data["salesFunnel"]
    funnel_problem = problem_of(funnel_result) if funnel_result["__typename"] != "SalesFunnel" \
        else None
    stages = sorted(funnel_result.get("stages") or [], key=lambda s: s["position"])
    for stage in stages:  # reporting names kinds in lower case
        stage["kind"] = str(stage["kind"]).upper()
    open_stages = [s for s in stages if s["kind"] == "OPEN"]
    closed_stages = [s for s in stages if s["kind"] != "OPEN"]
    chart = funnel_chart(
        open_stages,
        lambda s: i18n.ngettext("%(num)d deal", "%(num)d deals", s["count"]) % {"num": s["count"]}
        + " · " + _totals_text(s["amounts"]),
        lambda s: (i18n.gettext("%(rate)s go on to the next stage")
                   % {"rate": i18n.percent(s["conversionRate"])})
        if s["conversionRate"] is not None else "",
    )
    analytics = data.get("salesAnalytics")
    analytics_problem = None
    charts: dict[str, Any] = {}
    if analytics is not None and analytics["__typename"] != "SalesAnalytics":
        analytics_problem, analytics = problem_of(analytics), None
    if analytics:
        # The catalogue's current label (the read model may not have it).
        labels = {r["id"]: r["label"] for r in data["lostReasons"]}
        charts["lost"] = bar_chart([
            (labels.get(r["reasonId"] or "") or r["label"] or i18n.gettext("No reason given"),
             float(r["count"]), str(r["count"]), "")
            for r in analytics["lostReasons"]
        ], width=520, label_width=140, bar_height=22, gap=8)
        charts["forecast"] = bar_chart([
            (i18n.date(f["month"], "LLLL y") if f["month"] else i18n.gettext("No close date"),
             float(f["count"]), _totals_text(f["amounts"]),
             i18n.gettext("weighted %(amount)s") % {"amount": _totals_text(f["weightedAmounts"])})
            for f in analytics["forecast"]
        ], width=520, label_width=140, bar_height=22, gap=8)
    dashboard_data = data["myDashboard"]
    return render(
        request, "dashboard/page.html", mine=dashboard_data, funnel=funnel_result,
        funnel_problem=funnel_problem, open_stages=open_stages, closed_stages=closed_stages,
        chart=chart, analytics=analytics, analytics_problem=analytics_problem, charts=charts,
        as_of=params.get("asOf") or "", members=data["members"], team=team or "",
        owner=owner or "", teams=sorted({m["team"] for m in data["members"] if m["team"]}),
    )


routes = [Route("/dashboard", dashboard, methods=["GET"])]

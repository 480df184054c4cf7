"""The personal dashboard, the analytics and exchange rates on a small, known history."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crmkit.contracts import Envelope, Event
from crmkit.contracts import leads as lead_events
from crmkit.contracts import pipeline as ev
from crmkit.testing.plugin import Org

from .conftest import Reporting, publish, wait_applied
from .simulator import PipelineSimulator
from .test_funnel import funnel

pytestmark = pytest.mark.integration


class History:
    """Contract events of one org, built by hand."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.sim = PipelineSimulator(org.id, seed=1, owners=[])
        self.stages = {s.name: s for s in self.sim.stages}
        self.events: list[Envelope] = [self.sim.configure()]
        self.now = datetime.now(UTC)

    def wrap(self, event: Event, aggregate: uuid.UUID, version: int,
             at: datetime | None = None) -> Envelope:
        envelope = Envelope.wrap(event, org_id=self.org.id, aggregate_id=aggregate,
                                 aggregate_version=version, occurred_at=at)
        self.events.append(envelope)
        return envelope

    def opportunity(
        self, owner: uuid.UUID, stage: str, amount: str, currency: str = "EUR",
        close: date | None = None, created: datetime | None = None,
    ) -> uuid.UUID:
        opp = uuid.uuid4()
        s = self.stages["Identification"]
        snapshot = self._snapshot(opp, owner, s, "open", amount, currency, close, created)
        self.wrap(ev.OpportunityCreated(**snapshot), opp, 1, created)
        if stage != "Identification":
            target = self.stages[stage]
            self.wrap(ev.OpportunityStageChanged(
                **self._snapshot(opp, owner, target, "open", amount, currency, close, created),
                from_stage_id=s.id, to_stage_id=target.id, entered_at=self.now,
                seconds_in_previous_stage=60,
            ), opp, 2, created)
        return opp

    def _snapshot(self, opp: uuid.UUID, owner: uuid.UUID, stage: Any, status: str,
                  amount: str, currency: str, close: date | None,
                  created: datetime | None) -> dict[str, Any]:
        return {
            "opportunity_id": opp, "name": f"Deal {opp.hex[:4]}", "owner_id": owner,
            "team": "alpha", "pipeline_id": self.sim.pipeline_id, "stage_id": stage.id,
            "stage_kind": stage.kind, "status": status, "amount": Decimal(amount),
            "currency": currency, "probability": stage.probability,
            "expected_close_date": close, "created_at": created,
        }

    def close(self, opp: uuid.UUID, owner: uuid.UUID, won: bool, amount: str,
              created: datetime, closed: datetime, version: int = 2) -> None:
        stage = self.stages["Won" if won else "Lost"]
        snapshot = self._snapshot(opp, owner, stage, "won" if won else "lost", amount, "EUR",
                                  None, created)
        source = self.stages["Negotiation"].id
        if won:
            self.wrap(ev.OpportunityWon(**snapshot, from_stage_id=source, closed_at=closed),
                      opp, version, closed)
        else:
            self.wrap(ev.OpportunityLost(**snapshot, from_stage_id=source,
                                         close_reason_id=uuid.uuid4(),
                                         close_reason_label="Price", closed_at=closed),
                      opp, version, closed)

    def activity(self, opp: uuid.UUID, owner: uuid.UUID, kind: str, due: datetime,
                 done: bool = False) -> None:
        activity_id = uuid.uuid4()
        values: dict[str, Any] = {
            "activity_id": activity_id, "opportunity_id": opp, "owner_id": owner,
            "team": "alpha", "kind": kind, "subject": kind, "due_at": due, "status": "open",
        }
        self.wrap(ev.ActivityScheduled(**values), activity_id, 1)
        if done:
            values.update(status="done", completed_at=self.now)
            self.wrap(ev.ActivityCompleted(**values), activity_id, 2)

    def lead(self, owner: uuid.UUID, status: str = "ASSIGNED") -> None:
        lead_id = uuid.uuid4()
        self.wrap(lead_events.LeadCreated(lead_id=lead_id), lead_id, 1)
        self.wrap(lead_events.LeadAssigned(lead_id=lead_id, owner_id=owner, team="alpha",
                                           owner_lead_cap=9, assigned_by=owner), lead_id, 2)
        if status != "ASSIGNED":
            self.wrap(lead_events.LeadStatusChanged(lead_id=lead_id, status=status,
                                                    previous_status="ASSIGNED",
                                                    owner_id=owner, team="alpha"), lead_id, 3)


DASHBOARD = """
{ myDashboard {
    meetingsNext7Days { kind subject }
    tasksDueToday { kind }
    tasksOverdue { kind }
    overdueFollowUps { kind }
    openOpportunitiesByStage { stageName count amounts { byCurrency { currency amount } } }
    opportunitiesWithoutNextContact { opportunityId }
    opportunitiesWithoutNextContactCount
    leads { held cap }
} }
"""

ANALYTICS = """
query ($filter: AnalyticsFilter) { salesAnalytics(filter: $filter) {
  __typename
  ... on SalesAnalytics {
    winRate { wonCount lostCount rateByCount rateByValue { currency rate } }
    salesCycle { wonCount averageDays }
    lostReasons { label count }
    forecast { month count amounts { byCurrency { currency amount } } }
    activityCounts { memberId calls meetings total }
    leaderboard { rank memberId wonCount }
    timeInStages { stageName visits }
  }
  ... on Forbidden { message }
} }
"""


@pytest.fixture
async def history(reporting: Reporting, org: Org) -> dict[str, Any]:
    h = History(org)
    rep, other = uuid.uuid4(), uuid.uuid4()
    now = h.now
    with_meeting = h.opportunity(rep, "Qualification", "1000", close=date(2026, 5, 10))
    lonely = h.opportunity(rep, "Offer", "500", "USD", close=date(2026, 6, 1))
    h.opportunity(other, "Offer", "700")
    h.activity(with_meeting, rep, "meeting", now + timedelta(days=1))
    h.activity(with_meeting, rep, "meeting", now + timedelta(days=9))
    h.activity(lonely, rep, "call", now - timedelta(days=1))
    warsaw = ZoneInfo("Europe/Warsaw")  # the service's default: "today" is Warsaw's day
    end_of_today = datetime.combine(now.astimezone(warsaw).date() + timedelta(days=1),
                                    datetime.min.time(), warsaw)
    h.activity(with_meeting, rep, "task", now + (end_of_today - now) / 2)
    h.activity(with_meeting, rep, "task", now - timedelta(days=2))
    h.activity(with_meeting, rep, "call", now - timedelta(hours=3), done=True)
    created = datetime(2026, 3, 1, tzinfo=UTC)
    won = h.opportunity(rep, "Negotiation", "2000", created=created)
    h.close(won, rep, True, "2000", created, created + timedelta(days=10), version=3)
    lost = h.opportunity(rep, "Negotiation", "300", created=created)
    h.close(lost, rep, False, "300", created, created + timedelta(days=4), version=3)
    h.lead(rep)
    h.lead(rep, "CONTACTED")
    h.lead(rep, "DISQUALIFIED")
    member = lead_events.MemberUpdated(member_id=rep, team="alpha", lead_cap=5, name="Ann")
    h.wrap(member, rep, 1)
    await publish(reporting, h.events)
    await wait_applied(reporting, h.events)
    return {"rep": rep, "other": other, "lonely": lonely, "pipeline": h.sim.pipeline_id}


async def test_my_dashboard_shows_the_callers_day(
    reporting: Reporting, org: Org, history: dict[str, Any]
) -> None:
    data = await reporting.data(org.token("rep", member_id=history["rep"]), DASHBOARD)
    d = data["myDashboard"]
    assert [m["kind"] for m in d["meetingsNext7Days"]] == ["meeting"]
    assert len(d["tasksDueToday"]) == 1 and len(d["tasksOverdue"]) == 1
    assert [f["kind"] for f in d["overdueFollowUps"]] == ["call"]
    by_stage = {s["stageName"]: s for s in d["openOpportunitiesByStage"]}
    assert {k: v["count"] for k, v in by_stage.items()} == {"Qualification": 1, "Offer": 1}
    assert by_stage["Offer"]["amounts"]["byCurrency"] == [{"currency": "USD", "amount": "500.0000"}]
    assert d["opportunitiesWithoutNextContact"] == [{"opportunityId": str(history["lonely"])}]
    assert d["opportunitiesWithoutNextContactCount"] == 1
    assert d["leads"] == {"held": 2, "cap": 5}


async def test_analytics_for_the_period(
    reporting: Reporting, org: Org, history: dict[str, Any]
) -> None:
    rep = str(history["rep"])
    data = await reporting.data(org.token("admin"), ANALYTICS,
                                   {"filter": {"from": "2026-03-01", "to": "2026-03-31"}})
    a = data["salesAnalytics"]
    assert a["winRate"]["wonCount"] == 1 and a["winRate"]["lostCount"] == 1
    assert a["winRate"]["rateByCount"] == 0.5
    assert a["winRate"]["rateByValue"] == [{"currency": "EUR", "rate": pytest.approx(2000 / 2300)}]
    assert a["salesCycle"] == {"wonCount": 1, "averageDays": pytest.approx(10.0)}
    assert a["lostReasons"] == [{"label": "Price", "count": 1}]
    assert a["forecast"] == []  # no open opportunity closes in March
    assert a["leaderboard"] == [{"rank": 1, "memberId": rep, "wonCount": 1}]

    everything = (await reporting.data(org.token("admin"), ANALYTICS))["salesAnalytics"]
    months = {f["month"]: f["count"] for f in everything["forecast"]}
    assert months == {"2026-05-01": 1, "2026-06-01": 1, None: 1}
    assert everything["activityCounts"] == [
        {"memberId": rep, "calls": 1, "meetings": 0, "total": 1}
    ]
    stages = {s["stageName"]: s["visits"] for s in everything["timeInStages"]}
    assert stages["Identification"] == 5

    other_rep = org.token("rep", member_id=history["other"])
    mine = (await reporting.data(other_rep, ANALYTICS))["salesAnalytics"]
    assert mine["winRate"]["wonCount"] == 0 and mine["leaderboard"] == []
    denied = await reporting.data(other_rep, ANALYTICS, {"filter": {"ownerId": rep}})
    assert denied["salesAnalytics"]["__typename"] == "Forbidden"


SET_RATE = """
mutation ($currency: String!, $rate: Decimal!) {
  setExchangeRate(currency: $currency, rate: $rate) {
    __typename
    ... on ExchangeRates { baseCurrency rates { currency rate } }
    ... on ValidationError { fields { path } }
  }
}
"""


async def test_exchange_rates_add_a_converted_total_and_only_admins_set_them(
    reporting: Reporting, org: Org, history: dict[str, Any]
) -> None:
    variables = {"currency": "USD", "rate": "0.9"}
    rep_try = await reporting.data(org.token("rep"), SET_RATE, variables)
    assert rep_try["setExchangeRate"]["__typename"] == "Forbidden"
    bad = await reporting.data(org.token("admin"), SET_RATE, {"currency": "usd", "rate": "-1"})
    assert {tuple(f["path"]) for f in bad["setExchangeRate"]["fields"]} == {
        ("currency",), ("rate",)
    }

    before = await funnel(reporting, org.token("admin"))
    offer = next(s for s in before["stages"] if s["name"] == "Offer")
    assert offer["amounts"]["converted"] is None  # USD and EUR, no rate yet
    saved = await reporting.data(org.token("admin"), SET_RATE, variables)
    assert saved["setExchangeRate"]["rates"] == [{"currency": "USD", "rate": "0.9000000000"}]
    after = await funnel(reporting, org.token("admin"))
    offer = next(s for s in after["stages"] if s["name"] == "Offer")
    assert offer["amounts"]["converted"] == {"currency": "EUR", "amount": "1150.00"}
    assert {m["currency"] for m in offer["amounts"]["byCurrency"]} == {"EUR", "USD"}

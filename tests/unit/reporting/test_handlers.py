"""Every reporting use case's rules, on the in-memory repository (no IO): what each event
leaves in the read tables, who may see which figures, what is refused (changing nothing) and
what the answers hold."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crmkit.auth import Caller, Role
from crmkit.contracts import Envelope
from crmkit.contracts import documents as doc_events
from crmkit.contracts import leads as lead_events
from crmkit.contracts import pipeline as ev
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError
from crmkit.testing.fakes import FakeUnitOfWork
from services.reporting.domain.access import Scope
from services.reporting.domain.analytics import Filter
from services.reporting.domain.funnel import Counters, Funnel, FunnelStage, Stage
from services.reporting.events import CONSUMED_TYPES
from services.reporting.handlers import analytics as an
from services.reporting.handlers import dashboard as db
from services.reporting.handlers import funnel as fn
from services.reporting.handlers import rates as rt
from services.reporting.handlers.projection import (
    PROJECTORS,
    compact_funnel,
    project,
    project_batch,
)
from tests.integration.reporting.simulator import PipelineSimulator

from .deals import IDENT, LOST, OFFER, QUAL, STAGES, T0, Deals
from .fakes import FakeReportingRepository, fake_uow

Uow = FakeUnitOfWork[FakeReportingRepository]
ORG, PIPELINE = uuid.uuid4(), uuid.uuid4()
ANN, BOB, CARL = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()  # Ann and Bob: alpha; Carl: beta
DEALS = Deals(ORG, PIPELINE, ANN)
wrap, configured, created, moved, closed = (
    DEALS.wrap, DEALS.configured, DEALS.created, DEALS.moved, DEALS.closed
)


def person(role: str, member: uuid.UUID | None = None, team: str | None = "alpha",
           org: uuid.UUID = ORG) -> Caller:
    return Caller(member_id=member or uuid.uuid4(), org_id=org, roles=frozenset({Role(role)}),
                  team=team)


ADMIN = person("admin", team=None)


async def apply(uow: Uow, *envelopes: Envelope) -> None:
    for envelope in envelopes:
        assert await project(envelope, uow)


async def funnel(uow: Uow, who: Caller = ADMIN, **values: Any) -> dict[str, FunnelStage]:
    result = await fn.sales_funnel(fn.GetSalesFunnel(who, "EUR", **values), uow)
    return {s.stage.name: s for s in result.stages}


def counts(stages: dict[str, FunnelStage]) -> dict[str, tuple[int, int]]:
    """Stage -> (count, reached)."""
    return {name: (s.count, s.reached) for name, s in stages.items()}


def amounts(stage: FunnelStage) -> dict[str, Decimal]:
    return {m.currency: m.amount for m in stage.amounts.by_currency}


@pytest.fixture
async def uow() -> Uow:
    uow = fake_uow()
    await apply(uow, configured())
    return uow


# --- projection -------------------------------------------------------------------------------


def test_every_consumed_event_type_has_its_projector() -> None:
    assert set(PROJECTORS) == set(CONSUMED_TYPES)


async def test_an_event_reporting_does_not_read_changes_nothing() -> None:
    uow = fake_uow()
    folder = wrap(doc_events.FolderCreated(folder_id=uuid.uuid4(), name="Offers"),
                  uuid.uuid4(), 1)
    assert await project(folder, uow) is False
    assert uow.commits == 0 and uow._repo == FakeReportingRepository()


async def test_a_pipeline_configuration_keeps_its_stages_and_an_older_one_changes_nothing(
) -> None:
    uow = fake_uow()
    renamed = [Stage(s.id, s.name.upper(), s.position, s.probability, s.kind) for s in STAGES]
    await apply(uow, configured(2, renamed), configured(1))
    repo = uow._repo
    assert repo.locks[:2] == [("projection", None), ("pipeline", (ORG, PIPELINE))]
    assert await repo.pipeline_stages(ORG, None) == (PIPELINE, renamed)
    assert await repo.pipeline_version(ORG, PIPELINE) == 2


async def test_reconfiguring_moves_opportunities_off_removed_stages_and_recomputes_them(
    uow: Uow,
) -> None:
    opp = uuid.uuid4()
    await apply(uow, created(opp), moved(opp, 2, IDENT, OFFER))
    assert counts(await funnel(uow))["Offer"] == (1, 1)
    without_offer = [s for s in STAGES if s is not OFFER]
    await apply(uow, configured(2, without_offer, removed_stage_ids=[OFFER.id],
                                moved_opportunities_to={OFFER.id: QUAL.id}))
    after = await funnel(uow)
    assert "Offer" not in after
    # In Qualification now; its progress is the furthest stage it visited that still exists.
    assert after["Qualification"].count == 1
    assert counts(after)["Identification"] == (0, 1)


async def test_an_opportunity_counts_in_its_stage_and_moves_with_it(uow: Uow) -> None:
    opp = uuid.uuid4()
    await apply(uow, created(opp, amount="1000"))
    assert uow._repo.locks[-1] == ("opportunities", [(ORG, opp)])
    assert counts(await funnel(uow))["Identification"] == (1, 1)
    await apply(uow, moved(opp, 2, IDENT, OFFER, amount="2000", currency="PLN"))
    stages = await funnel(uow)
    assert counts(stages)["Identification"] == (0, 1) and counts(stages)["Offer"] == (1, 1)
    assert amounts(stages["Offer"]) == {"PLN": Decimal(2000)}
    assert stages["Identification"].conversion_rate == 1.0
    weighted = {m.currency: m.amount for m in stages["Offer"].weighted_amounts.by_currency}
    assert weighted == {"PLN": Decimal(1000)}


async def test_a_late_older_event_only_adds_its_stage_and_a_repeat_changes_nothing(
    uow: Uow,
) -> None:
    opp = uuid.uuid4()
    await apply(uow, created(opp), moved(opp, 3, QUAL, OFFER))
    before = await funnel(uow)
    await apply(uow, moved(opp, 2, IDENT, QUAL), moved(opp, 3, QUAL, OFFER))
    after = await funnel(uow)
    assert counts(after) == counts(before)
    state = uow._repo.opportunity_rows[(ORG, opp)]
    assert (state.version, state.stage_id) == (3, OFFER.id)
    assert state.visited_stage_ids == {IDENT.id, QUAL.id, OFFER.id}
    assert len(uow._repo.version_rows) == 3


async def test_a_close_is_kept_and_reopening_clears_it(uow: Uow) -> None:
    opp = uuid.uuid4()
    at = T0 + timedelta(days=3)
    await apply(uow, created(opp), closed(opp, 2, IDENT, won=False, at=at))
    state = uow._repo.opportunity_rows[(ORG, opp)]
    assert (state.status, state.closed_at, state.close_reason_label) == ("lost", at, "Price")
    assert counts(await funnel(uow))["Lost"] == (1, 0)
    await apply(uow, DEALS.reopened(opp, 3, LOST, QUAL, at))
    state = uow._repo.opportunity_rows[(ORG, opp)]
    assert (state.status, state.closed_at, state.close_reason_id) == ("open", None, None)
    assert counts(await funnel(uow))["Qualification"] == (1, 1)


async def test_a_batch_locks_everything_first_and_ends_as_one_event_at_a_time() -> None:
    sim = PipelineSimulator(ORG, seed=3, owners=[(ANN, "alpha"), (BOB, "alpha")])
    events = [sim.configure(), *sim.random_operations(150)]
    rng = random.Random(1)
    shuffled = events + rng.sample(events, 25)
    rng.shuffle(shuffled)
    one_by_one, batched = fake_uow(), fake_uow()
    await apply(one_by_one, *shuffled)
    position = chunks = 0
    while position < len(shuffled):
        size = rng.randint(1, 30)
        chunk = shuffled[position:position + size]
        batched._repo.locks.clear()
        await project_batch(chunk, batched)
        opportunities = {(e.org_id, e.aggregate_id) for e in chunk
                         if e.type.startswith("crm.pipeline.opportunity.")}
        if opportunities:
            assert batched._repo.locks[0] == ("opportunities", sorted(opportunities))
        position += size
        chunks += 1
    a, b = one_by_one._repo, batched._repo
    assert a.opportunity_rows == b.opportunity_rows
    assert a.version_rows == b.version_rows
    assert a.activity_rows == b.activity_rows
    scope = Scope(ORG, None, None)
    assert _summed(await a.funnel_rows(scope, sim.pipeline_id, None)) == _summed(
        await b.funnel_rows(scope, sim.pipeline_id, None)
    )
    assert batched.commits == chunks  # one unit of work a batch


def _summed(rows: list[Any]) -> dict[tuple[uuid.UUID, str], Counters]:
    summed: dict[tuple[uuid.UUID, str], Counters] = {}
    for row in rows:
        summed[(row.stage_id, row.currency)] = (
            summed.get((row.stage_id, row.currency), Counters()) + row.counters
        )
    return {k: c for k, c in summed.items() if not c.is_zero}


async def test_activities_leads_members_and_offers_keep_their_newest_version(
    uow: Uow,
) -> None:
    activity, lead, offer, opp = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    base = {"activity_id": activity, "opportunity_id": opp, "owner_id": ANN, "team": "alpha",
            "kind": "call", "subject": "Call", "due_at": T0}
    await apply(
        uow,
        wrap(ev.ActivityCompleted(**base, status="done", completed_at=T0), activity, 2),
        wrap(ev.ActivityScheduled(**base, status="open"), activity, 1),
        wrap(lead_events.LeadAssigned(lead_id=lead, owner_id=ANN, team="alpha",
                                      owner_lead_cap=7, assigned_by=ANN), lead, 2),
        wrap(lead_events.LeadReleased(lead_id=lead, previous_owner_id=ANN), lead, 3),
        wrap(lead_events.LeadCreated(lead_id=lead), lead, 1),
        wrap(lead_events.MemberUpdated(member_id=ANN, lead_cap=5, name="Ann"), ANN, 1),
        wrap(doc_events.OfferIssued(offer_id=offer, opportunity_id=opp), offer, 1,
             at=T0 + timedelta(hours=1)),
    )
    repo = uow._repo
    assert repo.activity_rows[(ORG, activity)].status == "done"
    released = repo.lead_rows[(ORG, lead)]
    assert (released.owner_id, released.team, released.status, released.version) == (
        None, None, "NEW", 3
    )
    assert repo.member_rows[(ORG, ANN)].name == "Ann"
    # An offer without its own issue time was issued when its event occurred.
    assert repo.offer_rows[(ORG, offer)].issued_at == T0 + timedelta(hours=1)


async def test_an_erased_lead_is_held_by_no_one_and_a_late_event_keeps_it_erased(
    uow: Uow,
) -> None:
    kept, erased = uuid.uuid4(), uuid.uuid4()
    for lead in (kept, erased):
        await apply(uow, wrap(lead_events.LeadAssigned(
            lead_id=lead, owner_id=ANN, team="alpha", owner_lead_cap=7, assigned_by=ANN),
            lead, 2))
    ann = person("rep", ANN)
    assert (await db.my_dashboard(db.GetDashboard(ann, "PLN"), uow)).leads_held == 2
    await apply(
        uow,
        wrap(lead_events.LeadErased(lead_id=erased, previous_owner_id=ANN,
                                    previous_status="ASSIGNED", erased_by=ANN), erased, 4),
        # An older event of it, redelivered after the erasure.
        wrap(lead_events.LeadStatusChanged(lead_id=erased, status="CONTACTED",
                                           previous_status="ASSIGNED", owner_id=ANN,
                                           team="alpha"), erased, 3),
    )
    row = uow._repo.lead_rows[(ORG, erased)]
    assert (row.owner_id, row.team, row.status, row.version) == (None, None, "ERASED", 4)
    assert (await db.my_dashboard(db.GetDashboard(ann, "PLN"), uow)).leads_held == 1


async def test_folding_the_deltas_leaves_the_funnel_as_it_was(uow: Uow) -> None:
    for _ in range(3):
        opp = uuid.uuid4()
        await apply(uow, created(opp, close=date(2026, 5, 4)),
                    moved(opp, 2, IDENT, QUAL, close=date(2026, 5, 4)))
    before = await funnel(uow, close_from=date(2026, 5, 1), close_to=date(2026, 5, 10))
    assert await compact_funnel(uow) > 0
    assert uow._repo.pending == [] and await compact_funnel(uow) == 0
    assert await funnel(uow, close_from=date(2026, 5, 1), close_to=date(2026, 5, 10)) == before
    assert counts(before)["Qualification"] == (3, 3)


# --- the funnel -------------------------------------------------------------------------------


async def test_an_org_without_a_pipeline_has_an_empty_funnel_and_an_unknown_one_is_not_found(
) -> None:
    uow = fake_uow()
    assert await fn.sales_funnel(fn.GetSalesFunnel(ADMIN, "EUR"), uow) == Funnel(None, None, [])
    with pytest.raises(NotFoundError):
        await fn.sales_funnel(fn.GetSalesFunnel(ADMIN, "EUR", pipeline_id=uuid.uuid4()), uow)


async def test_each_role_sees_its_own_figures_and_asking_for_more_is_forbidden(
    uow: Uow,
) -> None:
    for owner, team in ((ANN, "alpha"), (BOB, "alpha"), (CARL, "beta")):
        await apply(uow, created(uuid.uuid4(), owner=owner, team=team))
    ann, alpha = person("rep", ANN), person("manager", team="alpha")
    assert counts(await funnel(uow))["Identification"] == (3, 3)
    assert counts(await funnel(uow, alpha))["Identification"] == (2, 2)
    assert counts(await funnel(uow, ann))["Identification"] == (1, 1)
    assert counts(await funnel(uow, team="beta"))["Identification"] == (1, 1)
    for who, values in ((ann, {"owner_id": BOB}), (ann, {"team": "beta"}),
                        (alpha, {"team": "beta"})):
        with pytest.raises(ForbiddenError):
            await funnel(uow, who, **values)
    other_org = person("admin", org=uuid.uuid4())
    assert await fn.sales_funnel(fn.GetSalesFunnel(other_org, "EUR"), uow) == Funnel(
        None, None, []
    )


async def test_a_close_range_backwards_or_a_time_without_zone_is_refused(uow: Uow) -> None:
    with pytest.raises(InvalidInput) as backwards:
        await funnel(uow, close_from=date(2026, 5, 2), close_to=date(2026, 5, 1))
    assert [p.path for p in backwards.value.problems] == [("closeTo",)]
    with pytest.raises(InvalidInput) as naive:
        await funnel(uow, as_of=datetime(2026, 5, 1, 12))
    assert [p.path for p in naive.value.problems] == [("asOf",)]
    with pytest.raises(InvalidInput) as far:  # past 9999 once in UTC: it was an internal error
        await funnel(uow, as_of=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))
    assert [(p.path, p.message) for p in far.value.problems] == [
        (("asOf",), "must be within the years 1970-9000")]


async def test_a_close_range_counts_what_closes_in_it_whole_months_or_days(uow: Uow) -> None:
    for close in (date(2026, 4, 30), date(2026, 5, 1), date(2026, 6, 15), None):
        await apply(uow, created(uuid.uuid4(), close=close))

    async def open_in(close_from: date | None, close_to: date | None) -> int:
        return (await funnel(uow, close_from=close_from, close_to=close_to))[
            "Identification"].count

    assert await open_in(None, None) == 4
    assert await open_in(date(2026, 5, 1), date(2026, 6, 30)) == 2
    assert await open_in(date(2026, 4, 30), date(2026, 6, 14)) == 2
    assert await open_in(date(2026, 6, 1), None) == 1
    assert await open_in(None, date(2026, 4, 30)) == 1


async def test_as_of_gives_the_funnel_as_it_stood(uow: Uow) -> None:
    opp = uuid.uuid4()
    later = T0 + timedelta(days=2)
    await apply(uow, created(opp), moved(opp, 2, IDENT, OFFER, at=later))
    then = await funnel(uow, as_of=T0 + timedelta(days=1))
    assert counts(then)["Identification"] == (1, 1) and counts(then)["Offer"] == (0, 0)
    assert counts(await funnel(uow, as_of=later))["Offer"] == (1, 1)


async def test_totals_are_converted_once_every_currency_has_a_rate(uow: Uow) -> None:
    await apply(uow, created(uuid.uuid4(), amount="100"),
                created(uuid.uuid4(), amount="200", currency="USD"))
    assert (await funnel(uow))["Identification"].amounts.converted is None
    await rt.set_exchange_rate(rt.SetExchangeRate(ADMIN, "USD", Decimal("0.5"), "EUR"), uow)
    converted = (await funnel(uow))["Identification"].amounts.converted
    assert converted is not None and (converted.currency, converted.amount) == (
        "EUR", Decimal("200.00")
    )


# --- the dashboard ----------------------------------------------------------------------------


async def test_the_dashboard_shows_the_callers_day(uow: Uow) -> None:
    now = datetime.now(UTC)
    busy, lonely, bobs = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await apply(uow, created(busy, close=date(2026, 5, 1)), created(lonely, QUAL),
                created(bobs, owner=BOB))

    activity = DEALS.activity
    warsaw = ZoneInfo("Europe/Warsaw")
    end_of_today = datetime.combine(now.astimezone(warsaw).date() + timedelta(days=1),
                                    datetime.min.time(), warsaw)
    later_today = now + (end_of_today - now) / 2
    await apply(
        uow,
        activity(busy, "meeting", now + timedelta(days=1)),
        activity(busy, "meeting", now + timedelta(days=8)),
        activity(busy, "task", later_today),
        # Due a second ago: overdue, as the pipeline says (it used to be "due today").
        activity(busy, "task", now - timedelta(seconds=1)),
        activity(busy, "task", now - timedelta(days=3)),
        activity(lonely, "call", now - timedelta(hours=1)),
        activity(bobs, "meeting", now + timedelta(hours=1), owner=BOB),
    )
    await apply(uow, DEALS.assigned(uuid.uuid4()),
                DEALS.assigned(uuid.uuid4(), status="DISQUALIFIED"))

    board = await db.my_dashboard(db.GetDashboard(person("rep", ANN), "EUR"), uow)
    assert [a.kind for a in board.meetings_next_7_days] == ["meeting"]
    assert [a.due_at for a in board.tasks_due_today] == [later_today]
    assert [a.due_at for a in board.tasks_overdue] == [now - timedelta(days=3),
                                                      now - timedelta(seconds=1)]
    assert [a.kind for a in board.overdue_follow_ups] == ["call"]
    assert {(c.stage_name, c.count) for c in board.open_by_stage} == {
        ("Identification", 1), ("Qualification", 1)
    }
    assert [o.opportunity_id for o in board.without_next_contact] == [lonely]
    assert board.without_next_contact_count == 1
    # No roster event yet: the cap the assignment repeated.
    assert (board.leads_held, board.lead_cap) == (1, 9)
    await apply(uow, DEALS.member(ANN, None, cap=4))
    board = await db.my_dashboard(db.GetDashboard(person("rep", ANN), "EUR"), uow)
    assert board.lead_cap == 4


# --- analytics --------------------------------------------------------------------------------


def analytics(who: Caller, **values: Any) -> an.Analytics:
    return an.open_analytics(an.GetAnalytics(who, "EUR", Filter(**values)))


def test_analytics_refuse_a_backwards_period_and_other_people_s_figures() -> None:
    with pytest.raises(InvalidInput) as backwards:
        analytics(ADMIN, date_from=date(2026, 3, 2), date_to=date(2026, 3, 1))
    assert [p.path for p in backwards.value.problems] == [("filter", "to")]
    with pytest.raises(ForbiddenError):
        analytics(person("rep", ANN), owner_id=BOB)
    assert analytics(person("manager", team="beta")).scope == Scope(ORG, None, "beta")


async def test_analytics_of_the_period(uow: Uow) -> None:
    won_ann, won_bob, lost, open_ = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    march = T0 + timedelta(days=5)
    await apply(
        uow,
        created(won_ann), moved(won_ann, 2, IDENT, QUAL, at=T0 + timedelta(days=1)),
        closed(won_ann, 3, QUAL, won=True, at=march),
        created(won_bob, owner=BOB, amount="300", currency="USD"),
        closed(won_bob, 2, IDENT, won=True, at=T0 + timedelta(days=2), owner=BOB,
               amount="300", currency="USD"),
        created(lost, amount="500"),
        closed(lost, 2, IDENT, won=False, at=march, amount="500"),
        created(open_, close=date(2026, 7, 9)),
        closed(uuid.uuid4(), 1, IDENT, won=True, at=datetime(2026, 5, 1, tzinfo=UTC)),
        DEALS.member(ANN, "Ann"), DEALS.member(BOB, "Bob"),
    )
    march_only = analytics(ADMIN, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    rate = await an.win_rate(march_only, uow)
    assert (rate.won_count, rate.lost_count, rate.rate_by_count) == (2, 1, 2 / 3)
    assert [(r.currency, r.rate) for r in rate.rate_by_value] == [
        ("EUR", 1000 / 1500), ("USD", 1.0)
    ]
    assert rate.converted_rate_by_value is None  # no USD rate
    cycle = await an.sales_cycle(march_only, uow)
    assert (cycle.won_count, cycle.average_days, cycle.median_days) == (2, 3.5, 3.5)
    reasons = await an.lost_reasons(march_only, uow)
    assert [(r.label, r.count) for r in reasons] == [("Price", 1)]
    # By wins while a currency has no rate (then by name); by value once every one has.
    board = await an.leaderboard(march_only, uow)
    assert [(e.rank, e.name, e.won_count, e.lost_count) for e in board] == [
        (1, "Ann", 1, 1), (2, "Bob", 1, 0)
    ]
    await rt.set_exchange_rate(rt.SetExchangeRate(ADMIN, "USD", Decimal(10), "EUR"), uow)
    assert [e.name for e in await an.leaderboard(march_only, uow)] == ["Bob", "Ann"]
    stages = await an.time_in_stages(march_only, uow)
    assert [(s.stage_name, s.visits, s.average_seconds) for s in stages] == [
        ("Identification", 3, pytest.approx((86400 + 2 * 86400 + 5 * 86400) / 3)),
        ("Qualification", 1, 4 * 86400.0),
    ]
    months = await an.forecast(analytics(ADMIN), uow)
    assert [(m.month, m.count) for m in months] == [(date(2026, 7, 1), 1)]
    assert await an.forecast(march_only, uow) == []
    assert await an.activity_counts(march_only, uow) == []
    mine = analytics(person("rep", BOB))
    assert [(e.name, e.won_count) for e in await an.leaderboard(mine, uow)] == [("Bob", 1)]


async def test_activity_counts_add_completed_activities_and_issued_offers(uow: Uow) -> None:
    opp = uuid.uuid4()
    await apply(uow, created(opp))
    for kind in ("call", "call", "meeting"):
        await apply(uow, DEALS.activity(opp, kind, T0, done_at=T0, version=2))
    await apply(uow, DEALS.offer(opp, T0))
    (ann,) = await an.activity_counts(analytics(ADMIN), uow)
    assert (ann.member_id, ann.calls, ann.meetings, ann.offers_issued, ann.total) == (
        ANN, 2, 1, 1, 4
    )


# --- exchange rates ---------------------------------------------------------------------------


async def test_only_an_admin_sets_rates_and_bad_ones_change_nothing(uow: Uow) -> None:
    with pytest.raises(ForbiddenError):
        await rt.set_exchange_rate(rt.SetExchangeRate(person("manager"), "USD", Decimal(1),
                                                      "EUR"), uow)
    with pytest.raises(ForbiddenError):
        await rt.set_base_currency(rt.SetBaseCurrency(person("rep"), "PLN", "EUR"), uow)
    with pytest.raises(InvalidInput) as bad:
        await rt.set_exchange_rate(rt.SetExchangeRate(ADMIN, "usd", Decimal(-1), "EUR"), uow)
    assert {p.path for p in bad.value.problems} == {("currency",), ("rate",)}
    for rate in (Decimal(0), Decimal("NaN"), Decimal("1000000001")):
        with pytest.raises(InvalidInput):
            await rt.set_exchange_rate(rt.SetExchangeRate(ADMIN, "USD", rate, "EUR"), uow)
    with pytest.raises(InvalidInput):
        await rt.set_base_currency(rt.SetBaseCurrency(ADMIN, "QQQ", "EUR"), uow)
    assert uow.commits == 1  # the pipeline's configuration only
    rates = await rt.exchange_rates(rt.GetExchangeRates(person("rep"), "EUR"), uow)
    assert (rates.base_currency, dict(rates.rates)) == ("EUR", {})


async def test_a_new_base_currency_clears_the_rates_and_the_same_one_keeps_them(
    uow: Uow,
) -> None:
    rates = await rt.set_exchange_rate(rt.SetExchangeRate(ADMIN, "USD", Decimal("0.9"), "EUR"),
                                       uow)
    assert dict(rates.rates) == {"USD": Decimal("0.9")}
    kept = await rt.set_base_currency(rt.SetBaseCurrency(ADMIN, "EUR", "EUR"), uow)
    assert (kept.base_currency, dict(kept.rates)) == ("EUR", {"USD": Decimal("0.9")})
    changed = await rt.set_base_currency(rt.SetBaseCurrency(ADMIN, "PLN", "EUR"), uow)
    assert (changed.base_currency, dict(changed.rates)) == ("PLN", {})
    other_org = person("admin", org=uuid.uuid4())
    assert (await rt.exchange_rates(rt.GetExchangeRates(other_org, "EUR"), uow)).base_currency \
        == "EUR"

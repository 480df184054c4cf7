"""The repository contract (:class:`services.reporting.ports.ReportingRepository`), one suite
run against the in-memory repository the handler unit tests use and against PostgreSQL: the
fake behaves as the real one, so what the unit tests show holds for the service. The batch
projection (the fast path: a pulled batch in a few statements) is held to applying the same
events one at a time."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from crmkit.contracts import Envelope
from crmkit.uow import UnitOfWork
from services.reporting.domain.access import Scope
from services.reporting.domain.analytics import Period
from services.reporting.domain.dashboard import ActivityWindow
from services.reporting.domain.funnel import (
    CloseRange,
    Counters,
    FunnelRow,
    Stage,
    close_range,
    closes_within,
    contribution,
)
from services.reporting.domain.opportunities import OpportunityChange, OpportunityState
from services.reporting.domain.records import PipelineConfiguration
from services.reporting.events import OPPORTUNITY_EVENTS
from services.reporting.handlers.projection import project, project_batch
from services.reporting.ports import ReportingRepository
from tests.unit.reporting.deals import IDENT, LOST, OFFER, QUAL, STAGES, T0, Deals
from tests.unit.reporting.fakes import fake_uow

from .conftest import Reporting
from .simulator import PipelineSimulator

pytestmark = pytest.mark.integration

Uows = Callable[[], UnitOfWork[ReportingRepository]]
T = TypeVar("T")
DAY = timedelta(days=1)


@pytest.fixture(params=["memory", "postgresql"])
async def uows(request: pytest.FixtureRequest, reporting: Reporting) -> AsyncIterator[Uows]:
    if request.param == "memory":
        shared = fake_uow()
        yield lambda: shared
    else:
        yield reporting.runtime.uow


async def run(uows: Uows, use: Callable[[ReportingRepository], Awaitable[T]]) -> T:
    async with uows() as uow:
        result = await use(uow.repo)
        await uow.commit()
    return result


async def read(uows: Uows, use: Callable[[ReportingRepository], Awaitable[T]]) -> T:
    async with uows() as uow:
        return await use(uow.repo)


async def apply(uows: Uows, *envelopes: Envelope) -> None:
    for envelope in envelopes:
        assert await project(envelope, uows())


def summed(rows: Sequence[FunnelRow]) -> dict[tuple[uuid.UUID, str], Counters]:
    """Rows per (stage, currency), the empty ones left out (a store may keep zero rows)."""
    totals: dict[tuple[uuid.UUID, str], Counters] = {}
    for row in rows:
        key = (row.stage_id, row.currency)
        totals[key] = totals.get(key, Counters()) + row.counters
    return {k: c for k, c in totals.items() if not c.is_zero}


def expected_rows(states: Sequence[OpportunityState], scope: Scope,
                  close_from: date | None = None, close_to: date | None = None,
                  ) -> dict[tuple[uuid.UUID, str], Counters]:
    """The funnel as the sum of the opportunities' contributions (the aggregate's meaning)."""
    return summed([
        FunnelRow(key.stage_id, key.currency, counters)
        for state in states
        if scope.covers(state.owner_id, state.team)
        and closes_within(state.expected_close_date, close_from, close_to)
        for key, counters in contribution(state.facts).items()
    ])


def changes_of(envelopes: Sequence[Envelope]) -> list[tuple[uuid.UUID, OpportunityChange]]:
    """Minimal changes naming each opportunity once (to read the rows back)."""
    opportunity_types = {cls.TYPE for cls in OPPORTUNITY_EVENTS}
    seen: dict[tuple[uuid.UUID, uuid.UUID], tuple[uuid.UUID, OpportunityChange]] = {}
    for e in envelopes:
        if e.type in opportunity_types and (e.org_id, e.aggregate_id) not in seen:
            p = e.payload
            seen[(e.org_id, e.aggregate_id)] = (e.org_id, OpportunityChange(
                version=e.aggregate_version, occurred_at=e.occurred_at,
                opportunity_id=e.aggregate_id, name=p["name"],
                pipeline_id=uuid.UUID(p["pipeline_id"]), stage_id=uuid.UUID(p["stage_id"]),
                stage_kind=p["stage_kind"], status=p["status"],
                owner_id=uuid.UUID(p["owner_id"]), team=p["team"], account_id=None,
                amount=Decimal(p["amount"]), currency=p["currency"],
                probability=p["probability"], expected_close_date=None, created_at=None,
            ))
    return list(seen.values())


async def states_of(uows: Uows, envelopes: Sequence[Envelope]) -> list[OpportunityState]:
    """The opportunity rows the events' opportunities have now (reading them back records
    versions that are kept already: nothing changes)."""
    changes = changes_of(envelopes)

    async def load(repo: ReportingRepository) -> list[OpportunityState]:
        states, _ = await repo.record_versions_and_load(changes, [])
        return sorted(states.values(), key=lambda s: s.opportunity_id)

    return await read(uows, load)


# --- pipelines --------------------------------------------------------------------------------


async def test_pipelines_keep_their_stages_per_org_with_one_default(uows: Uows) -> None:
    deals = Deals()
    org, sales = deals.org, deals.pipeline
    assert await read(uows, lambda r: r.pipeline_version(org, sales)) == -1
    assert await read(uows, lambda r: r.pipeline_stages(org, None)) == (None, [])
    await run(uows, lambda r: r.save_pipeline(
        org, PipelineConfiguration(sales, "Sales", True, 1, STAGES)))
    assert await read(uows, lambda r: r.pipeline_version(org, sales)) == 1
    assert await read(uows, lambda r: r.pipeline_stages(org, None)) == (sales, STAGES)

    other = uuid.uuid4()
    other_stages = [Stage(uuid.uuid4(), "Talk", 1, 20, "open"),
                    Stage(uuid.uuid4(), "Done", 2, 100, "won")]
    await run(uows, lambda r: r.save_pipeline(
        org, PipelineConfiguration(other, "Another", True, 1, other_stages)))
    assert await read(uows, lambda r: r.pipeline_stages(org, None)) == (other, other_stages)
    assert await read(uows, lambda r: r.pipeline_stages(org, sales)) == (sales, STAGES)

    # A stage the configuration removes or no longer lists is gone.
    kept = [s for s in STAGES if s not in (OFFER, LOST)]
    await run(uows, lambda r: r.save_pipeline(
        org, PipelineConfiguration(sales, "Sales", False, 2, kept, removed_stage_ids=[OFFER.id])))
    assert await read(uows, lambda r: r.pipeline_stages(org, sales)) == (sales, kept)
    assert await read(uows, lambda r: r.pipeline_stages(org, None)) == (other, other_stages)
    unknown = uuid.uuid4()
    assert await read(uows, lambda r: r.pipeline_stages(org, unknown)) == (unknown, [])
    assert await read(uows, lambda r: r.pipeline_stages(uuid.uuid4(), None)) == (None, [])


# --- opportunities and the funnel -------------------------------------------------------------


async def some_sales(uows: Uows) -> tuple[Deals, list[Envelope], dict[str, uuid.UUID]]:
    deals = Deals()
    bob, carl = uuid.uuid4(), uuid.uuid4()
    o1, o2, o3, o4 = (uuid.uuid4() for _ in range(4))
    events = [
        deals.configured(),
        deals.created(o1, close=date(2026, 5, 4)),
        deals.created(o2, owner=bob, amount="200", currency="USD", close=date(2026, 6, 20)),
        deals.moved(o2, 2, IDENT, QUAL, at=T0 + DAY, owner=bob, amount="200", currency="USD",
                    close=date(2026, 6, 20)),
        deals.created(o3, OFFER, owner=carl, team="beta", amount="300.50"),
        deals.created(o4, amount="400", close=date(2026, 5, 31)),
        deals.moved(o4, 2, IDENT, QUAL, at=T0 + DAY, amount="400", close=date(2026, 5, 31)),
        deals.closed(o4, 3, QUAL, won=False, at=T0 + 3 * DAY, amount="400",
                     close=date(2026, 5, 31)),
    ]
    await apply(uows, *events)
    return deals, events, {"o1": o1, "o2": o2, "o3": o3, "o4": o4, "bob": bob, "carl": carl}


async def test_opportunity_rows_keep_every_version_and_feed_the_funnel(uows: Uows) -> None:
    deals, events, ids = await some_sales(uows)
    org = deals.org
    states = {s.opportunity_id: s for s in await states_of(uows, events)}
    lost = states[ids["o4"]]
    assert (lost.status, lost.stage_id, lost.version, lost.closed_at) == (
        "lost", LOST.id, 3, T0 + 3 * DAY
    )
    assert lost.visited_stage_ids == {IDENT.id, QUAL.id, LOST.id}
    assert lost.furthest_stage_id == QUAL.id and lost.close_reason_label == "Price"
    assert states[ids["o3"]].amount == Decimal("300.50")

    everyone = Scope(org, None, None)
    rows = summed(await read(uows, lambda r: r.funnel_rows(everyone, deals.pipeline, None)))
    assert rows == {
        (IDENT.id, "EUR"): Counters(1, Decimal(1000), Decimal(100), 1),
        (QUAL.id, "USD"): Counters(1, Decimal(200), Decimal(50), 1),
        (QUAL.id, "EUR"): Counters(0, Decimal(0), Decimal(0), 1),
        (OFFER.id, "EUR"): Counters(1, Decimal("300.50"), Decimal("150.25"), 1),
        (LOST.id, "EUR"): Counters(1, Decimal(400), Decimal(0), 0),
    }
    alpha, bob = Scope(org, None, "alpha"), Scope(org, ids["bob"], None)
    ranges: list[tuple[date | None, date | None]] = [
        (None, None), (date(2026, 5, 1), date(2026, 5, 31)), (date(2026, 5, 4), date(2026, 6, 19)),
        (date(2026, 6, 1), None), (None, date(2026, 5, 4)), (date(2026, 7, 1), date(2026, 7, 2)),
    ]
    every_state = list(states.values())
    for scope in (everyone, alpha, bob):
        for close_from, close_to in ranges:
            close = close_range(close_from, close_to)
            assert summed(await read(
                uows, lambda r, s=scope, c=close: r.funnel_rows(s, deals.pipeline, c)
            )) == expected_rows(every_state, scope, close_from, close_to), (scope, close)
    # Another org sees nothing of it.
    assert await read(uows, lambda r: r.funnel_rows(
        Scope(uuid.uuid4(), None, None), deals.pipeline, None)) == []


async def test_folding_the_deltas_changes_no_figure(uows: Uows) -> None:
    deals, _, _ = await some_sales(uows)
    scope = Scope(deals.org, None, None)
    ranges: list[CloseRange | None] = [
        None, close_range(date(2026, 5, 1), date(2026, 6, 30)),
        close_range(date(2026, 5, 2), date(2026, 6, 25)),
    ]
    before = [summed(await read(uows, lambda r, c=c: r.funnel_rows(scope, deals.pipeline, c)))
              for c in ranges]
    # (The service's own compactor may be folding meanwhile: both are exact at all times.)
    for _ in range(50):
        if not await run(uows, lambda r: r.compact_funnel()):
            break
    after = [summed(await read(uows, lambda r, c=c: r.funnel_rows(scope, deals.pipeline, c)))
             for c in ranges]
    assert after == before and before[0]


async def test_a_reconfigured_pipeline_recomputes_its_rows(uows: Uows) -> None:
    deals, events, ids = await some_sales(uows)
    org = deals.org
    without_offer = [s for s in STAGES if s is not OFFER]
    await run(uows, lambda r: r.save_pipeline(org, PipelineConfiguration(
        deals.pipeline, "Sales", True, 2, without_offer, removed_stage_ids=[OFFER.id],
        moved_opportunities_to={OFFER.id: QUAL.id})))
    await run(uows, lambda r: r.recompute_pipeline(org, deals.pipeline))
    states = await states_of(uows, events)
    moved = next(s for s in states if s.opportunity_id == ids["o3"])
    # Moved to Qualification; its progress the furthest stage still there (none here).
    assert (moved.stage_id, moved.stage_kind, moved.furthest_stage_id) == (QUAL.id, "open", None)
    scope = Scope(org, None, None)
    rows = summed(await read(uows, lambda r: r.funnel_rows(scope, deals.pipeline, None)))
    assert rows == expected_rows(states, scope)
    assert rows[(QUAL.id, "EUR")] == Counters(1, Decimal("300.50"), Decimal("150.25"), 1)


async def test_the_funnel_as_it_stood_from_the_versions(uows: Uows) -> None:
    deals, _, ids = await some_sales(uows)
    scope = Scope(deals.org, None, None)

    async def as_of(at: datetime, who: Scope = scope) -> dict[uuid.UUID, Any]:
        versions = await read(uows, lambda r: r.versions_as_of(who, deals.pipeline, at))
        return {v.opportunity_id: (v.version, v.stage_id, v.visited_stage_ids)
                for v in versions}

    assert await as_of(T0 - DAY) == {}
    first = await as_of(T0)
    assert first[ids["o4"]] == (1, IDENT.id, {IDENT.id}) and len(first) == 4
    later = await as_of(T0 + 2 * DAY)
    assert later[ids["o4"]] == (2, QUAL.id, {IDENT.id, QUAL.id})
    assert (await as_of(T0 + 5 * DAY))[ids["o4"]] == (3, LOST.id, {IDENT.id, QUAL.id, LOST.id})
    bob = await as_of(T0 + 5 * DAY, Scope(deals.org, ids["bob"], None))
    assert list(bob) == [ids["o2"]]
    assert await read(uows, lambda r: r.versions_as_of(
        Scope(uuid.uuid4(), None, None), deals.pipeline, T0 + 5 * DAY)) == []


# --- the fast path ----------------------------------------------------------------------------


async def test_the_batch_path_leaves_what_one_event_at_a_time_does(uows: Uows) -> None:
    """Random pipeline traffic (an opportunity often several times in a batch, events late
    and repeated), applied by the batch path in chunks of random length and one event at a
    time in two orgs of one store: every read of the two is the same."""
    owners = [(uuid.uuid4(), "alpha"), (uuid.uuid4(), "alpha"), (uuid.uuid4(), "beta")]
    sim = PipelineSimulator(uuid.uuid4(), seed=12, owners=owners)
    events = [sim.configure(), *sim.random_operations(120)]
    rng = random.Random(5)
    shuffled = events + rng.sample(events, 20)
    rng.shuffle(shuffled)
    one, batched = uuid.uuid4(), uuid.uuid4()

    def of(org: uuid.UUID) -> list[Envelope]:
        return [e.model_copy(update={"org_id": org}) for e in shuffled]

    await apply(uows, *of(one))
    pending = of(batched)
    while pending:
        size = rng.randint(1, 40)
        chunk, pending = pending[:size], pending[size:]
        await project_batch(chunk, uows())

    async def reads(org: uuid.UUID) -> list[Any]:
        figures: list[Any] = [await states_of(uows, of(org))]  # rows name no org
        for owner, team in [(None, None), (None, "alpha"), (owners[0][0], None)]:
            scope = Scope(org, owner, team)
            for close in (None, close_range(date(2026, 3, 10), date(2026, 9, 20))):
                figures.append(summed(await read(
                    uows, lambda r, s=scope, c=close: r.funnel_rows(s, sim.pipeline_id, c))))
            for at in (T0 + 20 * DAY, T0 + 60 * DAY, datetime(2030, 1, 1, tzinfo=UTC)):
                versions = await read(
                    uows, lambda r, s=scope, a=at: r.versions_as_of(s, sim.pipeline_id, a))
                figures.append(sorted((v.opportunity_id, v.version, v.stage_id,
                                       sorted(v.visited_stage_ids)) for v in versions))
            figures.append(await read(
                uows, lambda r, s=scope: r.stage_durations(s, sim.pipeline_id, Period())))
        for owner, _ in owners:
            figures.append(await read(
                uows, lambda r, o=owner: r.open_activities(org, o, ActivityWindow(), 500)))
        return figures

    first, second = await reads(one), await reads(batched)
    assert first == second
    assert first[0] and first[1]  # rows and a funnel to compare


# --- the dashboard's reads --------------------------------------------------------------------


async def test_a_members_open_activities_opportunities_and_leads(uows: Uows) -> None:
    deals = Deals()
    org, ann, bob = deals.org, deals.ann, uuid.uuid4()
    busy, lonely, later, closed_ = (uuid.uuid4() for _ in range(4))
    call = uuid.uuid4()
    await apply(
        uows, deals.configured(),
        deals.created(busy, close=date(2026, 5, 1)), deals.created(lonely, QUAL),
        deals.created(later, amount="50", currency="USD", close=date(2026, 4, 1)),
        deals.created(closed_), deals.closed(closed_, 2, IDENT, won=True, at=T0),
        deals.created(uuid.uuid4(), owner=bob),
        deals.activity(busy, "meeting", T0 + 2 * DAY),
        deals.activity(busy, "task", T0 + DAY),
        deals.activity(busy, "task", T0 - DAY),
        deals.activity(lonely, "call", T0 - 2 * DAY, activity_id=call, version=2),
        # An older version arriving late changes nothing.
        deals.activity(lonely, "call", T0 + 9 * DAY, activity_id=call, version=1),
        deals.activity(later, "email", T0 - DAY, done_at=T0),
        deals.activity(busy, "meeting", T0 + DAY, owner=bob),
    )

    async def due(window: ActivityWindow, limit: int = 50) -> list[tuple[str, datetime]]:
        found = await read(uows, lambda r: r.open_activities(org, ann, window, limit))
        return [(a.kind, a.due_at) for a in found]

    assert await due(ActivityWindow()) == [
        ("call", T0 - 2 * DAY), ("task", T0 - DAY), ("task", T0 + DAY), ("meeting", T0 + 2 * DAY)
    ]
    assert await due(ActivityWindow(kind="task", due_from=T0)) == [("task", T0 + DAY)]
    assert await due(ActivityWindow(other_than="task", due_before=T0)) == [
        ("call", T0 - 2 * DAY)
    ]
    assert await due(ActivityWindow(due_from=T0 - DAY, due_before=T0 + 2 * DAY)) == [
        ("task", T0 - DAY), ("task", T0 + DAY)
    ]
    assert len(await due(ActivityWindow(), limit=2)) == 2

    items, count = await read(uows, lambda r: r.without_next_contact(org, ann, T0, 50))
    # Those with nothing due from now on: by expected close (none last), then name.
    assert [i.opportunity_id for i in items] == [later, lonely] and count == 2
    first, count = await read(uows, lambda r: r.without_next_contact(org, ann, T0, 1))
    assert [i.opportunity_id for i in first] == [later] and count == 2
    assert (first[0].amount, first[0].currency, first[0].expected_close_date) == (
        Decimal(50), "USD", date(2026, 4, 1)
    )

    in_stages = await read(uows, lambda r: r.open_in_stages(org, ann))
    assert sorted((s.stage_name, s.currency, s.count, s.amount) for s in in_stages) == [
        ("Identification", "EUR", 1, Decimal(1000)), ("Identification", "USD", 1, Decimal(50)),
        ("Qualification", "EUR", 1, Decimal(1000)),
    ]

    assert await read(uows, lambda r: r.leads_held(org, ann)) == (0, None)
    first_lead, second_lead = uuid.uuid4(), uuid.uuid4()
    await apply(uows, deals.assigned(first_lead, cap=7, version=2),
                deals.assigned(second_lead, cap=8, version=3),
                deals.assigned(uuid.uuid4(), status="DISQUALIFIED", cap=None))
    # The cap the newest assignment repeated, until the roster tells it.
    assert await read(uows, lambda r: r.leads_held(org, ann)) == (2, 8)
    await apply(uows, deals.member(ann, "Ann", cap=4), deals.member(bob, None, cap=3))
    assert await read(uows, lambda r: r.leads_held(org, ann)) == (2, 4)
    names = await read(uows, lambda r: r.member_names(org, [ann, bob, uuid.uuid4()]))
    assert names == {ann: "Ann", bob: ""}
    assert await read(uows, lambda r: r.member_names(uuid.uuid4(), [ann])) == {}


# --- analytics' sums --------------------------------------------------------------------------


async def test_the_analytics_sums_by_period_scope_and_pipeline(uows: Uows) -> None:
    deals = Deals()
    org, ann, bob = deals.org, deals.ann, uuid.uuid4()
    won, won_usd, lost, open_ = (uuid.uuid4() for _ in range(4))
    march, april = datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC)
    await apply(
        uows, deals.configured(),
        deals.created(won), deals.moved(won, 2, IDENT, QUAL, at=T0 + DAY),
        deals.closed(won, 3, QUAL, won=True, at=march),
        deals.created(won_usd, owner=bob, amount="70", currency="USD"),
        deals.closed(won_usd, 2, IDENT, won=True, at=april, owner=bob, amount="70",
                     currency="USD"),
        deals.created(lost, amount="30"),
        deals.closed(lost, 2, IDENT, won=False, at=march, amount="30"),
        deals.created(open_, close=date(2026, 8, 20), amount="10"),
        deals.activity(open_, "call", T0, done_at=march),
        deals.activity(open_, "call", T0, done_at=april),
        deals.activity(open_, "meeting", T0, done_at=march, owner=bob),
        deals.activity(open_, "task", T0),
        deals.offer(won, march), deals.offer(won_usd, None, at=april),
    )
    everyone, annie = Scope(org, None, None), Scope(org, ann, None)
    in_march = Period(march - 9 * DAY, march + 21 * DAY)
    pipeline = deals.pipeline

    closed = await read(uows, lambda r: r.closed_totals(everyone, None, in_march))
    assert sorted((c.status, c.owner_id == ann, c.currency, c.count, c.amount)
                  for c in closed) == [("lost", True, "EUR", 1, Decimal(30)),
                                       ("won", True, "EUR", 1, Decimal(1000))]
    every_time = await read(uows, lambda r: r.closed_totals(everyone, pipeline, Period()))
    assert sum(c.count for c in every_time) == 3
    assert await read(uows, lambda r: r.closed_totals(everyone, uuid.uuid4(), Period())) == []
    lost_rows = await read(uows, lambda r: r.lost_totals(annie, None, Period()))
    assert [(x.label, x.currency, x.count, x.amount) for x in lost_rows] == [
        ("Price", "EUR", 1, Decimal(30))
    ]

    cycle = await read(uows, lambda r: r.sales_cycle(everyone, None, Period()))
    won_days = [(march - T0).total_seconds() / 86400, (april - T0).total_seconds() / 86400]
    assert cycle.won_count == 2
    assert cycle.average_days == pytest.approx(sum(won_days) / 2)
    assert cycle.median_days == pytest.approx(sum(won_days) / 2)
    assert await read(uows, lambda r: r.sales_cycle(annie, None, Period(april))) == (
        type(cycle)(0, None, None)
    )

    durations = await read(uows, lambda r: r.stage_durations(everyone, pipeline, in_march))
    assert [(d.stage_name, d.visits, d.average_seconds) for d in durations] == [
        ("Identification", 2, pytest.approx((DAY + (march - T0)).total_seconds() / 2)),
        ("Qualification", 1, pytest.approx((march - T0 - DAY).total_seconds())),
    ]

    months = await read(uows, lambda r: r.open_by_close_month(everyone, None, None, None))
    # (Closed opportunities may leave rows summing to nothing.)
    assert [(m.month, m.currency, m.count, m.amount, m.weighted) for m in months if m.count] == [
        (date(2026, 8, 1), "EUR", 1, Decimal(10), Decimal(1))
    ]
    for scope, first in ((everyone, date(2026, 9, 1)), (Scope(org, bob, None), None)):
        assert not any(m.count for m in await read(
            uows, lambda r, s=scope, f=first: r.open_by_close_month(s, None, f, None)))

    done = await read(uows, lambda r: r.completed_activities(everyone, in_march))
    assert done == {ann: {"call": 1}, bob: {"meeting": 1}}
    assert await read(uows, lambda r: r.completed_activities(annie, Period())) == {
        ann: {"call": 2}
    }
    offers = await read(uows, lambda r: r.offers_issued(everyone, None, in_march))
    assert offers == {ann: 1}
    # Issued with no time of its own: when its event occurred.
    assert await read(uows, lambda r: r.offers_issued(everyone, pipeline, Period(april))) == {
        bob: 1
    }


# --- exchange rates ---------------------------------------------------------------------------


async def test_rates_and_the_base_currency_per_org(uows: Uows) -> None:
    org, admin = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    assert (await read(uows, lambda r: r.rates(org, "EUR"))).base_currency == "EUR"
    assert await read(uows, lambda r: r.base_currency(org)) is None
    await run(uows, lambda r: r.set_exchange_rate(org, "USD", Decimal("0.9"), admin, now))
    await run(uows, lambda r: r.set_exchange_rate(org, "USD", Decimal("0.8"), admin, now))
    await run(uows, lambda r: r.set_exchange_rate(org, "PLN", Decimal("0.25"), admin, now))
    rates = await read(uows, lambda r: r.rates(org, "EUR"))
    assert (rates.base_currency, dict(rates.rates)) == (
        "EUR", {"USD": Decimal("0.8"), "PLN": Decimal("0.25")}
    )
    await run(uows, lambda r: r.set_base_currency(org, "PLN", now))
    assert await read(uows, lambda r: r.base_currency(org)) == "PLN"
    rates = await read(uows, lambda r: r.rates(org, "EUR"))
    assert (rates.base_currency, dict(rates.rates)) == ("PLN", {})
    assert (await read(uows, lambda r: r.rates(uuid.uuid4(), "USD"))).base_currency == "USD"

"""The repository contract (:class:`services.pipeline.ports.PipelineRepository`), one suite run
against the in-memory repository the handler unit tests use and against PostgreSQL: the fake
behaves as the real one, so what the unit tests show holds for the service. The hot paths
are held to the general ones: the lists' SQL to the fake's plain filters, the unlocked move
to the locked one (random moves, both ways, the same results)."""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from crmkit.auth import Caller, Role
from crmkit.contracts import Envelope
from crmkit.errors import DomainError, NotFoundError, VersionConflictError
from crmkit.paging import PageRequest
from crmkit.uow import UnitOfWork
from services.pipeline import domain as d
from services.pipeline import events
from services.pipeline.handlers import activities as act
from services.pipeline.handlers import configuration as conf
from services.pipeline.handlers import opportunities as opps
from services.pipeline.ports import ActivityQuery, OpportunityQuery, PipelineRepository
from services.pipeline.repository.rows import (
    ACTIVITY_COLUMNS,
    DERIVED_OPPORTUNITY_COLUMNS,
    OPPORTUNITY_COLUMNS,
)
from services.pipeline.tables import activities, opportunities
from tests.unit.pipeline.fakes import fake_uow

from .conftest import Service

pytestmark = pytest.mark.integration

Uows = Callable[[], UnitOfWork[PipelineRepository]]
T = TypeVar("T")
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(params=["memory", "postgresql"])
async def uows(request: pytest.FixtureRequest, pipeline_service: Service) -> AsyncIterator[Uows]:
    if request.param == "memory":
        shared = fake_uow()
        yield lambda: shared
    else:
        yield pipeline_service.runtime.uow


async def run(uows: Uows, use: Callable[[PipelineRepository], Awaitable[T]]) -> T:
    async with uows() as uow:
        result = await use(uow.repo)
        await uow.commit()
    return result


async def read(uows: Uows, use: Callable[[PipelineRepository], Awaitable[T]]) -> T:
    async with uows() as uow:
        return await use(uow.repo)


def person(org: uuid.UUID, role: str = "rep", team: str | None = "alpha") -> Caller:
    return Caller(member_id=uuid.uuid4(), org_id=org, roles=frozenset({Role(role)}), team=team)


async def pipeline_of(uows: Uows, org: uuid.UUID) -> d.Pipeline:
    found = await conf.pipelines(conf.OrgQuery(person(org, "admin", None)), uows())
    return found[0]


def opportunity(org: uuid.UUID, pipeline: d.Pipeline, n: int, owner: uuid.UUID,
                team: str | None, **changes: Any) -> d.Opportunity:
    first = pipeline.first_stage()
    created = NOW - timedelta(minutes=n)
    goods = "laptops" if n % 3 == 0 else "vans"
    opp = d.Opportunity(
        id=uuid.uuid4(), org_id=org, name=f"Deal {n} {goods}{' Żabka' if n % 4 == 0 else ''}",
        amount=Decimal(n * 100), currency="EUR", owner_id=owner, team=team,
        pipeline_id=pipeline.id, stage_id=first.id, probability=first.probability,
        created_at=created, updated_at=created, stage_entered_at=created,
        expected_close_date=date(2031, 1, 1) + timedelta(days=n),
    )
    return dataclasses.replace(opp, **changes)


def test_the_row_mapping_is_the_tables() -> None:
    assert {*OPPORTUNITY_COLUMNS, *DERIVED_OPPORTUNITY_COLUMNS} == {
        c.name for c in opportunities.columns}
    assert set(ACTIVITY_COLUMNS) == {c.name for c in activities.columns}


async def test_an_opportunity_round_trips_and_refuses_a_lost_update(uows: Uows) -> None:
    org = uuid.uuid4()
    pipeline = await pipeline_of(uows, org)
    owner = uuid.uuid4()
    opp = opportunity(org, pipeline, 1, owner, "alpha",
                      qualification=d.Qualification(needs="vans", budget_amount=Decimal(5),
                                                    budget_currency="EUR"),
                      negotiation=d.Negotiation(price="-5%"))
    await run(uows, lambda r: r.add_opportunity(opp))
    loaded = await read(uows, lambda r: r.opportunity(org, opp.id))
    assert loaded == opp
    assert await read(uows, lambda r: r.opportunity(uuid.uuid4(), opp.id)) is None
    assert await read(uows, lambda r: r.opportunity_exists(opp.id))
    assert loaded is not None
    loaded.name = "Renamed"
    await run(uows, lambda r: r.save_opportunity(loaded))
    assert loaded.version == 2
    stale = dataclasses.replace(loaded, version=1)
    with pytest.raises(VersionConflictError):
        await run(uows, lambda r: r.save_opportunity(stale))
    again = await read(uows, lambda r: r.opportunity(org, opp.id))
    assert again is not None and (again.name, again.version) == ("Renamed", 2)


async def test_derived_gate_inputs_keep_the_version(uows: Uows) -> None:
    org = uuid.uuid4()
    pipeline = await pipeline_of(uows, org)
    opp = opportunity(org, pipeline, 1, uuid.uuid4(), None)
    await run(uows, lambda r: r.add_opportunity(opp))
    due = [NOW + timedelta(days=2), NOW + timedelta(days=1)]
    for at in due:
        activity = d.Activity(id=uuid.uuid4(), org_id=org, opportunity_id=opp.id,
                              owner_id=opp.owner_id, team=None, kind=d.ActivityKind.CALL,
                              subject="Call", due_at=at, created_at=NOW, updated_at=NOW)
        await run(uows, lambda r, a=activity: r.add_activity(a))  # type: ignore[misc]
    await run(uows, lambda r: r.refresh_next_contact(org, opp.id))
    await run(uows, lambda r: r.mark_contact_made(org, opp.id, NOW))
    await run(uows, lambda r: r.mark_contact_made(org, opp.id, NOW + timedelta(hours=1)))
    offer = uuid.uuid4()
    assert await run(uows, lambda r: r.record_offer(org, offer, opp.id, NOW))
    assert not await run(uows, lambda r: r.record_offer(org, offer, opp.id, NOW))
    assert await run(uows, lambda r: r.record_offer(org, uuid.uuid4(), opp.id,
                                                    NOW - timedelta(days=1)))
    held = await read(uows, lambda r: r.opportunity(org, opp.id))
    assert held is not None
    assert (held.next_contact_at, held.contact_made_at, held.offer_issued_at, held.version) == (
        due[1], NOW, NOW - timedelta(days=1), 1)
    assert await read(uows, lambda r: r.first_offer_issued_at(org, opp.id)) == (
        NOW - timedelta(days=1))


async def test_pages_filter_and_walk_alike(uows: Uows) -> None:
    org = uuid.uuid4()
    pipeline = await pipeline_of(uows, org)
    stages = pipeline.ordered_stages()
    owners = [uuid.uuid4() for _ in range(3)]
    teams = ["alpha", "alpha", "beta"]
    clients = [None, uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    rows = []
    for n in range(1, 25):
        i = n % 3
        rows.append(opportunity(
            org, pipeline, n, owners[i], teams[i], stage_id=stages[n % 4].id,
            next_contact_at=None if n % 2 else NOW,
            stage_entered_at=NOW - timedelta(days=n), account_id=clients[n % 4],
        ))
    for opp in rows:
        await run(uows, lambda r, o=opp: r.add_opportunity(o))  # type: ignore[misc]
    rep = Caller(member_id=owners[0], org_id=org, roles=frozenset({Role.REP}), team="alpha")
    manager = Caller(member_id=uuid.uuid4(), org_id=org, roles=frozenset({Role.MANAGER}),
                     team="alpha")
    admin = person(org, "admin", None)
    queries = [
        OpportunityQuery(),
        OpportunityQuery(owner_ids=[owners[1]]),
        OpportunityQuery(stage_ids=[stages[1].id, stages[2].id]),
        OpportunityQuery(statuses=[d.OpportunityStatus.OPEN]),
        OpportunityQuery(pipeline_id=pipeline.id, close_from=date(2031, 1, 5),
                         close_to=date(2031, 1, 12)),
        OpportunityQuery(stale_before={stages[1].id: NOW - timedelta(days=6)}),
        OpportunityQuery(stale_before={}),
        OpportunityQuery(no_next_contact=True),
        OpportunityQuery(text="LAPTOP"),
        OpportunityQuery(account_ids=[clients[1], clients[3]]),
        OpportunityQuery(text=" zabka "),  # any case, with or without Polish letters
    ]
    expected: dict[tuple[int, int], list[uuid.UUID]] = {}
    for c, who in enumerate((rep, manager, admin)):
        for q, query in enumerate(queries):
            seen = [o for o in rows if d.can_see(who, o.org_id, o.owner_id, o.team)]
            walked: list[uuid.UUID] = []
            page = PageRequest(first=4)
            while True:
                found = await read(uows, lambda r, w=who, q=query, p=page: r.opportunity_page(
                    w, q, p))  # type: ignore[misc]
                walked += [o.id for o in found[:4]]
                if len(found) <= 4:
                    break
                page = PageRequest(first=4, after=(found[3].created_at, found[3].id))
            expected[(c, q)] = walked
            assert len(set(walked)) == len(walked) and set(walked) <= {o.id for o in seen}
    # Spot checks, the same for both stores.
    assert len(expected[(2, 0)]) == 24 and expected[(2, 0)][0] == rows[0].id
    assert set(expected[(0, 0)]) == {o.id for o in rows if o.owner_id == owners[0]}
    assert set(expected[(1, 0)]) == {o.id for o in rows if o.team == "alpha"}
    assert set(expected[(2, 5)]) == {o.id for o in rows if o.stage_id == stages[1].id
                                     and o.stage_entered_at < NOW - timedelta(days=6)}
    assert expected[(2, 6)] == []
    assert set(expected[(2, 7)]) == {o.id for o in rows if o.next_contact_at is None}
    assert set(expected[(2, 8)]) == {o.id for o in rows if "laptops" in o.name}
    assert set(expected[(2, 4)]) == {o.id for o in rows if 4 <= int(o.name.split()[1]) <= 11}
    assert len(expected[(2, 9)]) == 12 and set(expected[(2, 9)]) == {
        o.id for o in rows if o.account_id in (clients[1], clients[3])}
    assert len(expected[(2, 10)]) == 6 and set(expected[(2, 10)]) == {
        o.id for o in rows if "Żabka" in o.name}


async def test_opportunity_pages_follow_each_order_to_the_end(uows: Uows) -> None:
    """Every order, walked five at a time, gives each deal once, in the order domain.order_key
    sets (ties between equal values broken by id, a missing date at the order's end): the
    same on both stores."""
    org = uuid.uuid4()
    pipeline = await pipeline_of(uows, org)
    owner = uuid.uuid4()
    rows = []
    for n in range(1, 13):  # pages of 5 end on a deal without a close date and on an open one
        rows.append(opportunity(
            org, pipeline, n, owner, "alpha",
            # Equal close dates and equal close times among them, some of each missing.
            expected_close_date=None if n % 4 == 0 else date(2031, 1, 1 + n % 3),
            closed_at=None if n % 3 else NOW - timedelta(days=n % 2),
            updated_at=NOW - timedelta(minutes=(n * 7) % 11),
        ))
    for opp in rows:
        await run(uows, lambda r, o=opp: r.add_opportunity(o))  # type: ignore[misc]
    admin = person(org, "admin", None)
    for order in d.OpportunityOrder:
        expected = [o.id for o in sorted(rows, key=lambda o: d.order_key(order, o),
                                         reverse=order.descending)]
        walked: list[uuid.UUID] = []
        page = PageRequest(first=5)
        while True:
            found = await read(uows, lambda r, p=page, o=order: r.opportunity_page(
                admin, OpportunityQuery(order=o), p))  # type: ignore[misc]
            walked += [o.id for o in found[:5]]
            if len(found) <= 5:
                break
            page = PageRequest(first=5, after=d.order_key(order, found[4]))
        assert walked == expected, order
    closing = [o.expected_close_date for o in sorted(
        rows, key=lambda o: d.order_key(d.OpportunityOrder.CLOSING_SOONEST, o))]
    assert closing[0] == date(2031, 1, 1) and closing[-1] is None


async def test_notes_are_kept_listed_newest_first_and_removed(uows: Uows) -> None:
    org = uuid.uuid4()
    pipeline = await pipeline_of(uows, org)
    opp = opportunity(org, pipeline, 1, uuid.uuid4(), None)
    await run(uows, lambda r: r.add_opportunity(opp))
    author = uuid.uuid4()
    written = [d.Note(id=uuid.uuid4(), org_id=org, opportunity_id=opp.id, author_id=author,
                      body=f"note {n}\nsecond line", created_at=NOW + timedelta(minutes=n))
               for n in (2, 0, 1)]
    for note in written:
        await run(uows, lambda r, n=note: r.add_note(n))  # type: ignore[misc]
    assert await read(uows, lambda r: r.notes(org, opp.id)) == sorted(
        written, key=lambda n: n.created_at, reverse=True)
    assert await read(uows, lambda r: r.note(org, written[0].id)) == written[0]
    other = uuid.uuid4()
    assert await read(uows, lambda r: r.note(other, written[0].id)) is None
    assert await read(uows, lambda r: r.notes(other, opp.id)) == []
    await run(uows, lambda r: r.remove_note(other, written[0].id))  # another org's: kept
    assert await read(uows, lambda r: r.note(org, written[0].id)) == written[0]
    await run(uows, lambda r: r.remove_note(org, written[0].id))
    assert [n.id for n in await read(uows, lambda r: r.notes(org, opp.id))] == [
        written[2].id, written[1].id]


async def test_overdue_means_the_same_in_the_page_and_the_claim(uows: Uows) -> None:
    org = uuid.uuid4()
    pipeline = await pipeline_of(uows, org)
    opp = opportunity(org, pipeline, 1, uuid.uuid4(), None)
    await run(uows, lambda r: r.add_opportunity(opp))
    at = datetime.now(UTC) + timedelta(days=365 * 50)  # nobody else's activity is due then
    made = {}
    for name, due, status in [("past", at - timedelta(seconds=1), d.ActivityStatus.OPEN),
                              ("now", at, d.ActivityStatus.OPEN),
                              ("future", at + timedelta(seconds=1), d.ActivityStatus.OPEN),
                              ("done", at - timedelta(hours=1), d.ActivityStatus.DONE)]:
        activity = d.Activity(id=uuid.uuid4(), org_id=org, opportunity_id=opp.id,
                              owner_id=opp.owner_id, team=None, kind=d.ActivityKind.CALL,
                              subject=name, due_at=due, created_at=NOW, updated_at=NOW,
                              status=status)
        made[name] = activity
        await run(uows, lambda r, a=activity: r.add_activity(a))  # type: ignore[misc]
    admin = person(org, "admin", None)
    page = await read(uows, lambda r: r.activity_page(
        admin, ActivityQuery(overdue_at=at), PageRequest(first=50)))
    overdue_here = {a.subject for a in page}
    assert overdue_here == {n for n, a in made.items() if d.is_overdue(a, at)} == {"past"}

    async def claim(r: PipelineRepository) -> set[str]:
        return {a.subject for a in await r.claim_overdue(at, 10_000) if a.org_id == org}

    assert await read(uows, claim) == {"past"}
    calendar = await read(uows, lambda r: r.activity_page(
        admin, ActivityQuery(due_from=at, due_to=at + timedelta(seconds=1)),
        PageRequest(first=50)))
    assert [a.subject for a in calendar] == ["now"]


async def test_open_activities_are_one_owner_s_on_one_deal_by_due_time(uows: Uows) -> None:
    org = uuid.uuid4()
    pipeline = await pipeline_of(uows, org)
    owner, other = uuid.uuid4(), uuid.uuid4()
    opp, elsewhere = (opportunity(org, pipeline, n, owner, "alpha") for n in (1, 2))
    for o in (opp, elsewhere):
        await run(uows, lambda r, o=o: r.add_opportunity(o))  # type: ignore[misc]

    async def activity(name: str, on: d.Opportunity, who: uuid.UUID, hours: int,
                       status: d.ActivityStatus = d.ActivityStatus.OPEN) -> d.Activity:
        made = d.Activity(id=uuid.uuid4(), org_id=org, opportunity_id=on.id, owner_id=who,
                          team="alpha", kind=d.ActivityKind.CALL, subject=name,
                          due_at=NOW + timedelta(hours=hours), created_at=NOW, updated_at=NOW,
                          status=status)
        await run(uows, lambda r: r.add_activity(made))
        return made

    await activity("later", opp, owner, 5)
    await activity("sooner", opp, owner, 1)
    await activity("done", opp, owner, 2, d.ActivityStatus.DONE)
    await activity("cancelled", opp, owner, 3, d.ActivityStatus.CANCELLED)
    await activity("someone else's", opp, other, 1)
    await activity("another deal's", elsewhere, owner, 1)
    found = await run(uows, lambda r: r.open_activities(org, opp.id, owner))
    assert [a.subject for a in found] == ["sooner", "later"]
    assert await run(uows, lambda r: r.open_activities(uuid.uuid4(), opp.id, owner)) == []


async def test_pipelines_save_relocate_and_lost_reasons(uows: Uows) -> None:
    org = uuid.uuid4()
    pipeline = await pipeline_of(uows, org)
    again = d.new_pipeline(org, d.Locale.EN, is_default=True)
    assert not await run(uows, lambda r: r.insert_default_pipeline(again, NOW))
    stale = dataclasses.replace(pipeline, version=pipeline.version + 5)
    with pytest.raises(VersionConflictError):
        await run(uows, lambda r: r.save_pipeline(stale, NOW))
    first, second = pipeline.ordered_stages()[:2]
    opp = opportunity(org, pipeline, 1, uuid.uuid4(), None)
    await run(uows, lambda r: r.add_opportunity(opp))
    assert await read(uows, lambda r: r.stage_in_use(org, first.id))
    assert await run(uows, lambda r: r.relocate_stage(org, first.id, second, NOW, None)) == 1
    moved = await read(uows, lambda r: r.opportunity(org, opp.id))
    assert moved is not None and (moved.stage_id, moved.version, moved.probability) == (
        second.id, 2, second.probability)
    history = await read(uows, lambda r: r.history(org, opp.id))
    assert [(c.from_stage_id, c.to_stage_id) for c in history] == [(first.id, second.id)]
    people = [uuid.uuid4() for _ in range(3)]
    handovers = [d.OwnerChange(id=uuid.uuid4(), opportunity_id=opp.id, from_owner_id=people[n],
                               to_owner_id=people[n + 1], changed_at=NOW + timedelta(hours=n),
                               changed_by=people[2]) for n in (1, 0)]
    for change in handovers:
        await run(uows, lambda r, c=change: r.record_owner_change(org, c))  # type: ignore[misc]
    assert await read(uows, lambda r: r.handovers(org, opp.id)) == handovers[::-1]
    assert await read(uows, lambda r: r.handovers(uuid.uuid4(), opp.id)) == []
    assert await read(uows, lambda r: r.pipeline_of_stage(org, first.id)) == pipeline.id
    assert await read(uows, lambda r: r.pipeline_of_stage(uuid.uuid4(), first.id)) is None
    reasons = await read(uows, lambda r: r.lost_reasons(org))
    changed = dataclasses.replace(reasons[0], label="Pricing", active=False, code="other")
    await run(uows, lambda r: r.save_lost_reasons([changed]))
    held = await read(uows, lambda r: r.lost_reason(org, changed.id))
    assert held is not None and (held.label, held.active, held.code) == (
        "Pricing", False, reasons[0].code)
    assert len(await read(uows, lambda r: r.lost_reasons(org))) == len(reasons) - 1
    assert len(await read(uows, lambda r: r.lost_reasons(org, include_inactive=True))) == len(
        reasons)


async def test_the_unlocked_move_writes_only_what_it_read(uows: Uows) -> None:
    org = uuid.uuid4()
    pipeline = await pipeline_of(uows, org)
    second = pipeline.ordered_stages()[1]
    opp = opportunity(org, pipeline, 1, uuid.uuid4(), None, contact_made_at=NOW,
                      next_contact_at=NOW)
    await run(uows, lambda r: r.add_opportunity(opp))
    actor = uuid.uuid4()

    def decide(o: d.Opportunity, p: d.Pipeline) -> tuple[d.StageChange, Envelope]:
        change = d.move(o, p, second.id, NOW, actor)
        o.version += 1
        return change, events.stage_changed(o, p, change, actor)

    moved = await run(uows, lambda r: r.move_unlocked(org, opp.id, decide))
    assert moved is not None and moved.version == 2
    assert await run(uows, lambda r: r.move_unlocked(org, opp.id, lambda o, p: None)) is None
    assert await run(uows, lambda r: r.move_unlocked(uuid.uuid4(), opp.id, decide)) is None
    held = await read(uows, lambda r: r.opportunity(org, opp.id))
    assert held is not None and (held.stage_id, held.version) == (second.id, 2)
    assert len(await read(uows, lambda r: r.history(org, opp.id))) == 1


async def test_unlocked_and_locked_moves_decide_alike(uows: Uows) -> None:
    """The same random moves (forward, backward, gated, stale versions, someone else's) on two
    twins of one org, one through ``move_opportunity`` (the unlocked way first), one through
    ``move_opportunity_locked``: the same answers, rows, histories and events."""
    results: list[list[tuple[Any, ...]]] = []
    for way in (opps.move_opportunity, opps.move_opportunity_locked):
        org = uuid.uuid4()
        admin = person(org, "admin", None)
        owner = person(org)
        stranger = person(org)
        pipeline = await pipeline_of(uows, org)
        open_stages = [s for s in pipeline.ordered_stages() if s.kind is d.StageKind.OPEN]
        deals = []
        for n in range(4):
            created = await opps.create_opportunity(opps.CreateOpportunity(
                owner, d.NewOpportunity(f"Deal {n}", Decimal(100), "EUR")), uows())
            if n % 2 == 0:  # half of them meet every open stage's gate but the offer
                due = datetime.now(UTC) + timedelta(days=1)
                done = await act.schedule_activity(act.ScheduleActivity(
                    owner, created.id, d.ActivityKind.CALL, due, "Call"), uows())
                await act.complete_activity(act.CompleteActivity(owner, done.id), uows())
                await act.schedule_activity(act.ScheduleActivity(
                    owner, created.id, d.ActivityKind.CALL, due, "Call"), uows())
                await opps.update_opportunity(opps.UpdateOpportunity(
                    owner, created.id, 1, d.OpportunityPatch(
                        text={"needs": "vans"}, budget_amount=Decimal(50))), uows())
            deals.append(created.id)
        versions = {i: v for i, v in zip(deals, [2, 1, 2, 1], strict=True)}
        outcomes: list[tuple[Any, ...]] = []
        local = random.Random(1208)  # the same moves for both twins
        for step in range(40):
            deal = local.choice(deals)
            target = local.choice(open_stages)
            who = local.choice([owner, owner, admin, stranger])
            version = versions[deal] if local.random() > 0.15 else versions[deal] + 1
            cmd = opps.MoveOpportunity(who, deal, target.id, version)
            try:
                moved = await way(cmd, uows())
            except DomainError as error:
                # NotFound names the twin's id; the others' messages must match exactly.
                told = "" if isinstance(error, NotFoundError) else error.message
                outcomes.append((step, type(error).__name__, told))
            else:
                versions[deal] = moved.version
                outcomes.append((step, moved.stage_id == target.id, moved.version,
                                 moved.probability))
        for i, deal in enumerate(deals):
            held = await read(uows, lambda r, o=org, x=deal: r.opportunity(o, x))  # type: ignore[misc]
            history = await read(uows, lambda r, o=org, x=deal: r.history(o, x))  # type: ignore[misc]
            assert held is not None
            outcomes.append((i, held.version, [s.name for s in open_stages
                                               if s.id == held.stage_id],
                             [(c.from_stage_id in {s.id for s in open_stages}) for c in history],
                             len(history)))
        results.append(outcomes)
    assert any(o[1] is True for o in results[0] if len(o) == 4)
    assert any(o[1] == "GateNotSatisfiedError" for o in results[0] if len(o) == 3)
    assert results[0] == results[1]

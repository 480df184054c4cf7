"""The funnel projection's rules, without IO: contributions, deltas, assembly."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.reporting.domain.funnel import (
    Counters,
    FunnelKey,
    FunnelRow,
    OpportunityFacts,
    Stage,
    assemble_funnel,
    contribution,
    funnel_delta,
    furthest_stage,
)
from services.reporting.domain.money import Rates
from services.reporting.domain.opportunities import (
    OpportunityChange,
    OpportunityState,
    next_state,
)

PIPELINE = uuid.uuid4()
STAGES = [
    Stage(uuid.uuid4(), "Identification", 1, 10, "open"),
    Stage(uuid.uuid4(), "Qualification", 2, 25, "open"),
    Stage(uuid.uuid4(), "Offer", 3, 50, "open"),
    Stage(uuid.uuid4(), "Negotiation", 4, 75, "open"),
    Stage(uuid.uuid4(), "Won", 5, 100, "won"),
    Stage(uuid.uuid4(), "Lost", 6, 0, "lost"),
]
IDENT, QUAL, OFFER, NEGO, WON, LOST = STAGES
OWNER = uuid.uuid4()


def facts(stage: Stage = IDENT, **changes: object) -> OpportunityFacts:
    values: dict[str, object] = {
        "pipeline_id": PIPELINE, "stage_id": stage.id, "status": "open",
        "stage_kind": stage.kind, "owner_id": OWNER, "team": "alpha", "currency": "EUR",
        "amount": Decimal("1000"), "probability": stage.probability,
        "expected_close_date": date(2026, 3, 14), "furthest_stage_id": stage.id,
    }
    values.update(changes)
    return OpportunityFacts(**values)  # type: ignore[arg-type]


def total(rows: dict[FunnelKey, Counters]) -> Counters:
    result = Counters()
    for counters in rows.values():
        result = result + counters
    return result


def test_an_open_opportunity_counts_in_its_stage_with_its_weighted_amount() -> None:
    rows = contribution(facts(OFFER, probability=40))
    (key, counters), = rows.items()
    assert key.stage_id == OFFER.id and key.close_date == date(2026, 3, 14)
    assert counters == Counters(count=1, amount=Decimal(1000), weighted=Decimal(400), reached=1)


def test_a_lost_opportunity_counts_in_the_lost_stage_and_keeps_its_furthest_progress() -> None:
    rows = contribution(facts(LOST, status="lost", furthest_stage_id=NEGO.id))
    assert rows[next(k for k in rows if k.stage_id == LOST.id)].count == 1
    assert rows[next(k for k in rows if k.stage_id == NEGO.id)] == Counters(reached=1)


def test_a_closed_opportunity_left_in_an_open_stage_counts_nowhere_as_open() -> None:
    rows = contribution(facts(OFFER, status="lost"))
    assert total(rows).count == 0 and total(rows).reached == 1


def test_a_stage_move_shifts_one_opportunity_between_two_stages() -> None:
    delta = funnel_delta(facts(QUAL), facts(OFFER))
    by_stage = {k.stage_id: c for k, c in delta.items()}
    assert by_stage[QUAL.id].count == -1 and by_stage[QUAL.id].reached == -1
    assert by_stage[OFFER.id].count == 1 and by_stage[OFFER.id].reached == 1


def test_no_change_moves_nothing_and_creation_adds_exactly_the_contribution() -> None:
    assert funnel_delta(facts(), facts()) == {}
    assert funnel_delta(None, facts()) == contribution(facts())


def test_deltas_applied_in_sequence_always_equal_the_final_contribution() -> None:
    rng = random.Random(7)
    aggregate: dict[FunnelKey, Counters] = {}
    previous = None
    for _ in range(500):
        stage = rng.choice(STAGES)
        status = {"open": "open", "won": "won", "lost": "lost"}[stage.kind]
        current = facts(
            stage, status=status, amount=Decimal(rng.randint(1, 9000)),
            currency=rng.choice(["EUR", "USD"]), owner_id=rng.choice([OWNER, uuid.uuid4()]),
            expected_close_date=rng.choice([None, date(2026, rng.randint(1, 12), 5)]),
            furthest_stage_id=rng.choice([None, stage.id, NEGO.id]),
        )
        for key, counters in funnel_delta(previous, current).items():
            aggregate[key] = aggregate.get(key, Counters()) + counters
        previous = current
    expected = contribution(previous)
    assert {k: c for k, c in aggregate.items() if not c.is_zero} == expected


def test_furthest_stage_ignores_lost_and_unknown_stages() -> None:
    assert furthest_stage([IDENT.id, OFFER.id, LOST.id], STAGES) == OFFER.id
    assert furthest_stage([uuid.uuid4()], STAGES) is None
    assert furthest_stage([LOST.id], STAGES) is None


def test_conversion_counts_opportunities_that_got_at_least_as_far() -> None:
    rows = [
        FunnelRow(IDENT.id, "EUR", Counters(count=4, amount=Decimal(400), reached=4)),
        FunnelRow(QUAL.id, "EUR", Counters(count=2, amount=Decimal(200), reached=2)),
        FunnelRow(QUAL.id, "USD", Counters(count=1, amount=Decimal(50), reached=1)),
        FunnelRow(WON.id, "EUR", Counters(count=3, amount=Decimal(300), reached=3)),
    ]
    funnel = {s.stage.name: s for s in assemble_funnel(STAGES, rows, None)}
    assert funnel["Identification"].reached == 10
    assert funnel["Identification"].conversion_rate == 6 / 10
    assert funnel["Qualification"].conversion_rate == 3 / 6
    assert funnel["Offer"].conversion_rate == 1.0
    assert funnel["Negotiation"].conversion_rate == 1.0
    assert funnel["Won"].conversion_rate is None and funnel["Lost"].conversion_rate is None
    amounts = {m.currency: m.amount for m in funnel["Qualification"].amounts.by_currency}
    assert amounts == {"EUR": Decimal(200), "USD": Decimal(50)}


def test_an_empty_funnel_has_no_rates() -> None:
    funnel = assemble_funnel(STAGES, [], Rates("EUR"))
    assert all(s.count == 0 and s.conversion_rate is None for s in funnel)
    assert [s.stage.position for s in funnel] == [1, 2, 3, 4, 5, 6]


def change(version: int, stage: Stage, **values: object) -> OpportunityChange:
    fields: dict[str, object] = {
        "version": version,
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=version),
        "opportunity_id": OPP, "name": "Deal", "pipeline_id": PIPELINE, "stage_id": stage.id,
        "stage_kind": stage.kind, "status": "open" if stage.kind == "open" else stage.kind,
        "owner_id": OWNER, "team": "alpha", "account_id": None, "amount": Decimal(100),
        "currency": "EUR", "probability": stage.probability, "expected_close_date": None,
        "created_at": None,
    }
    fields.update(values)
    return OpportunityChange(**fields)  # type: ignore[arg-type]


OPP = uuid.uuid4()


def fold(changes: list[OpportunityChange]) -> OpportunityState | None:
    state = None
    for c in changes:
        state = next_state(state, c, STAGES)
    return state


def test_any_delivery_order_with_duplicates_ends_in_the_newest_state() -> None:
    history = [
        change(1, IDENT),
        change(2, QUAL, from_stage_id=IDENT.id),
        change(3, QUAL, amount=Decimal(250)),
        change(4, OFFER, from_stage_id=QUAL.id),
        change(5, LOST, from_stage_id=OFFER.id, closing="closed",
               close_reason_label="Price", closed_at=datetime(2026, 2, 1, tzinfo=UTC)),
    ]
    expected = fold(history)
    assert expected is not None
    assert expected.status == "lost" and expected.furthest_stage_id == OFFER.id
    assert expected.close_reason_label == "Price" and expected.amount == Decimal(100)
    rng = random.Random(3)
    for _ in range(50):
        delivered = history + rng.sample(history, 2)
        rng.shuffle(delivered)
        assert fold(delivered) == expected


def test_reopening_clears_the_close_and_keeps_created_at() -> None:
    state = fold([
        change(1, NEGO, created_at=datetime(2025, 12, 1, tzinfo=UTC)),
        change(2, WON, closing="closed", closed_at=datetime(2026, 1, 3, tzinfo=UTC)),
        change(3, NEGO, closing="reopened", from_stage_id=WON.id),
    ])
    assert state is not None
    assert state.closed_at is None and state.status == "open"
    assert state.created_at == datetime(2025, 12, 1, tzinfo=UTC)
    assert state.furthest_stage_id == WON.id

"""A stand-in for the pipeline service: random operations on opportunities and activities,
published as the pipeline's contract events exactly as its outbox would, with the truth
(the figures the funnel must show) computed independently from the simulated state."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from crmkit.contracts import Envelope, Event
from crmkit.contracts import pipeline as ev

STAGE_SPECS = [
    ("Identification", 10, "open"),
    ("Qualification", 25, "open"),
    ("Offer", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]


@dataclass
class SimStage:
    id: uuid.UUID
    name: str
    position: int
    probability: int
    kind: str


@dataclass
class SimOpportunity:
    id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    team: str
    stage: SimStage
    status: str
    amount: Decimal
    currency: str
    close: date | None
    created_at: datetime
    version: int = 1
    visited: set[uuid.UUID] = field(default_factory=set)


@dataclass
class SimActivity:
    id: uuid.UUID
    opportunity_id: uuid.UUID
    owner_id: uuid.UUID
    team: str
    kind: str
    due_at: datetime
    status: str = "open"
    version: int = 1


@dataclass
class Truth:
    """What the funnel must show, per stage name."""

    count: dict[str, int]
    amounts: dict[str, dict[str, Decimal]]
    weighted: dict[str, dict[str, Decimal]]
    reached: dict[str, int]


class PipelineSimulator:
    def __init__(self, org_id: uuid.UUID, seed: int, owners: list[tuple[uuid.UUID, str]]):
        self.org_id = org_id
        self.rng = random.Random(seed)
        self.owners = owners
        self.pipeline_id = uuid.uuid4()
        self.stages = [
            SimStage(uuid.uuid4(), name, i + 1, p, kind)
            for i, (name, p, kind) in enumerate(STAGE_SPECS)
        ]
        self.opportunities: dict[uuid.UUID, SimOpportunity] = {}
        self.activities: dict[uuid.UUID, SimActivity] = {}
        self.clock = datetime(2026, 1, 5, 9, tzinfo=UTC)

    # --- events -----------------------------------------------------------------------------

    def _tick(self) -> datetime:
        self.clock += timedelta(minutes=self.rng.randint(1, 600))
        return self.clock

    def _envelope(self, event: Event, aggregate_id: uuid.UUID, version: int) -> Envelope:
        return Envelope.wrap(event, org_id=self.org_id, aggregate_id=aggregate_id,
                             aggregate_version=version, occurred_at=self._tick())

    def configure(self) -> Envelope:
        event = ev.PipelineConfigured(
            pipeline_id=self.pipeline_id, name="Sales", is_default=True,
            stages=[ev.StageDefinition(id=s.id, name=s.name, position=s.position,
                                       probability=s.probability, kind=s.kind)  # type: ignore[arg-type]
                    for s in self.stages],
        )
        return self._envelope(event, self.pipeline_id, 1)

    def _snapshot(self, o: SimOpportunity) -> dict[str, object]:
        return {
            "opportunity_id": o.id, "name": o.name, "owner_id": o.owner_id, "team": o.team,
            "pipeline_id": self.pipeline_id, "stage_id": o.stage.id, "stage_name": o.stage.name,
            "stage_kind": o.stage.kind, "status": o.status, "amount": o.amount,
            "currency": o.currency, "probability": o.stage.probability,
            "expected_close_date": o.close, "created_at": o.created_at,
        }

    def create(self) -> Envelope:
        owner, team = self.rng.choice(self.owners)
        stage = self.stages[0]
        o = SimOpportunity(
            id=uuid.uuid4(), name=f"Deal {len(self.opportunities) + 1}", owner_id=owner,
            team=team, stage=stage, status="open",
            amount=Decimal(self.rng.randint(100, 90_000)) + Decimal("0.50"),
            currency=self.rng.choice(["EUR", "EUR", "USD", "PLN"]),
            close=self.rng.choice([None, date(2026, self.rng.randint(1, 12),
                                              self.rng.randint(1, 28))]),
            created_at=self.clock,
        )
        o.visited.add(stage.id)
        self.opportunities[o.id] = o
        return self._envelope(ev.OpportunityCreated(**self._snapshot(o)), o.id, 1)  # type: ignore[arg-type]

    def _open(self) -> SimOpportunity | None:
        candidates = [o for o in self.opportunities.values() if o.status == "open"]
        return self.rng.choice(candidates) if candidates else None

    def move(self) -> Envelope | None:
        o = self._open()
        if o is None:
            return None
        open_stages = [s for s in self.stages if s.kind == "open" and s.id != o.stage.id]
        target = self.rng.choice(open_stages)
        source = o.stage
        o.stage, o.version = target, o.version + 1
        o.visited.add(target.id)
        event = ev.OpportunityStageChanged(
            **self._snapshot(o), from_stage_id=source.id, to_stage_id=target.id,  # type: ignore[arg-type]
            entered_at=self.clock, seconds_in_previous_stage=60,
        )
        return self._envelope(event, o.id, o.version)

    def update(self) -> Envelope | None:
        o = self._open()
        if o is None:
            return None
        o.amount = Decimal(self.rng.randint(100, 90_000))
        o.currency = self.rng.choice(["EUR", "USD"])
        o.close = date(2026, self.rng.randint(1, 12), self.rng.randint(1, 28))
        o.version += 1
        event = ev.OpportunityUpdated(**self._snapshot(o), changed=["amount"])  # type: ignore[arg-type]
        return self._envelope(event, o.id, o.version)

    def close(self, won: bool) -> Envelope | None:
        o = self._open()
        if o is None:
            return None
        source = o.stage
        o.stage = self.stages[4] if won else self.stages[5]
        o.status = "won" if won else "lost"
        o.version += 1
        o.visited.add(o.stage.id)
        closed_at = self.clock
        if won:
            event: Event = ev.OpportunityWon(**self._snapshot(o), from_stage_id=source.id,  # type: ignore[arg-type]
                                             closed_at=closed_at)
        else:
            event = ev.OpportunityLost(
                **self._snapshot(o), from_stage_id=source.id, close_reason_id=uuid.uuid4(),  # type: ignore[arg-type]
                close_reason_label=self.rng.choice(["Price", "Timing", "Competitor"]),
                closed_at=closed_at,
            )
        return self._envelope(event, o.id, o.version)

    def reopen(self) -> Envelope | None:
        closed = [o for o in self.opportunities.values() if o.status != "open"]
        if not closed:
            return None
        o = self.rng.choice(closed)
        previous, source = o.status, o.stage
        o.stage, o.status, o.version = self.stages[3], "open", o.version + 1
        o.visited.add(o.stage.id)
        event = ev.OpportunityReopened(
            **self._snapshot(o), previous_status=previous, from_stage_id=source.id,  # type: ignore[arg-type]
            reopened_at=self.clock,
        )
        return self._envelope(event, o.id, o.version)

    def _activity(self, a: SimActivity, cls: type[ev.ActivitySnapshot]) -> Envelope:
        event = cls(
            activity_id=a.id, opportunity_id=a.opportunity_id, owner_id=a.owner_id,
            team=a.team, kind=a.kind, subject=f"{a.kind} about it", due_at=a.due_at,  # type: ignore[arg-type]
            status=a.status, completed_at=self.clock if a.status == "done" else None,  # type: ignore[arg-type]
        )
        return self._envelope(event, a.id, a.version)

    def schedule(self) -> Envelope | None:
        o = self._open()
        if o is None:
            return None
        a = SimActivity(uuid.uuid4(), o.id, o.owner_id, o.team,
                        self.rng.choice(["call", "email", "meeting", "task"]),
                        self.clock + timedelta(days=self.rng.randint(-3, 10)))
        self.activities[a.id] = a
        return self._activity(a, ev.ActivityScheduled)

    def complete(self) -> Envelope | None:
        pending = [a for a in self.activities.values() if a.status == "open"]
        if not pending:
            return None
        a = self.rng.choice(pending)
        a.status, a.version = "done", a.version + 1
        return self._activity(a, ev.ActivityCompleted)

    def random_operations(self, count: int) -> list[Envelope]:
        operations = [
            (self.create, 4), (self.move, 5), (self.update, 2), (lambda: self.close(True), 1),
            (lambda: self.close(False), 1), (self.reopen, 1), (self.schedule, 2),
            (self.complete, 1),
        ]
        functions = [f for f, _ in operations]
        weights = [w for _, w in operations]
        events: list[Envelope] = []
        while len(events) < count:
            envelope = self.rng.choices(functions, weights)[0]()
            if envelope is not None:
                events.append(envelope)
        return events

    # --- truth ------------------------------------------------------------------------------

    def truth(
        self,
        owner_id: uuid.UUID | None = None,
        close_from: date | None = None,
        close_to: date | None = None,
    ) -> Truth:
        names = [s.name for s in self.stages]
        count = dict.fromkeys(names, 0)
        amounts: dict[str, dict[str, Decimal]] = {n: {} for n in names}
        weighted: dict[str, dict[str, Decimal]] = {n: {} for n in names}
        furthest_position: list[int] = []
        for o in self.opportunities.values():
            if owner_id is not None and o.owner_id != owner_id:
                continue
            if close_from is not None and (o.close is None or o.close < close_from):
                continue
            if close_to is not None and (o.close is None or o.close > close_to):
                continue
            in_stage = (o.status == "open") == (o.stage.kind == "open")
            if in_stage:
                count[o.stage.name] += 1
                per = amounts[o.stage.name]
                per[o.currency] = per.get(o.currency, Decimal(0)) + o.amount
                per_w = weighted[o.stage.name]
                per_w[o.currency] = (per_w.get(o.currency, Decimal(0))
                                     + o.amount * o.stage.probability / 100)
            positions = [s.position for s in self.stages if s.id in o.visited and s.kind != "lost"]
            furthest_position.append(max(positions))
        reached = {
            s.name: sum(1 for p in furthest_position if p >= s.position)
            for s in self.stages if s.kind != "lost"
        }
        return Truth(count, amounts, weighted, reached)

"""Contract events of one org's sales, built by hand: what the handler tests and the
repository contract suite feed the projection with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from crmkit.contracts import Envelope, Event
from crmkit.contracts import documents as doc_events
from crmkit.contracts import leads as lead_events
from crmkit.contracts import pipeline as ev
from services.reporting.domain.funnel import Stage

STAGES = [
    Stage(uuid.uuid4(), "Identification", 1, 10, "open"),
    Stage(uuid.uuid4(), "Qualification", 2, 25, "open"),
    Stage(uuid.uuid4(), "Offer", 3, 50, "open"),
    Stage(uuid.uuid4(), "Won", 4, 100, "won"),
    Stage(uuid.uuid4(), "Lost", 5, 0, "lost"),
]
IDENT, QUAL, OFFER, WON, LOST = STAGES
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
PRICE = uuid.uuid4()  # the lost reason


@dataclass
class Deals:
    """Events of one org and pipeline. Opportunities default to Ann's (team alpha), 1000 EUR,
    created at ``T0``."""

    org: uuid.UUID = field(default_factory=uuid.uuid4)
    pipeline: uuid.UUID = field(default_factory=uuid.uuid4)
    ann: uuid.UUID = field(default_factory=uuid.uuid4)

    def wrap(self, event: Event, aggregate: uuid.UUID, version: int,
             at: datetime = T0) -> Envelope:
        return Envelope.wrap(event, org_id=self.org, aggregate_id=aggregate,
                             aggregate_version=version, occurred_at=at)

    def configured(self, version: int = 1, stages: list[Stage] = STAGES,
                   **values: Any) -> Envelope:
        event = ev.PipelineConfigured(
            pipeline_id=self.pipeline, name="Sales", is_default=True,
            stages=[ev.StageDefinition(id=s.id, name=s.name, position=s.position,
                                       probability=s.probability, kind=s.kind)  # type: ignore[arg-type]
                    for s in stages],
            **values,
        )
        return self.wrap(event, self.pipeline, version)

    def snapshot(self, opp: uuid.UUID, stage: Stage, *, owner: uuid.UUID | None = None,
                 team: str = "alpha", amount: str = "1000", currency: str = "EUR",
                 close: date | None = None, status: str | None = None,
                 created: datetime = T0) -> dict[str, Any]:
        return {
            "opportunity_id": opp, "name": f"Deal {opp.hex[:6]}", "owner_id": owner or self.ann,
            "team": team, "pipeline_id": self.pipeline, "stage_id": stage.id,
            "stage_name": stage.name, "stage_kind": stage.kind, "status": status or stage.kind,
            "amount": Decimal(amount), "currency": currency, "probability": stage.probability,
            "expected_close_date": close, "created_at": created,
        }

    def created(self, opp: uuid.UUID, stage: Stage = IDENT, **values: Any) -> Envelope:
        return self.wrap(ev.OpportunityCreated(**self.snapshot(opp, stage, **values)), opp, 1)

    def moved(self, opp: uuid.UUID, version: int, source: Stage, target: Stage,
              at: datetime = T0, **values: Any) -> Envelope:
        return self.wrap(ev.OpportunityStageChanged(
            **self.snapshot(opp, target, **values), from_stage_id=source.id,
            to_stage_id=target.id, entered_at=at, seconds_in_previous_stage=60,
        ), opp, version, at)

    def closed(self, opp: uuid.UUID, version: int, source: Stage, *, won: bool,
               at: datetime, **values: Any) -> Envelope:
        if won:
            event: Event = ev.OpportunityWon(**self.snapshot(opp, WON, **values),
                                             from_stage_id=source.id, closed_at=at)
        else:
            event = ev.OpportunityLost(**self.snapshot(opp, LOST, **values),
                                       from_stage_id=source.id, close_reason_id=PRICE,
                                       close_reason_label="Price", closed_at=at)
        return self.wrap(event, opp, version, at)

    def reopened(self, opp: uuid.UUID, version: int, source: Stage, target: Stage,
                 at: datetime, **values: Any) -> Envelope:
        return self.wrap(ev.OpportunityReopened(
            **self.snapshot(opp, target, status="open", **values), previous_status="lost",
            from_stage_id=source.id, reopened_at=at,
        ), opp, version, at)

    def activity(self, opp: uuid.UUID, kind: str, due: datetime, *,
                 owner: uuid.UUID | None = None, done_at: datetime | None = None,
                 activity_id: uuid.UUID | None = None, version: int = 1) -> Envelope:
        values: dict[str, Any] = {
            "activity_id": activity_id or uuid.uuid4(), "opportunity_id": opp,
            "owner_id": owner or self.ann, "team": "alpha", "kind": kind, "subject": kind,
            "due_at": due, "status": "open",
        }
        if done_at is not None:
            values.update(status="done", completed_at=done_at)
            return self.wrap(ev.ActivityCompleted(**values), values["activity_id"], version)
        return self.wrap(ev.ActivityScheduled(**values), values["activity_id"], version)

    def assigned(self, lead: uuid.UUID, *, cap: int | None = 9, status: str = "ASSIGNED",
                 owner: uuid.UUID | None = None, version: int = 2) -> Envelope:
        return self.wrap(lead_events.LeadAssigned(
            lead_id=lead, owner_id=owner or self.ann, team="alpha", owner_lead_cap=cap,
            assigned_by=owner or self.ann, status=status,  # type: ignore[arg-type]
        ), lead, version)

    def member(self, member: uuid.UUID, name: str | None, cap: int = 5,
               version: int = 1) -> Envelope:
        return self.wrap(lead_events.MemberUpdated(member_id=member, lead_cap=cap, name=name),
                         member, version)

    def offer(self, opp: uuid.UUID, issued_at: datetime | None,
              at: datetime = T0) -> Envelope:
        offer = uuid.uuid4()
        return self.wrap(doc_events.OfferIssued(offer_id=offer, opportunity_id=opp,
                                                issued_at=issued_at), offer, 1, at)

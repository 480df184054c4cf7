"""The opportunity read model: each opportunity's latest state, kept from the pipeline's
events whatever order they arrive in, and its history of versions.

Events carry the whole opportunity, so the newest version wins; an older one arriving late
changes nothing but the set of visited stages (a set union, so order does not matter).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from crmkit.rows import build
from services.reporting.domain.funnel import (
    FunnelDelta,
    OpportunityFacts,
    Stage,
    funnel_delta,
    furthest_stage,
)

OpportunityRef = tuple[uuid.UUID, uuid.UUID]
"""``(org, opportunity)``; also ``(org, pipeline)`` for a pipeline's stages."""

Closing = Literal["closed", "reopened"]


@dataclass(frozen=True, slots=True)
class OpportunityChange:
    """One opportunity event, reduced to what the read model keeps."""

    version: int
    occurred_at: datetime
    opportunity_id: uuid.UUID
    name: str
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage_kind: str
    status: str
    owner_id: uuid.UUID
    team: str | None
    account_id: uuid.UUID | None
    amount: Decimal
    currency: str
    probability: int
    expected_close_date: date | None
    created_at: datetime | None
    from_stage_id: uuid.UUID | None = None
    # "closed" (won/lost: closed_at and reason given), "reopened", or None (keep as is).
    closing: Closing | None = None
    closed_at: datetime | None = None
    close_reason_id: uuid.UUID | None = None
    close_reason_label: str | None = None


@dataclass(frozen=True, slots=True)
class OpportunityState:
    """One row of the opportunity read table."""

    opportunity_id: uuid.UUID
    name: str
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage_kind: str
    status: str
    owner_id: uuid.UUID
    team: str | None
    account_id: uuid.UUID | None
    amount: Decimal
    currency: str
    probability: int
    expected_close_date: date | None
    created_at: datetime
    closed_at: datetime | None
    close_reason_id: uuid.UUID | None
    close_reason_label: str | None
    visited_stage_ids: frozenset[uuid.UUID]
    furthest_stage_id: uuid.UUID | None
    version: int
    changed_at: datetime

    @property
    def facts(self) -> OpportunityFacts:
        return build(OpportunityFacts, self)


def next_state(
    old: OpportunityState | None, change: OpportunityChange, stages: Sequence[Stage]
) -> OpportunityState:
    """The read-model row after ``change``, whatever order events arrive in."""
    visited = {change.stage_id}
    if change.from_stage_id is not None:
        visited.add(change.from_stage_id)
    if old is not None:
        visited |= old.visited_stage_ids
    # Creation time: the earliest any event tells (events without it give their own time).
    created_at = change.created_at or change.occurred_at
    if old is not None:
        created_at = min(created_at, old.created_at)
    if old is not None and old.version >= change.version:
        return replace(
            old,
            created_at=created_at,
            visited_stage_ids=frozenset(visited),
            furthest_stage_id=furthest_stage(visited, stages) or old.furthest_stage_id,
        )
    closed_at, reason_id, reason_label = _closing(old, change)
    return build(
        OpportunityState, change,
        created_at=created_at,
        closed_at=closed_at,
        close_reason_id=reason_id,
        close_reason_label=reason_label,
        visited_stage_ids=frozenset(visited),
        furthest_stage_id=furthest_stage(visited, stages),
        changed_at=change.occurred_at,
    )


def _closing(
    old: OpportunityState | None, change: OpportunityChange
) -> tuple[datetime | None, uuid.UUID | None, str | None]:
    if change.closing == "closed":
        return change.closed_at or change.occurred_at, change.close_reason_id, (
            change.close_reason_label
        )
    if change.status == "open" or old is None:
        return None, None, None
    return old.closed_at, old.close_reason_id, old.close_reason_label


@dataclass(frozen=True, slots=True)
class RunApplied:
    """What a run of opportunity events changes: the rows to write (each opportunity once,
    by ``(org, opportunity)``) and the aggregate's deltas (``(org, delta)``, in order)."""

    changed: dict[OpportunityRef, OpportunityState]
    deltas: list[tuple[uuid.UUID, FunnelDelta]]


def apply_run(
    states: Mapping[OpportunityRef, OpportunityState],
    changes: Sequence[tuple[uuid.UUID, OpportunityChange]],
    stages: Mapping[OpportunityRef, Sequence[Stage]],
) -> RunApplied:
    """Fold ``(org, change)`` events in order into the rows they were read with (``states``;
    an opportunity may appear several times), with each pipeline's ``stages``."""
    current = dict(states)
    changed: dict[OpportunityRef, OpportunityState] = {}
    deltas: list[tuple[uuid.UUID, FunnelDelta]] = []
    for org, change in changes:
        ref = (org, change.opportunity_id)
        old = current.get(ref)
        new = next_state(old, change, stages.get((org, change.pipeline_id), ()))
        # The furthest stage only moves when the event shows a stage not visited before.
        shown = {change.stage_id} | ({change.from_stage_id} if change.from_stage_id else set())
        if old is not None and shown <= old.visited_stage_ids:
            new = replace(new, furthest_stage_id=old.furthest_stage_id)
        if new == old:
            continue
        deltas.append((org, funnel_delta(old.facts if old else None, new.facts)))
        current[ref] = changed[ref] = new
    return RunApplied(changed, deltas)


@dataclass(frozen=True, slots=True)
class OpportunityVersion:
    """An opportunity as one of its versions left it (the history ``asOf`` reads), with the
    stages it had visited by then."""

    opportunity_id: uuid.UUID
    version: int
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage_kind: str
    status: str
    owner_id: uuid.UUID
    team: str | None
    amount: Decimal
    currency: str
    probability: int
    expected_close_date: date | None
    visited_stage_ids: frozenset[uuid.UUID]

    def facts(self, stages: Sequence[Stage]) -> OpportunityFacts:
        return OpportunityFacts(
            pipeline_id=self.pipeline_id, stage_id=self.stage_id, status=self.status,
            stage_kind=self.stage_kind, owner_id=self.owner_id, team=self.team,
            currency=self.currency, amount=self.amount, probability=self.probability,
            expected_close_date=self.expected_close_date,
            furthest_stage_id=furthest_stage(self.visited_stage_ids, stages),
        )

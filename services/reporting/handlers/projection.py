"""Events into the read tables: one projector per kind of event, each idempotent and safe
under reordering across aggregates (every read row keeps its aggregate's ``version``).

Two ways in, one result: :func:`project` applies one event in its own unit of work;
:func:`project_batch`, the inbox consumers' fast path, applies a pulled batch in one, each run
of consecutive opportunity events together: one round trip takes every lock of the batch, one
records the versions and reads the rows, one reads the stages, and after the run is folded in
memory one writes the rows and the funnel's deltas. ``tests/integration/reporting/
test_repository.py`` holds the two to the same tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from crmkit.contracts import Envelope, Event
from crmkit.contracts import documents as doc_events
from crmkit.contracts import leads as lead_events
from crmkit.contracts import pipeline as pipe_events
from crmkit.rows import build
from services.reporting.domain.funnel import Stage
from services.reporting.domain.opportunities import OpportunityChange, apply_run
from services.reporting.domain.records import (
    ERASED,
    ActivityRecord,
    LeadRecord,
    MemberRecord,
    OfferRecord,
    PipelineConfiguration,
)
from services.reporting.events import ACTIVITY_EVENTS, LEAD_EVENTS, OPPORTUNITY_EVENTS
from services.reporting.handlers.common import Work
from services.reporting.ports import ReportingRepository

Projector = Callable[[Envelope, ReportingRepository], Awaitable[None]]
"""Applies one event inside a unit of work, taking the locks it needs."""

OpportunityEvent = tuple[uuid.UUID, OpportunityChange]
"""``(org, change)``"""


async def project(envelope: Envelope, uow: Work) -> bool:
    """Apply one event in its own unit of work; False when reporting does not read it."""
    projector = PROJECTORS.get(envelope.type)
    if projector is None:
        return False
    async with uow:
        await projector(envelope, uow.repo)
        await uow.commit()
    return True


async def project_batch(envelopes: Sequence[Envelope], uow: Work) -> None:
    """Apply a pulled batch in order, in one unit of work: every lock of its opportunity
    events first (one sorted order, so two replicas never deadlock), then each run of
    consecutive opportunity events together and the other events one by one."""
    parsed = [
        (envelope, _opportunity_event(envelope) if envelope.type in _OPPORTUNITY else None)
        for envelope in envelopes
    ]
    async with uow:
        repo = uow.repo
        await _lock([event for _, event in parsed if event is not None], repo)
        run: list[OpportunityEvent] = []
        for envelope, event in parsed:
            if event is not None:
                run.append(event)
                continue
            if run:
                await _apply_run(run, repo)
                run = []
            projector = PROJECTORS.get(envelope.type)
            if projector is not None:
                await projector(envelope, repo)
        if run:
            await _apply_run(run, repo)
        await uow.commit()


async def compact_funnel(uow: Work) -> int:
    """Fold pending funnel deltas into the totals (queries read both, so this is for their
    cost, not their correctness): the number of total rows moved."""
    async with uow:
        moved = await uow.repo.compact_funnel()
        await uow.commit()
    return moved


# --- the projectors ---------------------------------------------------------------------------


async def project_pipeline(envelope: Envelope, repo: ReportingRepository) -> None:
    """A pipeline's configuration: its stages, and its opportunities' figures recomputed."""
    event = envelope.parse(pipe_events.PipelineConfigured)
    org = envelope.org_id
    await repo.lock_projection()
    await repo.lock_pipeline(org, event.pipeline_id)
    if await repo.pipeline_version(org, event.pipeline_id) >= envelope.aggregate_version:
        return
    await repo.save_pipeline(org, PipelineConfiguration(
        pipeline_id=event.pipeline_id,
        name=event.name,
        is_default=event.is_default,
        version=envelope.aggregate_version,
        stages=[Stage(s.id, s.name, s.position, s.probability, s.kind) for s in event.stages],
        removed_stage_ids=event.removed_stage_ids,
        moved_opportunities_to=event.moved_opportunities_to,
    ))
    await repo.recompute_pipeline(org, event.pipeline_id)


async def project_opportunity(envelope: Envelope, repo: ReportingRepository) -> None:
    """An opportunity event: its row, its version and the funnel's delta."""
    event = _opportunity_event(envelope)
    await _lock([event], repo)
    await _apply_run([event], repo)


async def _lock(events: list[OpportunityEvent], repo: ReportingRepository) -> None:
    await repo.lock_opportunities(
        [(org, change.pipeline_id, change.opportunity_id) for org, change in events]
    )


async def _apply_run(run: list[OpportunityEvent], repo: ReportingRepository) -> None:
    """Opportunity events whose locks are held, in order: read, fold in memory, write."""
    pipelines = sorted({(org, change.pipeline_id) for org, change in run})
    states, stages = await repo.record_versions_and_load(run, pipelines)
    applied = apply_run(states, run, stages)
    if applied.changed:
        await repo.save_opportunities(
            [(org, state) for (org, _), state in applied.changed.items()], applied.deltas
        )


def _opportunity_event(envelope: Envelope) -> OpportunityEvent:
    snap = envelope.parse(_OPPORTUNITY[envelope.type])
    from_stage_id: uuid.UUID | None = None
    closed_at: datetime | None = None
    reason_id: uuid.UUID | None = None
    reason_label: str | None = None
    if isinstance(snap, pipe_events.OpportunityWon | pipe_events.OpportunityLost):
        closed_at, reason_id, reason_label = (
            snap.closed_at, snap.close_reason_id, snap.close_reason_label
        )
    if isinstance(snap, pipe_events.OpportunityStageChanged | pipe_events.OpportunityWon
                  | pipe_events.OpportunityLost | pipe_events.OpportunityReopened):
        from_stage_id = snap.from_stage_id
    return envelope.org_id, build(
        OpportunityChange, snap,
        version=envelope.aggregate_version,
        occurred_at=envelope.occurred_at,
        from_stage_id=from_stage_id,
        closing=("closed" if closed_at is not None
                 else "reopened" if isinstance(snap, pipe_events.OpportunityReopened)
                 else None),
        closed_at=closed_at,
        close_reason_id=reason_id,
        close_reason_label=reason_label,
    )


async def project_activity(envelope: Envelope, repo: ReportingRepository) -> None:
    activity = envelope.parse(_ACTIVITY[envelope.type])
    await repo.lock_projection()
    await repo.save_activity(envelope.org_id, build(
        ActivityRecord, activity, version=envelope.aggregate_version))


async def project_lead(envelope: Envelope, repo: ReportingRepository) -> None:
    lead = envelope.parse(_LEAD[envelope.type])
    await repo.lock_projection()
    await repo.save_lead(envelope.org_id, LeadRecord(
        lead_id=lead.lead_id,
        owner_id=lead.owner_id,
        # A release carries no team: the lead has none once back in the pool.
        team=None if isinstance(lead, lead_events.LeadReleased) else lead.team,
        status=lead.status,
        owner_lead_cap=(lead.owner_lead_cap if isinstance(lead, lead_events.LeadAssigned)
                        else None),
        version=envelope.aggregate_version,
    ))


async def project_lead_erased(envelope: Envelope, repo: ReportingRepository) -> None:
    """An erased lead is held by no one and counts nowhere; its row stays, without owner,
    as a tombstone, so that an older event of it redelivered late cannot bring it back."""
    erased = envelope.parse(lead_events.LeadErased)
    await repo.lock_projection()
    await repo.save_lead(envelope.org_id, LeadRecord(
        lead_id=erased.lead_id, owner_id=None, team=None, status=ERASED, owner_lead_cap=None,
        version=envelope.aggregate_version,
    ))


async def project_member(envelope: Envelope, repo: ReportingRepository) -> None:
    member = envelope.parse(lead_events.MemberUpdated)
    await repo.lock_projection()
    await repo.save_member(envelope.org_id, build(
        MemberRecord, member, version=envelope.aggregate_version))


async def project_offer(envelope: Envelope, repo: ReportingRepository) -> None:
    offer = envelope.parse(doc_events.OfferIssued)
    await repo.lock_projection()
    await repo.save_offer(envelope.org_id, OfferRecord(
        offer_id=offer.offer_id,
        opportunity_id=offer.opportunity_id,
        issued_at=offer.issued_at or envelope.occurred_at,
        version=envelope.aggregate_version,
    ))


E = TypeVar("E", bound=Event)


def _by_type(family: tuple[type[E], ...]) -> dict[str, type[E]]:
    return {cls.TYPE: cls for cls in family}


_OPPORTUNITY = _by_type(OPPORTUNITY_EVENTS)
_ACTIVITY = _by_type(ACTIVITY_EVENTS)
_LEAD = _by_type(LEAD_EVENTS)

PROJECTORS: dict[str, Projector] = {
    pipe_events.PipelineConfigured.TYPE: project_pipeline,
    **dict.fromkeys(_OPPORTUNITY, project_opportunity),
    **dict.fromkeys(_ACTIVITY, project_activity),
    **dict.fromkeys(_LEAD, project_lead),
    lead_events.LeadErased.TYPE: project_lead_erased,
    lead_events.MemberUpdated.TYPE: project_member,
    doc_events.OfferIssued.TYPE: project_offer,
}
"""The projector of every event type reporting reads (``events.CONSUMES``)."""

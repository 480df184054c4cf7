"""Applying events to the read tables: one function per event family, all idempotent and safe
under reordering across aggregates (each read row keeps its aggregate's ``version``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import String, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.contracts import Envelope, Event
from crmkit.contracts import documents as doc_events
from crmkit.contracts import leads as lead_events
from crmkit.contracts import pipeline as pipe_events
from services.reporting import repository as repo
from services.reporting import tables as t
from services.reporting.domain import (
    Counters,
    FunnelKey,
    OpportunityChange,
    OpportunityState,
    Stage,
    funnel_delta,
    next_state,
)

# Live projectors take this lock shared for each event; a rebuild takes it exclusively for
# the moment it drains the stream's tail and swaps the schemas, so no event can be applied to
# the old tables after the new ones were read up to the stream's end.
PROJECTION_LOCK = 0x5245504F5254  # "REPORT"

E = TypeVar("E", bound=Event)
Projector = Callable[[Envelope, AsyncSession], Awaitable[None]]


_key = column("_key", String)
_PROJECTION_LOCK_SHARED = select(func.pg_advisory_xact_lock_shared(PROJECTION_LOCK))


# Opportunity events' locks in one round trip: the projection lock shared, then the pipelines'
# shared, then the opportunities' exclusive, each kind's keys sorted.
_RUN_LOCKS = select(
    func.pg_advisory_xact_lock_shared(PROJECTION_LOCK),
    select(func.count(func.pg_advisory_xact_lock_shared(func.hashtextextended(_key, 0))))
    .select_from(func.unnest(bindparam("pipelines", type_=ARRAY(String))).alias("_key"))
    .scalar_subquery(),
    select(func.count(func.pg_advisory_xact_lock(func.hashtextextended(_key, 0))))
    .select_from(func.unnest(bindparam("opportunities", type_=ARRAY(String))).alias("_key"))
    .scalar_subquery(),
)


async def project_batch(envelopes: list[Envelope], session: AsyncSession) -> None:
    """The inbox consumers' batch handler: each run of consecutive opportunity events is
    applied together (a few round trips for the whole run), other events one by one, in the
    batch's order."""
    opportunity_events = [e for e in envelopes if PROJECTORS.get(e.type) is on_opportunity_event]
    # All the batch's locks first, in one sorted order: two replicas never deadlock.
    await _lock_opportunities(
        [(e.org_id, e.payload["pipeline_id"], e.payload["opportunity_id"])
         for e in opportunity_events],
        session,
    )
    run: list[Envelope] = []
    for envelope in envelopes:
        if PROJECTORS.get(envelope.type) is on_opportunity_event:
            run.append(envelope)
            continue
        if run:
            await apply_opportunity_events(run, session, locked=True)
            run = []
        await project(envelope, session)
    if run:
        await apply_opportunity_events(run, session, locked=True)


async def project(envelope: Envelope, session: AsyncSession) -> None:
    """Apply one event holding the projection lock (the opportunity projector takes the lock
    along with its own)."""
    if PROJECTORS.get(envelope.type) not in (None, on_opportunity_event):
        await session.execute(_PROJECTION_LOCK_SHARED)
    await apply_event(envelope, session)


async def apply_event(envelope: Envelope, session: AsyncSession) -> None:
    """Apply one event; events reporting does not read are ignored."""
    projector = PROJECTORS.get(envelope.type)
    if projector is not None:
        await projector(envelope, session)


# --- pipeline ---------------------------------------------------------------------------------


# Consumers apply the messages of a pulled batch concurrently. An opportunity's events take
# its own lock exclusively (one at a time per opportunity) and its pipeline's lock shared; a
# pipeline's reconfiguration, which recomputes all of its rows, takes the pipeline's lock
# exclusively.
async def _lock(session: AsyncSession, key: str, *, shared: bool = False) -> None:
    lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    await session.execute(select(lock(func.hashtextextended(key, 0))))


def _pipeline_key(org: uuid.UUID, pipeline: uuid.UUID | str) -> str:
    return f"reporting:pipeline:{org}:{pipeline}"


def _opportunity_key(org: uuid.UUID, opportunity: uuid.UUID | str) -> str:
    return f"reporting:opportunity:{org}:{opportunity}"


async def on_pipeline_configured(envelope: Envelope, session: AsyncSession) -> None:
    event = envelope.parse(pipe_events.PipelineConfigured)
    org = envelope.org_id
    await _lock(session, _pipeline_key(org, event.pipeline_id))
    if await repo.pipeline_version(session, org, event.pipeline_id) >= envelope.aggregate_version:
        return
    stages = [Stage(s.id, s.name, s.position, s.probability, s.kind) for s in event.stages]
    await repo.save_pipeline(
        session, org, event.pipeline_id, name=event.name, is_default=event.is_default,
        version=envelope.aggregate_version, stages=stages,
        removed_stage_ids=event.removed_stage_ids,
    )
    moves = dict(event.moved_opportunities_to)
    await repo.move_off_removed_stages(session, org, moves, stages)
    await repo.recompute_pipeline(session, org, event.pipeline_id)


def opportunity_change(envelope: Envelope) -> OpportunityChange:
    snap = envelope.parse(_event_class(OPPORTUNITY_EVENTS, envelope.type))
    change = OpportunityChange(
        version=envelope.aggregate_version,
        occurred_at=envelope.occurred_at,
        opportunity_id=snap.opportunity_id,
        name=snap.name,
        pipeline_id=snap.pipeline_id,
        stage_id=snap.stage_id,
        stage_kind=snap.stage_kind,
        status=snap.status,
        owner_id=snap.owner_id,
        team=snap.team,
        account_id=snap.account_id,
        amount=snap.amount,
        currency=snap.currency,
        probability=snap.probability,
        expected_close_date=snap.expected_close_date,
        created_at=snap.created_at,
    )
    if isinstance(snap, pipe_events.OpportunityStageChanged):
        return _with(change, from_stage_id=snap.from_stage_id)
    if isinstance(snap, pipe_events.OpportunityWon | pipe_events.OpportunityLost):
        return _with(
            change, from_stage_id=snap.from_stage_id, closing="closed", closed_at=snap.closed_at,
            close_reason_id=snap.close_reason_id, close_reason_label=snap.close_reason_label,
        )
    if isinstance(snap, pipe_events.OpportunityReopened):
        return _with(change, from_stage_id=snap.from_stage_id, closing="reopened")
    return change


def _with(change: OpportunityChange, **values: object) -> OpportunityChange:
    return replace(change, **values)  # type: ignore[arg-type]


async def on_opportunity_event(envelope: Envelope, session: AsyncSession) -> None:
    await apply_opportunity_events([envelope], session)


async def _lock_opportunities(
    refs: list[tuple[uuid.UUID, uuid.UUID | str, uuid.UUID | str]], session: AsyncSession
) -> None:
    """Lock (org, pipeline, opportunity) triples (ids as UUIDs or their JSON strings)."""
    if refs:
        await session.execute(_RUN_LOCKS, {
            "pipelines": sorted({_pipeline_key(org, p) for org, p, _ in refs}),
            "opportunities": sorted({_opportunity_key(org, o) for org, _, o in refs}),
        })


async def apply_opportunity_events(
    envelopes: list[Envelope], session: AsyncSession, *, locked: bool = False
) -> None:
    """Apply opportunity events in order: lock (unless the caller holds the locks already),
    read, fold in memory, write: four round trips however many events (an opportunity may
    appear several times)."""
    changes = [(envelope.org_id, opportunity_change(envelope)) for envelope in envelopes]
    pipelines = sorted({(org, c.pipeline_id) for org, c in changes})
    if not locked:
        await _lock_opportunities(
            [(org, c.pipeline_id, c.opportunity_id) for org, c in changes], session
        )
    states, stages = await repo.record_versions_and_load(
        session, [(org, _version_row(c)) for org, c in changes], pipelines
    )
    changed: dict[tuple[uuid.UUID, uuid.UUID], OpportunityState] = {}
    deltas: list[tuple[uuid.UUID, dict[FunnelKey, Counters]]] = []
    for org, change in changes:
        ref = (org, change.opportunity_id)
        old = states.get(ref)
        new = next_state(old, change, stages[(org, change.pipeline_id)])
        # The furthest stage only moves when the event shows a stage not visited before.
        shown = {change.stage_id} | ({change.from_stage_id} if change.from_stage_id else set())
        if old is not None and shown <= old.visited_stage_ids:
            new = replace(new, furthest_stage_id=old.furthest_stage_id)
        if new == old:
            continue
        deltas.append((org, funnel_delta(old.facts if old else None, new.facts)))
        states[ref] = changed[ref] = new
    if changed:
        await repo.save_opportunities(
            session, [(org, state) for (org, _), state in changed.items()], deltas
        )


def _version_row(change: OpportunityChange) -> dict[str, object]:
    return {
        "opportunity_id": change.opportunity_id,
        "version": change.version,
        "occurred_at": change.occurred_at,
        "pipeline_id": change.pipeline_id,
        "stage_id": change.stage_id,
        "stage_kind": change.stage_kind,
        "status": change.status,
        "owner_id": change.owner_id,
        "team": change.team,
        "amount": change.amount,
        "currency": change.currency,
        "probability": change.probability,
        "expected_close_date": change.expected_close_date,
    }


async def on_activity_event(envelope: Envelope, session: AsyncSession) -> None:
    activity = envelope.parse(_event_class(ACTIVITY_EVENTS, envelope.type))
    await repo.upsert_if_newer(
        session, t.activities, ("org_id", "activity_id"),
        {
            "org_id": envelope.org_id,
            "activity_id": activity.activity_id,
            "opportunity_id": activity.opportunity_id,
            "owner_id": activity.owner_id,
            "team": activity.team,
            "kind": activity.kind,
            "subject": activity.subject[:500],
            "due_at": activity.due_at,
            "status": activity.status,
            "completed_at": activity.completed_at,
            "version": envelope.aggregate_version,
        },
    )


def _event_class(family: tuple[type[E], ...], event_type: str) -> type[E]:
    by_type = {cls.TYPE: cls for cls in family}
    if event_type not in by_type:
        raise ValueError(f"unexpected event type {event_type}")
    return by_type[event_type]


# --- leads ------------------------------------------------------------------------------------


async def on_lead_event(envelope: Envelope, session: AsyncSession) -> None:
    lead = envelope.parse(_event_class(LEAD_EVENTS, envelope.type))
    values: dict[str, object] = {
        "org_id": envelope.org_id,
        "lead_id": lead.lead_id,
        "owner_id": lead.owner_id,
        "team": getattr(lead, "team", None),
        "status": lead.status,
        "owner_lead_cap": getattr(lead, "owner_lead_cap", None),
        "version": envelope.aggregate_version,
    }
    await repo.upsert_if_newer(session, t.leads, ("org_id", "lead_id"), values)


LeadEvent = (
    lead_events.LeadCreated
    | lead_events.LeadUpdated
    | lead_events.LeadAssigned
    | lead_events.LeadReleased
    | lead_events.LeadStatusChanged
    | lead_events.LeadConverted
)


async def on_member_updated(envelope: Envelope, session: AsyncSession) -> None:
    member = envelope.parse(lead_events.MemberUpdated)
    await repo.upsert_if_newer(
        session, t.members, ("org_id", "member_id"),
        {
            "org_id": envelope.org_id,
            "member_id": member.member_id,
            "name": member.name,
            "team": member.team,
            "lead_cap": member.lead_cap,
            "version": envelope.aggregate_version,
        },
    )


# --- documents --------------------------------------------------------------------------------


async def on_offer_issued(envelope: Envelope, session: AsyncSession) -> None:
    offer = envelope.parse(doc_events.OfferIssued)
    issued_at: datetime = offer.issued_at or envelope.occurred_at
    await repo.upsert_if_newer(
        session, t.offers, ("org_id", "offer_id"),
        {
            "org_id": envelope.org_id,
            "offer_id": offer.offer_id,
            "opportunity_id": offer.opportunity_id,
            "issued_at": issued_at,
            "version": envelope.aggregate_version,
        },
    )


OPPORTUNITY_EVENTS: tuple[type[pipe_events.OpportunitySnapshot], ...] = (
    pipe_events.OpportunityCreated,
    pipe_events.OpportunityUpdated,
    pipe_events.OpportunityStageChanged,
    pipe_events.OpportunityWon,
    pipe_events.OpportunityLost,
    pipe_events.OpportunityReopened,
)
ACTIVITY_EVENTS: tuple[type[pipe_events.ActivitySnapshot], ...] = (
    pipe_events.ActivityScheduled,
    pipe_events.ActivityCompleted,
    pipe_events.ActivityRescheduled,
    pipe_events.ActivityCancelled,
    pipe_events.ActivityOverdue,
)
LEAD_EVENTS: tuple[type[LeadEvent], ...] = (
    lead_events.LeadCreated,
    lead_events.LeadUpdated,
    lead_events.LeadAssigned,
    lead_events.LeadReleased,
    lead_events.LeadStatusChanged,
    lead_events.LeadConverted,
)

PROJECTORS: dict[str, Projector] = {
    pipe_events.PipelineConfigured.TYPE: on_pipeline_configured,
    **{cls.TYPE: on_opportunity_event for cls in OPPORTUNITY_EVENTS},
    **{cls.TYPE: on_activity_event for cls in ACTIVITY_EVENTS},
    **{cls.TYPE: on_lead_event for cls in LEAD_EVENTS},
    lead_events.MemberUpdated.TYPE: on_member_updated,
    doc_events.OfferIssued.TYPE: on_offer_issued,
}

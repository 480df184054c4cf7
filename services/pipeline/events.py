"""The contract events the pipeline service emits and consumes, built from domain objects.

Emits (``crmkit.contracts.pipeline``): opportunity created/updated/stage_changed/won/lost/
reopened, activity scheduled/completed/rescheduled/cancelled/overdue, pipeline configured,
organization settings changed (the org's locale, for what other services format).
A close or reopen is also a stage change, so it emits ``stage_changed`` followed by
``won``/``lost``/``reopened``, both with the opportunity's new ``version``.

Consumes: ``crm.leads.lead.converted``, ``crm.documents.offer.issued``, and the leads
service's roster and accounts (``member.updated``, ``account.created``, ``account.updated``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from crmkit.contracts import Envelope, Event
from crmkit.contracts import pipeline as c
from crmkit.contracts.documents import OfferIssued
from crmkit.contracts.leads import AccountCreated, AccountUpdated, LeadConverted, MemberUpdated
from services.pipeline import domain as d

CONSUMES: tuple[type[Event], ...] = (
    LeadConverted, OfferIssued, MemberUpdated, AccountCreated, AccountUpdated,
)
EMITS: tuple[type[Event], ...] = (
    c.OpportunityCreated,
    c.OpportunityUpdated,
    c.OpportunityStageChanged,
    c.OpportunityWon,
    c.OpportunityLost,
    c.OpportunityReopened,
    c.ActivityScheduled,
    c.ActivityCompleted,
    c.ActivityRescheduled,
    c.ActivityReassigned,
    c.ActivityCancelled,
    c.ActivityOverdue,
    c.PipelineConfigured,
    c.OrganizationSettingsChanged,
)


def opportunity_fields(opp: d.Opportunity, stage: d.Stage) -> dict[str, Any]:
    return {
        "opportunity_id": opp.id,
        "name": opp.name,
        "owner_id": opp.owner_id,
        "team": opp.team,
        "account_id": opp.account_id,
        "pipeline_id": opp.pipeline_id,
        "stage_id": opp.stage_id,
        "stage_name": stage.name,
        "stage_kind": stage.kind.value,
        "status": opp.status.value,
        "amount": opp.amount,
        "currency": opp.currency,
        "probability": opp.probability,
        "expected_close_date": opp.expected_close_date,
        "created_at": opp.created_at,
        "stage_entered_at": opp.stage_entered_at,
        "close_comment": opp.close_comment,
        "lessons_learned": opp.lessons_learned,
    }


def wrap_opportunity(event: Event, opp: d.Opportunity, actor: uuid.UUID | None) -> Envelope:
    return Envelope.wrap(
        event, org_id=opp.org_id, aggregate_id=opp.id, aggregate_version=opp.version,
        actor_id=actor,
    )


def opportunity_created(
    opp: d.Opportunity, pipeline: d.Pipeline, actor: uuid.UUID | None, *, event_id: uuid.UUID
    | None = None,
) -> Envelope:
    stage = _stage(pipeline, opp.stage_id)
    event = c.OpportunityCreated(
        **opportunity_fields(opp, stage),
        lead_id=opp.lead_id,
        source="lead_conversion" if opp.lead_id else "manual",
    )
    return Envelope.wrap(
        event, org_id=opp.org_id, aggregate_id=opp.id, aggregate_version=opp.version,
        actor_id=actor, event_id=event_id,
    )


def opportunity_updated(
    opp: d.Opportunity, pipeline: d.Pipeline, changed: list[str], actor: uuid.UUID | None
) -> Envelope:
    event = c.OpportunityUpdated(
        **opportunity_fields(opp, _stage(pipeline, opp.stage_id)), changed=changed
    )
    return wrap_opportunity(event, opp, actor)


def stage_changed(
    opp: d.Opportunity, pipeline: d.Pipeline, change: d.StageChange, actor: uuid.UUID | None
) -> Envelope:
    source = _stage(pipeline, change.from_stage_id)
    target = _stage(pipeline, change.to_stage_id)
    event = c.OpportunityStageChanged(
        **opportunity_fields(opp, target),
        from_stage_id=change.from_stage_id,
        from_stage_name=source.name,
        from_stage_kind=source.kind.value,
        to_stage_id=target.id,
        to_stage_name=target.name,
        to_stage_kind=target.kind.value,
        entered_at=change.changed_at,
        seconds_in_previous_stage=change.seconds_in_previous_stage,
    )
    return wrap_opportunity(event, opp, actor)


def closed(
    opp: d.Opportunity,
    pipeline: d.Pipeline,
    change: d.StageChange,
    reason: d.LostReason | None,
    actor: uuid.UUID | None,
) -> Envelope:
    fields = opportunity_fields(opp, _stage(pipeline, opp.stage_id))
    assert opp.closed_at is not None
    event: Event
    if opp.status is d.OpportunityStatus.WON:
        event = c.OpportunityWon(
            **fields, from_stage_id=change.from_stage_id, comment=opp.close_comment or "",
            closed_at=opp.closed_at,
        )
    else:
        assert reason is not None
        event = c.OpportunityLost(
            **fields, from_stage_id=change.from_stage_id, close_reason_id=reason.id,
            close_reason_label=reason.label, comment=opp.close_comment or "",
            closed_at=opp.closed_at,
        )
    return wrap_opportunity(event, opp, actor)


def reopened(
    opp: d.Opportunity,
    pipeline: d.Pipeline,
    change: d.StageChange,
    previous: d.OpportunityStatus,
    actor: uuid.UUID | None,
) -> Envelope:
    event = c.OpportunityReopened(
        **opportunity_fields(opp, _stage(pipeline, opp.stage_id)),
        previous_status=previous.value,
        from_stage_id=change.from_stage_id,
        reopened_at=change.changed_at,
    )
    return wrap_opportunity(event, opp, actor)


def activity_fields(a: d.Activity) -> dict[str, Any]:
    return {
        "activity_id": a.id,
        "opportunity_id": a.opportunity_id,
        "owner_id": a.owner_id,
        "team": a.team,
        "kind": a.kind.value,
        "subject": a.subject,
        "due_at": a.due_at,
        "status": a.status.value,
        "completed_at": a.completed_at,
        "outcome": a.outcome,
    }


def activity_event(
    event_cls: type[c.ActivitySnapshot], a: d.Activity, actor: uuid.UUID | None, **extra: Any
) -> Envelope:
    event = event_cls(**activity_fields(a), **extra)
    return Envelope.wrap(
        event, org_id=a.org_id, aggregate_id=a.id, aggregate_version=a.version, actor_id=actor
    )


def activity_overdue(a: d.Activity, detected_at: datetime) -> Envelope:
    return activity_event(c.ActivityOverdue, a, None, detected_at=detected_at)


def pipeline_configured(
    pipeline: d.Pipeline,
    actor: uuid.UUID | None,
    *,
    removed: list[uuid.UUID] | None = None,
    moved_to: dict[uuid.UUID, uuid.UUID] | None = None,
) -> Envelope:
    event = c.PipelineConfigured(
        pipeline_id=pipeline.id,
        name=pipeline.name,
        is_default=pipeline.is_default,
        stages=[
            c.StageDefinition(
                id=s.id, name=s.name, position=s.position, probability=s.probability,
                kind=s.kind.value, rotting_days=s.rotting_days,
                requirements=[r.value for r in s.requirements],
            )
            for s in pipeline.ordered_stages()
        ],
        removed_stage_ids=removed or [],
        moved_opportunities_to=dict(moved_to or {}),
    )
    return Envelope.wrap(
        event, org_id=pipeline.org_id, aggregate_id=pipeline.id,
        aggregate_version=pipeline.version, actor_id=actor,
    )


def _stage(pipeline: d.Pipeline, stage_id: uuid.UUID) -> d.Stage:
    stage = pipeline.stage(stage_id)
    if stage is None:
        raise LookupError(f"stage {stage_id} is not in pipeline {pipeline.id}")
    return stage


def organization_settings_changed(
    org_id: uuid.UUID, locale: d.Locale, actor: uuid.UUID | None
) -> Envelope:
    return Envelope.wrap(
        c.OrganizationSettingsChanged(locale=locale.value), org_id=org_id, aggregate_id=org_id,
        actor_id=actor,
    )

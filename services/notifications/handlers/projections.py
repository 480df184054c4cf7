"""Other services' events into the local read models, and the notifications an event makes at
once: an activity gone overdue, a lead given to a member by someone else, an offer accepted or
rejected. An event older than the kept row changes nothing (and notifies no one)."""

from __future__ import annotations

import uuid
from datetime import datetime

from crmkit.contracts import REGISTRY, Envelope
from crmkit.contracts import documents as doc
from crmkit.contracts import leads as ld
from crmkit.contracts import pipeline as pl
from crmkit.rows import build
from services.notifications import domain as d
from services.notifications.handlers.common import At, Work, preferences_of, store
from services.notifications.handlers.webhooks import queue_deliveries
from services.notifications.ports import NotificationsRepository


async def apply_event(envelope: Envelope, at: At, uow: Work) -> bool:
    """Apply one consumed event: into the read models and notifications when it is one this
    service keeps, and to the webhook endpoints of its org that want it. False when neither
    took it."""
    async with uow:
        kept = await _project(uow.repo, envelope, at)
        queued = 0
        if not await _of_erased_lead(uow.repo, envelope):
            queued = await queue_deliveries(uow.repo, envelope, at)
        await uow.commit()
    return kept or queued > 0


LEAD_SUBJECTS = "crm.leads.lead."


async def _of_erased_lead(repo: NotificationsRepository, envelope: Envelope) -> bool:
    """An earlier event of a lead erased since (redelivered late): sent to no endpoint, as its
    details are what the erasure removed. The erasure itself is sent."""
    return (envelope.type.startswith(LEAD_SUBJECTS) and envelope.type != ld.LeadErased.TYPE
            and await repo.lead_erased(envelope.org_id, envelope.aggregate_id))


async def _project(repo: NotificationsRepository, envelope: Envelope, at: At) -> bool:
    event_cls = REGISTRY.get(envelope.type)
    if event_cls is None:
        return False
    event = envelope.parse(event_cls)
    if isinstance(event, pl.ActivitySnapshot):
        await _activity(repo, envelope, event, at)
    elif isinstance(event, pl.OpportunitySnapshot):
        await _opportunity(repo, envelope, event, at)
    elif isinstance(event, (ld.AccountCreated, ld.AccountUpdated)):
        await repo.record_account(envelope.org_id, event.account_id, event.name)
    elif isinstance(event, ld.MemberUpdated):
        await repo.record_member(
            envelope.org_id, event.member_id, event.name or "", event.roles
        )
    elif isinstance(event, (ld.LeadCreated, ld.LeadUpdated, ld.LeadAssigned,
                            ld.LeadReleased, ld.LeadStatusChanged, ld.LeadConverted)):
        await _lead(repo, envelope, event, at)
    elif isinstance(event, ld.LeadErased):
        await repo.erase_lead(envelope.org_id, event.lead_id, envelope.aggregate_version)
    elif isinstance(event, (doc.OfferAccepted, doc.OfferRejected)):
        await _offer_decided(repo, envelope, event, at)
    else:
        return False
    return True


async def _notify(
    repo: NotificationsRepository,
    org_id: uuid.UUID,
    member_id: uuid.UUID,
    kind: d.NotificationKind,
    subject_id: uuid.UUID,
    *,
    at: At,
    title: str,
    occurrence: str = "",
    detail: str = "",
    opportunity_id: uuid.UUID | None = None,
    due_at: datetime | None = None,
) -> None:
    prefs = await preferences_of(repo, org_id, [member_id])
    await store(repo, [d.notify(
        prefs[member_id], kind, subject_id, title=title, now=at.now, occurrence=occurrence,
        detail=detail, opportunity_id=opportunity_id, due_at=due_at,
    )], prefs, at)


async def _deal_name(repo: NotificationsRepository, org_id: uuid.UUID,
                     opportunity_id: uuid.UUID) -> str:
    opportunity = await repo.opportunity(org_id, opportunity_id)
    return opportunity.name if opportunity is not None else ""


async def _activity(
    repo: NotificationsRepository, envelope: Envelope, event: pl.ActivitySnapshot,
    at: At,
) -> None:
    activity = build(d.Activity, event, id=event.activity_id, org_id=envelope.org_id,
                     version=envelope.aggregate_version)
    before = await repo.record_activity(activity)
    if before is not None and before.version > activity.version:
        return  # an older event than the row kept
    if isinstance(event, pl.ActivityOverdue) and event.status == "open":
        await _notify(
            repo, envelope.org_id, event.owner_id, d.NotificationKind.ACTIVITY_OVERDUE,
            event.activity_id, at=at, title=event.subject,
            occurrence=event.due_at.isoformat(),
            detail=await _deal_name(repo, envelope.org_id, event.opportunity_id),
            opportunity_id=event.opportunity_id, due_at=event.due_at,
        )


async def _opportunity(
    repo: NotificationsRepository, envelope: Envelope, event: pl.OpportunitySnapshot, at: At
) -> None:
    moved_at = None
    if isinstance(event, pl.OpportunityStageChanged) and event.to_stage_kind == "open":
        moved_at = event.entered_at
    await repo.record_opportunity(build(
        d.Opportunity, event, id=event.opportunity_id, org_id=envelope.org_id,
        moved_at=moved_at, version=envelope.aggregate_version,
    ))
    if (isinstance(event, pl.OpportunityUpdated) and "owner_id" in event.changed
            and envelope.actor_id != event.owner_id):
        await _notify(
            repo, envelope.org_id, event.owner_id, d.NotificationKind.DEAL_ASSIGNED,
            event.opportunity_id, at=at, title=event.name, occurrence=str(envelope.id),
            opportunity_id=event.opportunity_id,
        )


LeadEvent = (
    ld.LeadCreated | ld.LeadUpdated | ld.LeadAssigned | ld.LeadReleased | ld.LeadStatusChanged
    | ld.LeadConverted
)


async def _lead(
    repo: NotificationsRepository, envelope: Envelope, event: LeadEvent, at: At
) -> None:
    company = ""
    if isinstance(event, (ld.LeadCreated, ld.LeadUpdated)):
        company = event.company or event.contact_name or ""
    elif isinstance(event, ld.LeadConverted):
        company = event.company or ""
    lead = build(d.Lead, event, id=event.lead_id, org_id=envelope.org_id, company=company,
                 version=envelope.aggregate_version)
    before = await repo.record_lead(lead)
    if before is not None and before.version > lead.version:
        return
    if isinstance(event, ld.LeadAssigned) and event.assigned_by != event.owner_id:
        await _notify(
            repo, envelope.org_id, event.owner_id, d.NotificationKind.LEAD_ASSIGNED,
            event.lead_id, at=at, title=company or (before.company if before else ""),
            occurrence=str(envelope.id),
        )


async def _offer_decided(
    repo: NotificationsRepository,
    envelope: Envelope,
    event: doc.OfferAccepted | doc.OfferRejected,
    at: At,
) -> None:
    opportunity = await repo.opportunity(envelope.org_id, event.opportunity_id)
    recipient = event.owner_id or (opportunity.owner_id if opportunity else None) \
        or event.issued_by
    if recipient is None:
        return
    kind = (d.NotificationKind.OFFER_ACCEPTED if isinstance(event, doc.OfferAccepted)
            else d.NotificationKind.OFFER_REJECTED)
    title = " ".join(part for part in (event.number, event.title) if part)
    await _notify(
        repo, envelope.org_id, recipient, kind, event.offer_id, at=at, title=title,
        occurrence=str(event.revision),
        detail=opportunity.name if opportunity else "",
        opportunity_id=event.opportunity_id,
    )

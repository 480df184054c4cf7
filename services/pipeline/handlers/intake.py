"""What other services' events change here: a converted lead becomes an opportunity, an issued
offer opens the ``offer_issued`` gate, the leads service's roster and accounts are kept (who
may own records, which accounts an opportunity may name). Each runs in its consumer's unit
of work (riding on the inbox transaction), so a redelivered event changes nothing twice."""

from __future__ import annotations

from crmkit.contracts import Envelope
from crmkit.contracts.documents import OfferIssued
from crmkit.contracts.leads import AccountCreated, AccountUpdated, LeadConverted, MemberUpdated
from services.pipeline import domain as d
from services.pipeline import events
from services.pipeline.handlers.common import Work, default_pipeline, now


async def apply_lead_converted(envelope: Envelope, uow: Work) -> d.Opportunity | None:
    """Create the converted lead's opportunity with the id the event carries; nothing when
    it exists already (a redelivery, or the same conversion published twice). The contract
    guarantees the deal meets the opportunity rules (ADR 0008)."""
    event = envelope.parse(LeadConverted)
    async with uow:
        if await uow.repo.opportunity_exists(event.opportunity_id):
            return None
        pipeline = await default_pipeline(envelope.org_id, uow, envelope.actor_id)
        data = d.NewOpportunity(
            name=event.name, amount=event.amount, currency=event.currency,
            expected_close_date=event.expected_close_date, account_id=event.account_id,
        )
        opp = d.open_opportunity(
            opportunity_id=event.opportunity_id, org_id=envelope.org_id, data=data,
            owner_id=event.owner_id, team=event.team, pipeline=pipeline, now=now(),
            created_by=envelope.actor_id, lead_id=event.lead_id,
        )
        opp.offer_issued_at = await uow.repo.first_offer_issued_at(envelope.org_id, opp.id)
        await uow.repo.add_opportunity(opp)
        uow.emit(events.opportunity_created(opp, pipeline, envelope.actor_id))
        await uow.commit()
    return opp


async def apply_offer_issued(envelope: Envelope, uow: Work) -> bool:
    """Remember the offer and mark its opportunity; False when it was known."""
    event = envelope.parse(OfferIssued)
    async with uow:
        recorded = await uow.repo.record_offer(
            envelope.org_id, event.offer_id, event.opportunity_id,
            event.issued_at or envelope.occurred_at,
        )
        await uow.commit()
    return recorded


async def apply_member_updated(envelope: Envelope, uow: Work) -> bool:
    """Keep the member's team; an event older than the one kept changes nothing."""
    event = envelope.parse(MemberUpdated)
    member = d.RosterMember(envelope.org_id, event.member_id, event.team)
    async with uow:
        recorded = await uow.repo.record_member(member, envelope.aggregate_version)
        await uow.commit()
    return recorded


async def apply_account(envelope: Envelope, uow: Work) -> bool:
    """Keep that the org has the account (created, or changed: either says it exists)."""
    event: AccountCreated | AccountUpdated = (
        envelope.parse(AccountUpdated) if envelope.type == AccountUpdated.TYPE
        else envelope.parse(AccountCreated)
    )
    async with uow:
        recorded = await uow.repo.record_account(
            envelope.org_id, event.account_id, envelope.aggregate_version
        )
        await uow.commit()
    return recorded

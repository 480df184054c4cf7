"""The local read models of other services' events: each opportunity's owner (who sees its
offers) and what an offer shows of the deal, from the pipeline; the client companies, their
contact people and the members' names, from leads."""

from __future__ import annotations

from crmkit.contracts import REGISTRY, Envelope
from crmkit.contracts import leads as leads_contract
from crmkit.contracts import pipeline as pipeline_contract
from crmkit.rows import build
from services.documents import domain as d
from services.documents.handlers.common import Work, now


async def record_opportunity(envelope: Envelope, uow: Work) -> bool:
    """Keep the owner, team and details of an opportunity from any pipeline opportunity event
    (they all carry the snapshot); False when the event is not one of them."""
    event_cls = REGISTRY.get(envelope.type)
    if event_cls is None or not issubclass(event_cls, pipeline_contract.OpportunitySnapshot):
        return False
    snapshot = envelope.parse(event_cls)
    reason = getattr(snapshot, "close_reason_label", None)
    comment = snapshot.close_comment or getattr(snapshot, "comment", None) or None
    closed_at = getattr(snapshot, "closed_at", None)
    details = build(d.OpportunityDetails, snapshot, close_reason=reason, close_comment=comment,
                    closed_at=closed_at)
    async with uow:
        await uow.repo.record_opportunity(
            envelope.org_id,
            snapshot.opportunity_id,
            d.OpportunityAccess(owner_id=snapshot.owner_id, team=snapshot.team),
            envelope.aggregate_version,
            now(),
            details,
        )
        await uow.commit()
    return True


async def record_client(envelope: Envelope, uow: Work) -> bool:
    """Keep a client company, contact person (forget a removed one) or member name from
    leads' events; False when the event is none of them."""
    async with uow:
        if envelope.type in (leads_contract.AccountCreated.TYPE,
                             leads_contract.AccountUpdated.TYPE):
            account: leads_contract.AccountCreated | leads_contract.AccountUpdated = (
                envelope.parse(leads_contract.AccountCreated)
                if envelope.type == leads_contract.AccountCreated.TYPE
                else envelope.parse(leads_contract.AccountUpdated))
            await uow.repo.record_account(
                envelope.org_id, account.account_id, name=account.name, nip=account.nip,
                address=account.address, aggregate_version=envelope.aggregate_version)
        elif envelope.type in (leads_contract.ContactCreated.TYPE,
                               leads_contract.ContactUpdated.TYPE):
            contact: leads_contract.ContactCreated | leads_contract.ContactUpdated = (
                envelope.parse(leads_contract.ContactCreated)
                if envelope.type == leads_contract.ContactCreated.TYPE
                else envelope.parse(leads_contract.ContactUpdated))
            created_at = getattr(contact, "created_at", None) or envelope.occurred_at
            await uow.repo.record_contact(
                envelope.org_id, build(d.ContactPerson, contact), created_at=created_at,
                aggregate_version=envelope.aggregate_version)
        elif envelope.type == leads_contract.ContactRemoved.TYPE:
            removed = envelope.parse(leads_contract.ContactRemoved)
            await uow.repo.forget_contact(
                envelope.org_id, removed.contact_id, removed.account_id,
                at=envelope.occurred_at, aggregate_version=envelope.aggregate_version)
        elif envelope.type == leads_contract.MemberUpdated.TYPE:
            member = envelope.parse(leads_contract.MemberUpdated)
            if member.name is None:
                return False
            await uow.repo.record_member(envelope.org_id, member.member_id, member.name)
        else:
            return False
        await uow.commit()
    return True

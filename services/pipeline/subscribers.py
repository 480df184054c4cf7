"""Bus subscribers of the pipeline service: thin adapters from events to handlers.

Each runs inside its inbox consumer's transaction (the unit of work rides on it), so the
effect, its own events (outbox) and the inbox row commit together.
"""

from __future__ import annotations

from crmkit.contracts import Envelope
from crmkit.contracts.documents import OfferIssued
from crmkit.contracts.leads import AccountCreated, AccountUpdated, LeadConverted, MemberUpdated
from crmkit.runtime import ServiceRuntime
from crmkit.uow import UnitOfWork
from services.pipeline.handlers import intake
from services.pipeline.ports import PipelineRepository

LEAD_CONVERTED_CONSUMER = "pipeline-lead-converted"
OFFER_ISSUED_CONSUMER = "pipeline-offer-issued"
MEMBER_CONSUMER = "pipeline-member-updated"
ACCOUNT_CREATED_CONSUMER = "pipeline-account-created"
ACCOUNT_UPDATED_CONSUMER = "pipeline-account-updated"


async def on_lead_converted(envelope: Envelope, uow: UnitOfWork[PipelineRepository]) -> None:
    await intake.apply_lead_converted(envelope, uow)


async def on_offer_issued(envelope: Envelope, uow: UnitOfWork[PipelineRepository]) -> None:
    await intake.apply_offer_issued(envelope, uow)


async def on_member_updated(envelope: Envelope, uow: UnitOfWork[PipelineRepository]) -> None:
    await intake.apply_member_updated(envelope, uow)


async def on_account(envelope: Envelope, uow: UnitOfWork[PipelineRepository]) -> None:
    await intake.apply_account(envelope, uow)


def register(runtime: ServiceRuntime[PipelineRepository]) -> None:
    runtime.subscribe(LEAD_CONVERTED_CONSUMER, LeadConverted.TYPE, on_lead_converted)
    runtime.subscribe(OFFER_ISSUED_CONSUMER, OfferIssued.TYPE, on_offer_issued)
    runtime.subscribe(MEMBER_CONSUMER, MemberUpdated.TYPE, on_member_updated)
    runtime.subscribe(ACCOUNT_CREATED_CONSUMER, AccountCreated.TYPE, on_account)
    runtime.subscribe(ACCOUNT_UPDATED_CONSUMER, AccountUpdated.TYPE, on_account)

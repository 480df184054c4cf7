"""Bus subscribers of the pipeline service: thin adapters from events to handlers.

Each runs inside its inbox consumer's transaction, so the effect, its own events (outbox)
and the inbox row commit together.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.contracts import Envelope
from crmkit.contracts.documents import OfferIssued
from crmkit.contracts.leads import LeadConverted
from crmkit.runtime import ServiceRuntime
from services.pipeline import handlers as h

LEAD_CONVERTED_CONSUMER = "pipeline-lead-converted"
OFFER_ISSUED_CONSUMER = "pipeline-offer-issued"


def register(runtime: ServiceRuntime) -> None:
    outbox = runtime.outbox

    async def on_lead_converted(envelope: Envelope, session: AsyncSession) -> None:
        await h.apply_lead_converted(envelope, h.InboxWork(session, outbox))

    async def on_offer_issued(envelope: Envelope, session: AsyncSession) -> None:
        await h.apply_offer_issued(envelope, h.InboxWork(session, outbox))

    runtime.consume(LEAD_CONVERTED_CONSUMER, on_lead_converted, subject=LeadConverted.TYPE)
    runtime.consume(OFFER_ISSUED_CONSUMER, on_offer_issued, subject=OfferIssued.TYPE)

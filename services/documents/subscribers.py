"""Bus subscribers of the documents service: thin adapters over the handlers."""

from __future__ import annotations

from crmkit.contracts import Envelope
from crmkit.runtime import ServiceRuntime
from crmkit.uow import UnitOfWork
from services.documents.events import OPPORTUNITY_CONSUMER, OPPORTUNITY_SUBJECT
from services.documents.handlers.opportunities import record_opportunity
from services.documents.ports import DocumentsRepository


async def on_opportunity_event(
    envelope: Envelope, uow: UnitOfWork[DocumentsRepository]
) -> None:
    """Every ``crm.pipeline.opportunity.*`` event: who owns the opportunity now."""
    await record_opportunity(envelope, uow)


def register(runtime: ServiceRuntime[DocumentsRepository]) -> None:
    runtime.subscribe(OPPORTUNITY_CONSUMER, OPPORTUNITY_SUBJECT, on_opportunity_event)

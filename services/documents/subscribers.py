"""Bus subscribers of the documents service: thin adapters over the handlers."""

from __future__ import annotations

from crmkit.contracts import Envelope
from crmkit.runtime import ServiceRuntime
from crmkit.uow import UnitOfWork
from services.documents.events import (
    CLIENT_CONSUMER,
    CLIENT_SUBJECTS,
    OPPORTUNITY_CONSUMER,
    OPPORTUNITY_SUBJECT,
    SETTINGS_CONSUMER,
    SETTINGS_SUBJECT,
)
from services.documents.handlers.opportunities import record_client, record_opportunity
from services.documents.handlers.settings import record_organization_settings
from services.documents.ports import DocumentsRepository


async def on_opportunity_event(
    envelope: Envelope, uow: UnitOfWork[DocumentsRepository]
) -> None:
    """Every ``crm.pipeline.opportunity.*`` event: who owns the opportunity now."""
    await record_opportunity(envelope, uow)


async def on_client_event(envelope: Envelope, uow: UnitOfWork[DocumentsRepository]) -> None:
    """Leads' account, contact and member events: what an offer shows of the client."""
    await record_client(envelope, uow)


async def on_organization_settings(
    envelope: Envelope, uow: UnitOfWork[DocumentsRepository]
) -> None:
    """The pipeline's organization settings: the locale offers are formatted in."""
    await record_organization_settings(envelope, uow)


def register(runtime: ServiceRuntime[DocumentsRepository]) -> None:
    runtime.subscribe(OPPORTUNITY_CONSUMER, OPPORTUNITY_SUBJECT, on_opportunity_event)
    runtime.subscribe(SETTINGS_CONSUMER, SETTINGS_SUBJECT, on_organization_settings)
    for subject in CLIENT_SUBJECTS:
        runtime.subscribe(f"{CLIENT_CONSUMER}-{subject.rsplit('.', 2)[-2]}-"
                          f"{subject.rsplit('.', 1)[-1]}", subject, on_client_event)

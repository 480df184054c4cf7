"""Bus subscribers of the documents service: thin adapters over the handlers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.contracts import Envelope
from services.documents.handlers import record_opportunity
from services.documents.repository import DocumentsRepository


async def on_opportunity_event(envelope: Envelope, session: AsyncSession) -> None:
    """Runs inside the inbox transaction, so the read model and the inbox row commit together."""
    await record_opportunity(envelope, DocumentsRepository(session))

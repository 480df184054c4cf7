"""The local read model of the pipeline's opportunities: who owns each, for offer access."""

from __future__ import annotations

from crmkit.contracts import REGISTRY, Envelope
from crmkit.contracts import pipeline as pipeline_contract
from services.documents import domain as d
from services.documents.handlers.common import Work, now


async def record_opportunity(envelope: Envelope, uow: Work) -> bool:
    """Keep the owner and team of an opportunity from any pipeline opportunity event (they
    all carry the snapshot); False when the event is not one of them."""
    event_cls = REGISTRY.get(envelope.type)
    if event_cls is None or not issubclass(event_cls, pipeline_contract.OpportunitySnapshot):
        return False
    snapshot = envelope.parse(event_cls)
    async with uow:
        await uow.repo.record_opportunity(
            envelope.org_id,
            snapshot.opportunity_id,
            d.OpportunityAccess(owner_id=snapshot.owner_id, team=snapshot.team),
            envelope.aggregate_version,
            now(),
        )
        await uow.commit()
    return True

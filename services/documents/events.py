"""The contract events the documents service emits and consumes.

Emits (``crmkit.contracts.documents``): folder created/access_changed, document created/
version_added/access_changed, offer issued (the pipeline's ``offer_issued`` gate).

Consumes: every ``crm.pipeline.opportunity.*`` event (each carries the opportunity's owner and
team) to keep the local read model that decides who sees an opportunity's offers.
"""

from __future__ import annotations

from crmkit.contracts import Event
from crmkit.contracts import documents as c
from crmkit.contracts import pipeline as p

EMITS: tuple[type[Event], ...] = (
    c.FolderCreated,
    c.FolderAccessChanged,
    c.DocumentCreated,
    c.DocumentVersionAdded,
    c.DocumentAccessChanged,
    c.OfferIssued,
)
CONSUMES: tuple[type[Event], ...] = (
    p.OpportunityCreated,
    p.OpportunityUpdated,
    p.OpportunityStageChanged,
    p.OpportunityWon,
    p.OpportunityLost,
    p.OpportunityReopened,
)
OPPORTUNITY_SUBJECT = "crm.pipeline.opportunity.>"
OPPORTUNITY_CONSUMER = "documents-opportunities"

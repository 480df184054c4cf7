"""The contract events the documents service emits and consumes.

Emits (``crmkit.contracts.documents``): folder created/access_changed/changed, document
created/version_added/access_changed/changed/deleted, offer issued (the pipeline's
``offer_issued`` gate), accepted, rejected and expired.

Consumes: every ``crm.pipeline.opportunity.*`` event (each carries the opportunity's snapshot)
to keep the local read model that decides who sees an opportunity's offers and what an offer
shows of the deal; leads' account, contact (created, updated, removed) and member events
for the client's company, its contact person and the owner's name in an offer's merge data;
the pipeline's organization settings for the locale offers are formatted in.
"""

from __future__ import annotations

from crmkit.contracts import Event
from crmkit.contracts import documents as c
from crmkit.contracts import leads as ld
from crmkit.contracts import pipeline as p

EMITS: tuple[type[Event], ...] = (
    c.FolderCreated,
    c.FolderAccessChanged,
    c.FolderChanged,
    c.DocumentCreated,
    c.DocumentVersionAdded,
    c.DocumentAccessChanged,
    c.DocumentChanged,
    c.DocumentDeleted,
    c.OfferIssued,
    c.OfferAccepted,
    c.OfferRejected,
    c.OfferExpired,
)
CONSUMES: tuple[type[Event], ...] = (
    p.OpportunityCreated,
    p.OpportunityUpdated,
    p.OpportunityStageChanged,
    p.OpportunityWon,
    p.OpportunityLost,
    p.OpportunityReopened,
    ld.AccountCreated,
    ld.AccountUpdated,
    ld.ContactCreated,
    ld.ContactUpdated,
    ld.ContactRemoved,
    ld.MemberUpdated,
    p.OrganizationSettingsChanged,
)
OPPORTUNITY_SUBJECT = "crm.pipeline.opportunity.>"
OPPORTUNITY_CONSUMER = "documents-opportunities"
CLIENT_SUBJECTS = (
    ld.AccountCreated.TYPE, ld.AccountUpdated.TYPE, ld.ContactCreated.TYPE,
    ld.ContactUpdated.TYPE, ld.ContactRemoved.TYPE, ld.MemberUpdated.TYPE,
)
CLIENT_CONSUMER = "documents-clients"
SETTINGS_SUBJECT = p.OrganizationSettingsChanged.TYPE
SETTINGS_CONSUMER = "documents-organization-settings"

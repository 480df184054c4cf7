"""The contract events the notifications service emits and consumes.

Emits (``crmkit.contracts.notifications``): webhook endpoint disabled.

Consumes every event of every service (``crm.<service>.>``) for the webhook endpoints that
want it, and these into its own read models and notifications:

- ``crm.pipeline.activity.*``: the calendar (reminders, the overdue notice);
- ``crm.pipeline.opportunity.*``: deal names and owners, stage moves (the next-contact check);
- ``crm.leads.*``: accounts (client names), leads (assignments, the pool), members;
- ``crm.documents.offer.accepted`` / ``rejected``: the owner hears the client's answer.
"""

from __future__ import annotations

from crmkit.contracts import Event
from crmkit.contracts import documents as doc
from crmkit.contracts import leads as ld
from crmkit.contracts import notifications as nt
from crmkit.contracts import pipeline as pl

EMITS: tuple[type[Event], ...] = (nt.WebhookEndpointDisabled,)
CONSUMES: tuple[type[Event], ...] = (
    pl.ActivityScheduled,
    pl.ActivityRescheduled,
    pl.ActivityReassigned,
    pl.ActivityCompleted,
    pl.ActivityCancelled,
    pl.ActivityOverdue,
    pl.OpportunityCreated,
    pl.OpportunityUpdated,
    pl.OpportunityStageChanged,
    pl.OpportunityWon,
    pl.OpportunityLost,
    pl.OpportunityReopened,
    ld.LeadCreated,
    ld.LeadUpdated,
    ld.LeadAssigned,
    ld.LeadReleased,
    ld.LeadStatusChanged,
    ld.LeadConverted,
    ld.LeadErased,
    ld.AccountCreated,
    ld.AccountUpdated,
    ld.MemberUpdated,
    doc.OfferAccepted,
    doc.OfferRejected,
)
# One consumer per producing service: each keeps its service's per-aggregate order.
PIPELINE_SUBJECT = "crm.pipeline.>"
PIPELINE_CONSUMER = "notifications-pipeline"
LEADS_SUBJECT = "crm.leads.>"
LEADS_CONSUMER = "notifications-leads"
DOCUMENTS_SUBJECT = "crm.documents.>"
DOCUMENTS_CONSUMER = "notifications-documents"
REPORTING_SUBJECT = "crm.reporting.>"
REPORTING_CONSUMER = "notifications-reporting"
OWN_SUBJECT = "crm.notifications.>"
OWN_CONSUMER = "notifications-own"
SUBSCRIPTIONS = (
    (PIPELINE_CONSUMER, PIPELINE_SUBJECT),
    (LEADS_CONSUMER, LEADS_SUBJECT),
    (DOCUMENTS_CONSUMER, DOCUMENTS_SUBJECT),
    (REPORTING_CONSUMER, REPORTING_SUBJECT),
    (OWN_CONSUMER, OWN_SUBJECT),
)

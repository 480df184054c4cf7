"""The events reporting consumes (it publishes none).

One durable inbox consumer per producing service, so a slow or failing stream of one service
never holds back the others; every projection is safe under reordering across aggregates.
"""

from __future__ import annotations

from typing import Final

from crmkit.contracts import Event
from crmkit.contracts import documents as doc_events
from crmkit.contracts import leads as lead_events
from crmkit.contracts import pipeline as pipe_events

CONSUMER_PREFIX: Final = "reporting"
# consumer name suffix -> subjects it reads
CONSUMED_SUBJECTS: Final = {
    "pipeline": "crm.pipeline.>",
    "leads": "crm.leads.>",
    "documents": "crm.documents.>",
}
CONSUMERS: Final = {f"{CONSUMER_PREFIX}-{k}": v for k, v in CONSUMED_SUBJECTS.items()}

OPPORTUNITY_EVENTS: Final[tuple[type[pipe_events.OpportunitySnapshot], ...]] = (
    pipe_events.OpportunityCreated,
    pipe_events.OpportunityUpdated,
    pipe_events.OpportunityStageChanged,
    pipe_events.OpportunityWon,
    pipe_events.OpportunityLost,
    pipe_events.OpportunityReopened,
)
ACTIVITY_EVENTS: Final[tuple[type[pipe_events.ActivitySnapshot], ...]] = (
    pipe_events.ActivityScheduled,
    pipe_events.ActivityCompleted,
    pipe_events.ActivityRescheduled,
    pipe_events.ActivityReassigned,
    pipe_events.ActivityCancelled,
    pipe_events.ActivityOverdue,
)
LeadEvent = (
    lead_events.LeadCreated
    | lead_events.LeadUpdated
    | lead_events.LeadAssigned
    | lead_events.LeadReleased
    | lead_events.LeadStatusChanged
    | lead_events.LeadConverted
)
LEAD_EVENTS: Final[tuple[type[LeadEvent], ...]] = (
    lead_events.LeadCreated,
    lead_events.LeadUpdated,
    lead_events.LeadAssigned,
    lead_events.LeadReleased,
    lead_events.LeadStatusChanged,
    lead_events.LeadConverted,
)

CONSUMES: Final[tuple[type[Event], ...]] = (
    pipe_events.PipelineConfigured,
    *OPPORTUNITY_EVENTS,
    *ACTIVITY_EVENTS,
    *LEAD_EVENTS,
    lead_events.LeadErased,
    lead_events.MemberUpdated,
    doc_events.OfferIssued,
)
CONSUMED_TYPES: Final = tuple(sorted(e.TYPE for e in CONSUMES))
"""Every other event on the consumed subjects is acknowledged and ignored."""

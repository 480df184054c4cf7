"""Events published by the pipeline service.

Payloads are self-contained: a read model (the funnel, dashboards) can be built from these
events alone, without calling the pipeline service back. The envelope's ``aggregate_id`` is the
opportunity, activity or pipeline id and ``aggregate_version`` its ``version`` after the change.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crmkit.contracts import Event, Team
from crmkit.values import Amount, CurrencyCode, Name, Title

OpportunityStatus = Literal["open", "won", "lost"]
StageKind = Literal["open", "won", "lost"]
ActivityKind = Literal["call", "email", "meeting", "task"]
ActivityStatus = Literal["open", "done", "cancelled"]
Probability = Annotated[int, Field(ge=0, le=100)]
StageName = Annotated[str, StringConstraints(max_length=200)]
"""A stage's name as a snapshot carries it ("" when unknown to an older producer)."""
Label = Annotated[str, StringConstraints(max_length=200)]
Requirement = Literal[
    "contact_made",
    "next_contact_scheduled",
    "needs",
    "pain_points",
    "budget",
    "decision_maker",
    "offer_issued",
    "close_reason",
    "close_comment",
]


class OpportunitySnapshot(Event):
    """Fields every opportunity event carries: the opportunity as it is after the change."""

    MONEY = (("amount", "currency"),)

    opportunity_id: uuid.UUID
    name: Name
    owner_id: uuid.UUID
    team: Team | None = None
    account_id: uuid.UUID | None = None
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    stage_name: StageName = ""
    stage_kind: StageKind = "open"
    status: OpportunityStatus
    amount: Amount
    currency: CurrencyCode
    probability: Probability
    expected_close_date: date | None = None
    created_at: datetime | None = None
    stage_entered_at: datetime | None = None
    # Added for the offer library (absent from events published before them).
    close_comment: str | None = None
    """What the owner wrote when the deal was won or lost."""
    lessons_learned: str | None = None


class OpportunityCreated(OpportunitySnapshot):
    TYPE = "crm.pipeline.opportunity.created"

    lead_id: uuid.UUID | None = None
    source: Literal["manual", "lead_conversion"] = "manual"


class OpportunityUpdated(OpportunitySnapshot):
    """Fields were edited; ``changed`` names them (GraphQL-independent snake_case names)."""

    TYPE = "crm.pipeline.opportunity.updated"

    changed: list[str] = []


class OpportunityStageChanged(OpportunitySnapshot):
    TYPE = "crm.pipeline.opportunity.stage_changed"

    from_stage_id: uuid.UUID
    from_stage_name: StageName = ""
    from_stage_kind: StageKind = "open"
    to_stage_id: uuid.UUID
    to_stage_name: StageName = ""
    to_stage_kind: StageKind = "open"
    entered_at: datetime
    seconds_in_previous_stage: int


class OpportunityWon(OpportunitySnapshot):
    TYPE = "crm.pipeline.opportunity.won"

    from_stage_id: uuid.UUID
    close_reason_id: uuid.UUID | None = None
    close_reason_label: Label | None = None
    comment: str = ""
    closed_at: datetime


class OpportunityLost(OpportunitySnapshot):
    TYPE = "crm.pipeline.opportunity.lost"

    from_stage_id: uuid.UUID
    close_reason_id: uuid.UUID
    close_reason_label: Label
    comment: str = ""
    closed_at: datetime


class OpportunityReopened(OpportunitySnapshot):
    TYPE = "crm.pipeline.opportunity.reopened"

    previous_status: OpportunityStatus
    from_stage_id: uuid.UUID
    reopened_at: datetime


class ActivitySnapshot(Event):
    """Fields every activity event carries: the activity as it is after the change."""

    activity_id: uuid.UUID
    opportunity_id: uuid.UUID
    owner_id: uuid.UUID
    team: Team | None = None
    kind: ActivityKind
    subject: Title
    due_at: datetime
    status: ActivityStatus
    completed_at: datetime | None = None
    outcome: str | None = None


class ActivityScheduled(ActivitySnapshot):
    TYPE = "crm.pipeline.activity.scheduled"


class ActivityCompleted(ActivitySnapshot):
    TYPE = "crm.pipeline.activity.completed"


class ActivityRescheduled(ActivitySnapshot):
    TYPE = "crm.pipeline.activity.rescheduled"

    previous_due_at: datetime


class ActivityReassigned(ActivitySnapshot):
    """An open activity went to another member with its deal (``owner_id`` is the new one)."""

    TYPE = "crm.pipeline.activity.reassigned"

    previous_owner_id: uuid.UUID


class ActivityCancelled(ActivitySnapshot):
    TYPE = "crm.pipeline.activity.cancelled"


class ActivityOverdue(ActivitySnapshot):
    """Published once per activity when its due time passes while it is still open."""

    TYPE = "crm.pipeline.activity.overdue"

    detected_at: datetime


class StageDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: uuid.UUID
    name: Name
    position: Annotated[int, Field(ge=0, le=1_000)]
    probability: Probability
    kind: StageKind
    rotting_days: Annotated[int, Field(ge=1, le=3_650)] | None = None
    requirements: list[Requirement] = []


class PipelineConfigured(Event):
    """A pipeline was created or its stages changed; carries the full, ordered stage list."""

    TYPE = "crm.pipeline.pipeline.configured"

    pipeline_id: uuid.UUID
    name: Name
    is_default: bool
    stages: list[StageDefinition]
    removed_stage_ids: list[uuid.UUID] = []
    # Opportunities moved off a removed stage: stage id -> stage id it moved to.
    moved_opportunities_to: dict[uuid.UUID, uuid.UUID] = {}


OrganizationLocale = Literal["en", "pl"]
"""The languages an org may choose (a new one is an additive change of this literal)."""

DEFAULT_ORGANIZATION_LOCALE: OrganizationLocale = "en"
"""The language of an org whose admin never chose one: the pipeline names its default stages
in it, the web app shows it, and documents formats offers in it until an event says otherwise."""


class OrganizationSettingsChanged(Event):
    """An admin set the org's settings; carries all of them, so the last one is the state.
    ``aggregate_id`` is the org; its settings have no version, so a consumer orders these by
    the envelope's ``occurred_at``."""

    TYPE = "crm.pipeline.organization.settings_changed"

    locale: OrganizationLocale

"""The rows of the simpler read tables: each is the latest its aggregate's events told
(``version`` guards it: an older event arriving late changes nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.reporting.domain.funnel import Stage


@dataclass(frozen=True, slots=True)
class PipelineConfiguration:
    """A pipeline as its latest ``pipeline.configured`` event describes it."""

    pipeline_id: uuid.UUID
    name: str
    is_default: bool
    version: int
    stages: Sequence[Stage]
    removed_stage_ids: Sequence[uuid.UUID] = ()
    # Opportunities of a removed stage went to another: stage -> the stage they went to.
    moved_opportunities_to: Mapping[uuid.UUID, uuid.UUID] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    activity_id: uuid.UUID
    opportunity_id: uuid.UUID
    owner_id: uuid.UUID
    team: str | None
    kind: str
    subject: str
    due_at: datetime
    status: str
    completed_at: datetime | None
    version: int


ERASED = "ERASED"
"""An erased lead's status in the projection (its tombstone): counted in no status."""


@dataclass(frozen=True, slots=True)
class LeadRecord:
    lead_id: uuid.UUID
    owner_id: uuid.UUID | None
    team: str | None
    status: str  # the leads service's status, or ERASED
    # The cap of the owner the latest assignment repeated (until a roster event tells it).
    owner_lead_cap: int | None
    version: int


@dataclass(frozen=True, slots=True)
class MemberRecord:
    member_id: uuid.UUID
    name: str | None
    team: str | None
    lead_cap: int
    version: int


@dataclass(frozen=True, slots=True)
class OfferRecord:
    offer_id: uuid.UUID
    opportunity_id: uuid.UUID
    issued_at: datetime
    version: int

"""What the pipeline's handlers need from storage: the repository protocol. The SQL repository
(:mod:`services.pipeline.repository`) and the in-memory one of the unit tests implement it;
one contract suite runs against both (``tests/integration/pipeline/test_repository.py``).

Every method is scoped to one org (it takes the org id or the caller, who carries it), except
``opportunity_exists`` and ``claim_overdue``, which say so.

These are the hot paths, run on a connection of their own outside the unit of work's
transaction (each statement commits or reads on its own): ``opportunity_page`` and
``activity_page`` (a page of a list), ``opportunities`` (entity references),
``current_pipelines`` (the org's pipelines, kept per process and checked against their
versions) and ``move_unlocked`` (a move in two statements). Handlers call them only where no
write of their own precedes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from crmkit.auth import Caller
from crmkit.contracts import Envelope
from crmkit.paging import PageRequest
from services.pipeline import domain as d


@dataclass(frozen=True)
class OpportunityQuery:
    owner_ids: Sequence[uuid.UUID] = ()
    stage_ids: Sequence[uuid.UUID] = ()
    statuses: Sequence[d.OpportunityStatus] = ()
    pipeline_id: uuid.UUID | None = None
    account_ids: Sequence[uuid.UUID] = ()
    close_from: date | None = None
    close_to: date | None = None
    # Rotting stage id -> entered before this moment means stale; set means "stale only".
    stale_before: dict[uuid.UUID, datetime] | None = None
    no_next_contact: bool = False
    text: str | None = None
    order: d.OpportunityOrder = d.OpportunityOrder.NEWEST


@dataclass(frozen=True)
class ActivityQuery:
    owner_id: uuid.UUID | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    statuses: Sequence[d.ActivityStatus] = ()
    opportunity_id: uuid.UUID | None = None
    # Open and overdue at this moment (:func:`services.pipeline.domain.is_overdue`).
    overdue_at: datetime | None = None


MoveDecision = Callable[[d.Opportunity, d.Pipeline], tuple[d.StageChange, Envelope] | None]
"""Given the opportunity as read and its pipeline: the move and its event, the opportunity
left as it is to be written (version included); None to write nothing."""


class PipelineRepository(Protocol):
    # --- org settings ---------------------------------------------------------------------

    async def locale(self, org_id: uuid.UUID) -> d.Locale: ...

    async def set_locale(self, org_id: uuid.UUID, locale: d.Locale, now: datetime) -> None: ...

    # --- pipelines --------------------------------------------------------------------------

    async def insert_default_pipeline(self, pipeline: d.Pipeline, now: datetime) -> bool:
        """Add the org's default pipeline unless another transaction already did (False)."""
        ...

    async def add_pipeline(self, pipeline: d.Pipeline, now: datetime) -> None: ...

    async def pipelines(self, org_id: uuid.UUID) -> list[d.Pipeline]:
        """The org's pipelines with their stages, the default one first, then by creation."""
        ...

    async def pipeline(
        self, org_id: uuid.UUID, pipeline_id: uuid.UUID, *, lock: bool = False
    ) -> d.Pipeline | None:
        """One pipeline; ``lock`` holds it until the unit of work ends."""
        ...

    async def current_pipelines(self, org_id: uuid.UUID) -> dict[uuid.UUID, d.Pipeline]:
        """The org's pipelines as committed now, by id (hot path: the objects may be shared,
        never change them)."""
        ...

    async def pipeline_of_stage(self, org_id: uuid.UUID, stage_id: uuid.UUID) -> uuid.UUID | None:
        ...

    async def save_pipeline(
        self, pipeline: d.Pipeline, now: datetime, removed: Sequence[uuid.UUID] = ()
    ) -> None:
        """Write a changed pipeline and all its stages, dropping ``removed``; bumps
        ``version``, refusing a lost update (``VersionConflictError``)."""
        ...

    async def stage_in_use(self, org_id: uuid.UUID, stage_id: uuid.UUID) -> bool: ...

    async def relocate_stage(
        self, org_id: uuid.UUID, from_stage: uuid.UUID, to_stage: d.Stage, now: datetime,
        actor: uuid.UUID | None,
    ) -> int:
        """Move every opportunity of a stage being removed, recording each move (version one
        up); how many moved."""
        ...

    # --- lost reasons -----------------------------------------------------------------------

    async def lost_reasons(
        self, org_id: uuid.UUID, *, include_inactive: bool = False
    ) -> list[d.LostReason]:
        """By position."""
        ...

    async def lost_reason(self, org_id: uuid.UUID, reason_id: uuid.UUID) -> d.LostReason | None:
        ...

    async def save_lost_reasons(self, reasons: Sequence[d.LostReason]) -> None:
        """Add or change (label, position, active) each reason."""
        ...

    # --- opportunities ----------------------------------------------------------------------

    async def opportunity(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, *, lock: bool = False
    ) -> d.Opportunity | None: ...

    async def opportunities(
        self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[d.Opportunity]:
        """The opportunities among ``ids``, any order (hot path)."""
        ...

    async def opportunity_exists(self, opportunity_id: uuid.UUID) -> bool:
        """In any org: an id an event carries must never be reused in another org."""
        ...

    async def add_opportunity(self, opp: d.Opportunity) -> None: ...

    async def save_opportunity(self, opp: d.Opportunity) -> None:
        """Write a changed opportunity, its version one up (``opp.version`` too); refuses a
        lost update (``VersionConflictError``)."""
        ...

    async def record_stage_change(self, org_id: uuid.UUID, change: d.StageChange) -> None: ...

    async def history(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> list[d.StageChange]:
        """Every stage change, oldest first."""
        ...

    async def record_owner_change(self, org_id: uuid.UUID, change: d.OwnerChange) -> None: ...

    async def handovers(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> list[d.OwnerChange]:
        """Every handover of the deal to another owner, oldest first."""
        ...

    async def add_note(self, note: d.Note) -> None: ...

    async def note(self, org_id: uuid.UUID, note_id: uuid.UUID) -> d.Note | None: ...

    async def notes(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> list[d.Note]:
        """The deal's newest notes (:data:`domain.NOTES_SHOWN`), newest first."""
        ...

    async def remove_note(self, org_id: uuid.UUID, note_id: uuid.UUID) -> None: ...

    async def refresh_next_contact(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> None:
        """``next_contact_at`` = the earliest open activity's due time; derived, so the
        version stays."""
        ...

    async def mark_contact_made(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, at: datetime
    ) -> None:
        """The first contact's time, kept once set; the version stays."""
        ...

    async def record_offer(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, opportunity_id: uuid.UUID, at: datetime
    ) -> bool:
        """Remember an issued offer and mark its opportunity with the earliest offer's time;
        False when the offer was known."""
        ...

    async def first_offer_issued_at(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> datetime | None: ...

    async def opportunity_page(
        self, caller: Caller, query: OpportunityQuery, page: PageRequest
    ) -> list[d.Opportunity]:
        """Up to ``page.fetch`` opportunities the caller sees, newest first (``created_at``,
        then id, descending), after ``page.after`` in that order (hot path)."""
        ...

    async def move_unlocked(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, decide: MoveDecision
    ) -> d.Opportunity | None:
        """Read the opportunity and its pipeline without locks, let ``decide`` move it, and
        write the move, its history entry and its event in one statement that applies only
        to the row and pipeline exactly as read (hot path). The moved opportunity, or None
        when nothing was written (not found, ``decide`` declined, or something changed in
        between)."""
        ...

    # --- the leads service's roster and accounts ---------------------------------------------

    async def member(self, org_id: uuid.UUID, member_id: uuid.UUID) -> d.RosterMember | None:
        ...

    async def record_member(self, member: d.RosterMember, version: int) -> bool:
        """Keep a member's team as of the event's aggregate ``version``; an older version
        than the one kept changes nothing (False)."""
        ...

    async def account_exists(self, org_id: uuid.UUID, account_id: uuid.UUID) -> bool: ...

    async def record_account(self, org_id: uuid.UUID, account_id: uuid.UUID, version: int) -> bool:
        """Keep that the org has this account; False when it was known."""
        ...

    # --- activities -------------------------------------------------------------------------

    async def activity(
        self, org_id: uuid.UUID, activity_id: uuid.UUID, *, lock: bool = False
    ) -> d.Activity | None: ...

    async def activities(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[d.Activity]:
        """The activities among ``ids``, any order."""
        ...

    async def open_activities(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, owner_id: uuid.UUID
    ) -> list[d.Activity]:
        """The open activities of an opportunity that ``owner_id`` owns, by due time (then
        id), held until the unit of work ends."""
        ...

    async def add_activity(self, activity: d.Activity) -> None: ...

    async def save_activity(self, activity: d.Activity) -> None:
        """Write an activity whose domain change already bumped ``version``; refuses a lost
        update."""
        ...

    async def activity_page(
        self, caller: Caller, query: ActivityQuery, page: PageRequest
    ) -> list[d.Activity]:
        """Up to ``page.fetch`` activities the caller sees by due time (``due_at``, then id),
        after ``page.after`` (hot path)."""
        ...

    async def claim_overdue(self, now: datetime, limit: int) -> list[d.Activity]:
        """In every org: open activities overdue at ``now`` and not announced yet, oldest due
        first, held until the unit of work ends; rows another one holds are skipped."""
        ...

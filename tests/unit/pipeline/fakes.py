"""The pipeline repository in memory: what the handler unit tests run on. The repository
contract suite (``tests/integration/pipeline/test_repository.py``) holds it to the same
behaviour as the SQL repository, the hot paths included.

Rows are kept as copies: what a handler changes on a loaded object is stored only when it
saves it, as with a database."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from crmkit.auth import Caller
from crmkit.contracts import Envelope
from crmkit.errors import VersionConflictError
from crmkit.paging import PageRequest
from crmkit.testing.fakes import FakeUnitOfWork
from crmkit.testing.paging import keyset_page
from crmkit.values import search_form
from services.pipeline import domain as d
from services.pipeline.ports import ActivityQuery, MoveDecision, OpportunityQuery

T = TypeVar("T")


def _copy(value: T) -> T:
    return copy.deepcopy(value)


@dataclass
class IssuedOffer:
    org_id: uuid.UUID
    opportunity_id: uuid.UUID
    issued_at: datetime


@dataclass
class FakePipelineRepository:
    locales: dict[uuid.UUID, d.Locale] = field(default_factory=dict)
    pipeline_rows: dict[uuid.UUID, d.Pipeline] = field(default_factory=dict)
    reason_rows: dict[uuid.UUID, d.LostReason] = field(default_factory=dict)
    opportunity_rows: dict[uuid.UUID, d.Opportunity] = field(default_factory=dict)
    history_rows: list[tuple[uuid.UUID, d.StageChange]] = field(default_factory=list)
    handover_rows: list[tuple[uuid.UUID, d.OwnerChange]] = field(default_factory=list)
    note_rows: dict[uuid.UUID, d.Note] = field(default_factory=dict)
    activity_rows: dict[uuid.UUID, d.Activity] = field(default_factory=dict)
    offer_rows: dict[uuid.UUID, IssuedOffer] = field(default_factory=dict)
    member_rows: dict[tuple[uuid.UUID, uuid.UUID], tuple[d.RosterMember, int]] = field(
        default_factory=dict
    )
    account_rows: dict[tuple[uuid.UUID, uuid.UUID], int] = field(default_factory=dict)
    # Events the hot path wrote itself (the SQL one writes them to the outbox directly).
    outbox: list[Envelope] = field(default_factory=list)

    # --- org settings ---------------------------------------------------------------------

    async def locale(self, org_id: uuid.UUID) -> d.Locale:
        return self.locales.get(org_id, d.Locale.EN)

    async def set_locale(self, org_id: uuid.UUID, locale: d.Locale, now: datetime) -> None:
        self.locales[org_id] = locale

    # --- pipelines --------------------------------------------------------------------------

    async def insert_default_pipeline(self, pipeline: d.Pipeline, now: datetime) -> bool:
        if any(p.org_id == pipeline.org_id and p.is_default for p in self.pipeline_rows.values()):
            return False
        self.pipeline_rows[pipeline.id] = _copy(pipeline)
        return True

    async def add_pipeline(self, pipeline: d.Pipeline, now: datetime) -> None:
        self.pipeline_rows[pipeline.id] = _copy(pipeline)

    async def pipelines(self, org_id: uuid.UUID) -> list[d.Pipeline]:
        found = [p for p in self.pipeline_rows.values() if p.org_id == org_id]
        # Insertion order stands for creation order.
        return [_copy(p) for p in sorted(found, key=lambda p: not p.is_default)]

    async def pipeline(
        self, org_id: uuid.UUID, pipeline_id: uuid.UUID, *, lock: bool = False
    ) -> d.Pipeline | None:
        found = self.pipeline_rows.get(pipeline_id)
        return _copy(found) if found is not None and found.org_id == org_id else None

    async def current_pipelines(self, org_id: uuid.UUID) -> dict[uuid.UUID, d.Pipeline]:
        return {p.id: p for p in await self.pipelines(org_id)}

    async def pipeline_of_stage(self, org_id: uuid.UUID, stage_id: uuid.UUID) -> uuid.UUID | None:
        return next((p.id for p in self.pipeline_rows.values()
                     if p.org_id == org_id and p.stage(stage_id) is not None), None)

    async def save_pipeline(
        self, pipeline: d.Pipeline, now: datetime, removed: Sequence[uuid.UUID] = ()
    ) -> None:
        held = self.pipeline_rows.get(pipeline.id)
        if held is None or held.org_id != pipeline.org_id or held.version != pipeline.version:
            raise VersionConflictError("Pipeline", pipeline.version, pipeline.version + 1)
        pipeline.version += 1
        self.pipeline_rows[pipeline.id] = _copy(pipeline)

    async def stage_in_use(self, org_id: uuid.UUID, stage_id: uuid.UUID) -> bool:
        return any(o.org_id == org_id and o.stage_id == stage_id
                   for o in self.opportunity_rows.values())

    async def relocate_stage(
        self, org_id: uuid.UUID, from_stage: uuid.UUID, to_stage: d.Stage, now: datetime,
        actor: uuid.UUID | None,
    ) -> int:
        moved = 0
        for opp in self.opportunity_rows.values():
            if opp.org_id != org_id or opp.stage_id != from_stage:
                continue
            self.history_rows.append((org_id, d.StageChange(
                id=uuid.uuid4(), opportunity_id=opp.id, from_stage_id=from_stage,
                to_stage_id=to_stage.id, changed_at=now, changed_by=actor,
                seconds_in_previous_stage=max(0, int((now - opp.stage_entered_at)
                                                     .total_seconds())),
            )))
            opp.stage_id = to_stage.id
            opp.stage_entered_at = opp.updated_at = now
            opp.probability = to_stage.probability
            opp.version += 1
            moved += 1
        return moved

    # --- lost reasons -----------------------------------------------------------------------

    async def lost_reasons(
        self, org_id: uuid.UUID, *, include_inactive: bool = False
    ) -> list[d.LostReason]:
        found = [r for r in self.reason_rows.values()
                 if r.org_id == org_id and (include_inactive or r.active)]
        return [_copy(r) for r in sorted(found, key=lambda r: r.position)]

    async def lost_reason(self, org_id: uuid.UUID, reason_id: uuid.UUID) -> d.LostReason | None:
        found = self.reason_rows.get(reason_id)
        return _copy(found) if found is not None and found.org_id == org_id else None

    async def save_lost_reasons(self, reasons: Sequence[d.LostReason]) -> None:
        for reason in reasons:
            held = self.reason_rows.get(reason.id)
            self.reason_rows[reason.id] = (
                _copy(reason) if held is None
                else replace(held, label=reason.label, position=reason.position,
                             active=reason.active)
            )

    # --- opportunities ----------------------------------------------------------------------

    async def opportunity(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, *, lock: bool = False
    ) -> d.Opportunity | None:
        found = self.opportunity_rows.get(opportunity_id)
        return _copy(found) if found is not None and found.org_id == org_id else None

    async def opportunities(
        self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> list[d.Opportunity]:
        return [o for i in set(ids) if (o := await self.opportunity(org_id, i)) is not None]

    async def opportunity_exists(self, opportunity_id: uuid.UUID) -> bool:
        return opportunity_id in self.opportunity_rows

    async def add_opportunity(self, opp: d.Opportunity) -> None:
        self.opportunity_rows[opp.id] = _copy(opp)

    async def save_opportunity(self, opp: d.Opportunity) -> None:
        held = self.opportunity_rows.get(opp.id)
        if held is None or held.org_id != opp.org_id or held.version != opp.version:
            raise VersionConflictError(
                "Opportunity", opp.version, held.version if held is not None else 0
            )
        opp.version += 1
        self.opportunity_rows[opp.id] = _copy(opp)

    async def record_stage_change(self, org_id: uuid.UUID, change: d.StageChange) -> None:
        self.history_rows.append((org_id, change))

    async def history(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> list[d.StageChange]:
        found = [c for org, c in self.history_rows
                 if org == org_id and c.opportunity_id == opportunity_id]
        return sorted(found, key=lambda c: (c.changed_at, c.id))

    async def record_owner_change(self, org_id: uuid.UUID, change: d.OwnerChange) -> None:
        self.handover_rows.append((org_id, change))

    async def handovers(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> list[d.OwnerChange]:
        found = [c for org, c in self.handover_rows
                 if org == org_id and c.opportunity_id == opportunity_id]
        return sorted(found, key=lambda c: (c.changed_at, c.id))

    async def add_note(self, note: d.Note) -> None:
        self.note_rows[note.id] = note

    async def note(self, org_id: uuid.UUID, note_id: uuid.UUID) -> d.Note | None:
        found = self.note_rows.get(note_id)
        return found if found is not None and found.org_id == org_id else None

    async def notes(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> list[d.Note]:
        found = [n for n in self.note_rows.values()
                 if n.org_id == org_id and n.opportunity_id == opportunity_id]
        return sorted(found, key=lambda n: (n.created_at, n.id), reverse=True)[:d.NOTES_SHOWN]

    async def remove_note(self, org_id: uuid.UUID, note_id: uuid.UUID) -> None:
        if await self.note(org_id, note_id) is not None:
            del self.note_rows[note_id]

    async def refresh_next_contact(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> None:
        opp = self.opportunity_rows.get(opportunity_id)
        if opp is None or opp.org_id != org_id:
            return
        due = [a.due_at for a in self.activity_rows.values()
               if a.opportunity_id == opportunity_id and a.status is d.ActivityStatus.OPEN]
        opp.next_contact_at = min(due, default=None)

    async def mark_contact_made(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, at: datetime
    ) -> None:
        opp = self.opportunity_rows.get(opportunity_id)
        if opp is not None and opp.org_id == org_id and opp.contact_made_at is None:
            opp.contact_made_at = at

    async def record_offer(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, opportunity_id: uuid.UUID, at: datetime
    ) -> bool:
        if offer_id in self.offer_rows:
            return False
        self.offer_rows[offer_id] = IssuedOffer(org_id, opportunity_id, at)
        opp = self.opportunity_rows.get(opportunity_id)
        if opp is not None and opp.org_id == org_id and (
            opp.offer_issued_at is None or opp.offer_issued_at > at
        ):
            opp.offer_issued_at = at
        return True

    async def first_offer_issued_at(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> datetime | None:
        return min((o.issued_at for o in self.offer_rows.values()
                    if o.org_id == org_id and o.opportunity_id == opportunity_id), default=None)

    async def opportunity_page(
        self, caller: Caller, query: OpportunityQuery, page: PageRequest
    ) -> list[d.Opportunity]:
        found = (o for o in self.opportunity_rows.values() if _matches(caller, query, o))
        return [_copy(o) for o in keyset_page(
            found, lambda o: d.order_key(query.order, o), page,
            newest_first=query.order.descending)]

    async def move_unlocked(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, decide: MoveDecision
    ) -> d.Opportunity | None:
        opp = await self.opportunity(org_id, opportunity_id)
        if opp is None:
            return None
        pipeline = await self.pipeline(org_id, opp.pipeline_id)
        if pipeline is None:
            return None
        seen = _copy(opp)
        decided = decide(opp, pipeline)
        if decided is None:
            return None
        change, event = decided
        held = self.opportunity_rows[opp.id]
        unchanged = (
            (held.version, held.contact_made_at, held.next_contact_at, held.offer_issued_at)
            == (seen.version, seen.contact_made_at, seen.next_contact_at, seen.offer_issued_at)
            and self.pipeline_rows[pipeline.id].version == pipeline.version
        )
        if not unchanged:
            return None
        held.stage_id = opp.stage_id
        held.probability = opp.probability
        held.stage_entered_at = held.updated_at = opp.stage_entered_at
        held.version = seen.version + 1
        self.history_rows.append((org_id, change))
        self.outbox.append(event)
        return opp

    # --- the leads service's roster and accounts ---------------------------------------------

    async def member(self, org_id: uuid.UUID, member_id: uuid.UUID) -> d.RosterMember | None:
        held = self.member_rows.get((org_id, member_id))
        return None if held is None else held[0]

    async def record_member(self, member: d.RosterMember, version: int) -> bool:
        held = self.member_rows.get((member.org_id, member.member_id))
        if held is not None and held[1] >= version:
            return False
        self.member_rows[(member.org_id, member.member_id)] = (member, version)
        return True

    async def account_exists(self, org_id: uuid.UUID, account_id: uuid.UUID) -> bool:
        return (org_id, account_id) in self.account_rows

    async def record_account(self, org_id: uuid.UUID, account_id: uuid.UUID, version: int) -> bool:
        if (org_id, account_id) in self.account_rows:
            return False
        self.account_rows[(org_id, account_id)] = version
        return True

    # --- activities -------------------------------------------------------------------------

    async def activity(
        self, org_id: uuid.UUID, activity_id: uuid.UUID, *, lock: bool = False
    ) -> d.Activity | None:
        found = self.activity_rows.get(activity_id)
        return _copy(found) if found is not None and found.org_id == org_id else None

    async def open_activities(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, owner_id: uuid.UUID
    ) -> list[d.Activity]:
        return sorted((_copy(a) for a in self.activity_rows.values()
                       if a.org_id == org_id and a.opportunity_id == opportunity_id
                       and a.owner_id == owner_id and a.status is d.ActivityStatus.OPEN),
                      key=lambda a: (a.due_at, a.id))

    async def activities(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[d.Activity]:
        return [a for i in set(ids) if (a := await self.activity(org_id, i)) is not None]

    async def add_activity(self, activity: d.Activity) -> None:
        self.activity_rows[activity.id] = _copy(activity)

    async def save_activity(self, activity: d.Activity) -> None:
        held = self.activity_rows.get(activity.id)
        if held is None or held.org_id != activity.org_id or (
            held.version != activity.version - 1
        ):
            raise VersionConflictError("Activity", activity.version - 1, activity.version)
        self.activity_rows[activity.id] = _copy(activity)

    async def activity_page(
        self, caller: Caller, query: ActivityQuery, page: PageRequest
    ) -> list[d.Activity]:
        found = (a for a in self.activity_rows.values() if _activity_matches(caller, query, a))
        return [_copy(a) for a in keyset_page(found, lambda a: (a.due_at, a.id), page)]

    async def claim_overdue(self, now: datetime, limit: int) -> list[d.Activity]:
        found = [a for a in self.activity_rows.values()
                 if d.is_overdue(a, now) and a.overdue_notified_at is None]
        found.sort(key=lambda a: a.due_at)
        return [_copy(a) for a in found[:limit]]


def _matches(caller: Caller, q: OpportunityQuery, o: d.Opportunity) -> bool:
    if not d.can_see(caller, o.org_id, o.owner_id, o.team):
        return False
    if q.owner_ids and o.owner_id not in q.owner_ids:
        return False
    if q.stage_ids and o.stage_id not in q.stage_ids:
        return False
    if q.statuses and o.status not in q.statuses:
        return False
    if q.pipeline_id is not None and o.pipeline_id != q.pipeline_id:
        return False
    if q.account_ids and o.account_id not in q.account_ids:
        return False
    close = o.expected_close_date
    if q.close_from is not None and (close is None or close < q.close_from):
        return False
    if q.close_to is not None and (close is None or close > q.close_to):
        return False
    if q.stale_before is not None:
        before = q.stale_before.get(o.stage_id)
        if not o.is_open or before is None or not o.stage_entered_at < before:
            return False
    if q.no_next_contact and not (o.is_open and o.next_contact_at is None):
        return False
    return not q.text or search_form(q.text.strip()) in search_form(o.name)


def _activity_matches(caller: Caller, q: ActivityQuery, a: d.Activity) -> bool:
    return (
        d.can_see(caller, a.org_id, a.owner_id, a.team)
        and (q.owner_id is None or a.owner_id == q.owner_id)
        and (q.opportunity_id is None or a.opportunity_id == q.opportunity_id)
        and (q.due_from is None or a.due_at >= q.due_from)
        and (q.due_to is None or a.due_at < q.due_to)
        and (not q.statuses or a.status in q.statuses)
        and (q.overdue_at is None or d.is_overdue(a, q.overdue_at))
    )


def fake_uow(repo: FakePipelineRepository | None = None) -> FakeUnitOfWork[
    FakePipelineRepository
]:
    return FakeUnitOfWork(repo or FakePipelineRepository())

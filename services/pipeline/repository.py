"""Loading and saving the pipeline's aggregates. Every statement is scoped to one org."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Row,
    Uuid,
    and_,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Caller
from crmkit.errors import VersionConflictError
from services.pipeline import domain as d
from services.pipeline.tables import (
    activities,
    issued_offers,
    lost_reasons,
    opportunities,
    org_settings,
    pipelines,
    stage_history,
    stages,
)

# ------------------------------------------------------------------------ row mapping


def _stage(row: Row[Any]) -> d.Stage:
    return d.Stage(
        id=row.id,
        pipeline_id=row.pipeline_id,
        name=row.name,
        position=row.position,
        probability=row.probability,
        kind=d.StageKind(row.kind),
        rotting_days=row.rotting_days,
        requirements=tuple(d.Requirement(r) for r in row.requirements),
    )


def _stage_values(org_id: uuid.UUID, stage: d.Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "org_id": org_id,
        "pipeline_id": stage.pipeline_id,
        "name": stage.name,
        "position": stage.position,
        "probability": stage.probability,
        "kind": stage.kind.value,
        "rotting_days": stage.rotting_days,
        "requirements": [r.value for r in stage.requirements],
    }


def _opportunity(row: Row[Any]) -> d.Opportunity:
    return d.Opportunity(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        amount=row.amount,
        currency=row.currency,
        owner_id=row.owner_id,
        team=row.team,
        pipeline_id=row.pipeline_id,
        stage_id=row.stage_id,
        probability=row.probability,
        created_at=row.created_at,
        updated_at=row.updated_at,
        stage_entered_at=row.stage_entered_at,
        status=d.OpportunityStatus(row.status),
        account_id=row.account_id,
        expected_close_date=row.expected_close_date,
        qualification=d.Qualification(
            needs=row.needs,
            pain_points=row.pain_points,
            budget_amount=row.budget_amount,
            budget_currency=row.budget_currency,
            decision_makers=row.decision_makers,
            customer_preferences=row.customer_preferences,
            offer_requirements=row.offer_requirements,
        ),
        negotiation=d.Negotiation(
            price=row.negotiation_price,
            terms=row.negotiation_terms,
            delivery=row.negotiation_delivery,
            contract=row.negotiation_contract,
        ),
        close_reason_id=row.close_reason_id,
        close_comment=row.close_comment,
        lessons_learned=row.lessons_learned,
        closed_at=row.closed_at,
        last_open_stage_id=row.last_open_stage_id,
        contact_made_at=row.contact_made_at,
        offer_issued_at=row.offer_issued_at,
        next_contact_at=row.next_contact_at,
        lead_id=row.lead_id,
        created_by=row.created_by,
        version=row.version,
    )


def _opportunity_values(opp: d.Opportunity) -> dict[str, Any]:
    q, n = opp.qualification, opp.negotiation
    return {
        "id": opp.id,
        "org_id": opp.org_id,
        "name": opp.name,
        "amount": opp.amount,
        "currency": opp.currency,
        "expected_close_date": opp.expected_close_date,
        "account_id": opp.account_id,
        "owner_id": opp.owner_id,
        "team": opp.team,
        "pipeline_id": opp.pipeline_id,
        "stage_id": opp.stage_id,
        "last_open_stage_id": opp.last_open_stage_id,
        "status": opp.status.value,
        "probability": opp.probability,
        "needs": q.needs,
        "pain_points": q.pain_points,
        "budget_amount": q.budget_amount,
        "budget_currency": q.budget_currency,
        "decision_makers": q.decision_makers,
        "customer_preferences": q.customer_preferences,
        "offer_requirements": q.offer_requirements,
        "negotiation_price": n.price,
        "negotiation_terms": n.terms,
        "negotiation_delivery": n.delivery,
        "negotiation_contract": n.contract,
        "close_reason_id": opp.close_reason_id,
        "close_comment": opp.close_comment,
        "lessons_learned": opp.lessons_learned,
        "closed_at": opp.closed_at,
        "contact_made_at": opp.contact_made_at,
        "offer_issued_at": opp.offer_issued_at,
        "next_contact_at": opp.next_contact_at,
        "lead_id": opp.lead_id,
        "created_by": opp.created_by,
        "version": opp.version,
        "created_at": opp.created_at,
        "updated_at": opp.updated_at,
        "stage_entered_at": opp.stage_entered_at,
    }


def _activity(row: Row[Any]) -> d.Activity:
    return d.Activity(
        id=row.id,
        org_id=row.org_id,
        opportunity_id=row.opportunity_id,
        owner_id=row.owner_id,
        team=row.team,
        kind=d.ActivityKind(row.kind),
        subject=row.subject,
        due_at=row.due_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        notes=row.notes,
        status=d.ActivityStatus(row.status),
        completed_at=row.completed_at,
        outcome=row.outcome,
        overdue_notified_at=row.overdue_notified_at,
        version=row.version,
    )


def _activity_values(a: d.Activity) -> dict[str, Any]:
    return {
        "id": a.id,
        "org_id": a.org_id,
        "opportunity_id": a.opportunity_id,
        "owner_id": a.owner_id,
        "team": a.team,
        "kind": a.kind.value,
        "subject": a.subject,
        "notes": a.notes,
        "due_at": a.due_at,
        "status": a.status.value,
        "completed_at": a.completed_at,
        "outcome": a.outcome,
        "overdue_notified_at": a.overdue_notified_at,
        "version": a.version,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    }


def _lost_reason(row: Row[Any]) -> d.LostReason:
    return d.LostReason(
        id=row.id,
        org_id=row.org_id,
        label=row.label,
        position=row.position,
        code=row.code,
        active=row.active,
    )


def visible_to(caller: Caller, owner: Any, team: Any) -> ColumnElement[bool] | None:
    """The rows a caller may see beyond the org filter; None for an admin (all of them)."""
    if caller.is_admin:
        return None
    if caller.is_manager and caller.team is not None:
        return or_(team == caller.team, owner == caller.member_id)
    return owner == caller.member_id  # type: ignore[no-any-return]


# ------------------------------------------------------------------------- list queries


@dataclass(frozen=True)
class OpportunityQuery:
    owner_ids: Sequence[uuid.UUID] = ()
    stage_ids: Sequence[uuid.UUID] = ()
    statuses: Sequence[d.OpportunityStatus] = ()
    pipeline_id: uuid.UUID | None = None
    close_from: date | None = None
    close_to: date | None = None
    # Rotting stage id -> entered before this moment means stale; set means "stale only".
    stale_before: dict[uuid.UUID, datetime] | None = None
    no_next_contact: bool = False
    text: str | None = None


@dataclass(frozen=True)
class ActivityQuery:
    owner_id: uuid.UUID | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    statuses: Sequence[d.ActivityStatus] = ()
    opportunity_id: uuid.UUID | None = None
    overdue_at: datetime | None = None


class PipelineRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---------------------------------------------------------------- org settings

    async def locale(self, org_id: uuid.UUID) -> d.Locale:
        value = await self.session.scalar(
            select(org_settings.c.locale).where(org_settings.c.org_id == org_id)
        )
        return d.Locale(value) if value else d.Locale.EN

    async def set_locale(self, org_id: uuid.UUID, locale: d.Locale, now: datetime) -> None:
        stmt = pg_insert(org_settings).values(
            org_id=org_id, locale=locale.value, created_at=now, updated_at=now
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[org_settings.c.org_id],
                set_={"locale": stmt.excluded.locale, "updated_at": now},
            )
        )

    # ------------------------------------------------------------------- pipelines

    async def insert_default_pipeline(self, pipeline: d.Pipeline, now: datetime) -> bool:
        """Insert the org's default pipeline unless another transaction already did."""
        created = await self.session.execute(
            pg_insert(pipelines)
            .values(
                id=pipeline.id, org_id=pipeline.org_id, name=pipeline.name, is_default=True,
                version=pipeline.version, created_at=now, updated_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=[pipelines.c.org_id], index_where=pipelines.c.is_default
            )
            .returning(pipelines.c.id)
        )
        if created.first() is None:
            return False
        await self.session.execute(
            insert(stages), [_stage_values(pipeline.org_id, s) for s in pipeline.stages]
        )
        return True

    async def add_pipeline(self, pipeline: d.Pipeline, now: datetime) -> None:
        await self.session.execute(
            insert(pipelines).values(
                id=pipeline.id, org_id=pipeline.org_id, name=pipeline.name,
                is_default=pipeline.is_default, version=pipeline.version, created_at=now,
                updated_at=now,
            )
        )
        await self.session.execute(
            insert(stages), [_stage_values(pipeline.org_id, s) for s in pipeline.stages]
        )

    async def pipelines(
        self, org_id: uuid.UUID, *, pipeline_id: uuid.UUID | None = None,
        for_update: bool = False,
    ) -> list[d.Pipeline]:
        query = select(pipelines).where(pipelines.c.org_id == org_id)
        if pipeline_id is not None:
            query = query.where(pipelines.c.id == pipeline_id)
        if for_update:
            query = query.with_for_update()
        rows = (await self.session.execute(
            query.order_by(pipelines.c.is_default.desc(), pipelines.c.created_at)
        )).all()
        if not rows:
            return []
        stage_query = select(stages).where(stages.c.org_id == org_id)
        if pipeline_id is not None:
            stage_query = stage_query.where(stages.c.pipeline_id == pipeline_id)
        by_pipeline: dict[uuid.UUID, list[d.Stage]] = {r.id: [] for r in rows}
        for row in (await self.session.execute(stage_query.order_by(stages.c.position))).all():
            if row.pipeline_id in by_pipeline:
                by_pipeline[row.pipeline_id].append(_stage(row))
        return [
            d.Pipeline(
                id=r.id, org_id=r.org_id, name=r.name, is_default=r.is_default,
                stages=by_pipeline[r.id], version=r.version,
            )
            for r in rows
        ]

    async def pipeline(
        self, org_id: uuid.UUID, pipeline_id: uuid.UUID, *, for_update: bool = False
    ) -> d.Pipeline | None:
        found = await self.pipelines(org_id, pipeline_id=pipeline_id, for_update=for_update)
        return found[0] if found else None

    async def pipeline_of_stage(self, org_id: uuid.UUID, stage_id: uuid.UUID) -> uuid.UUID | None:
        return await self.session.scalar(
            select(stages.c.pipeline_id).where(stages.c.org_id == org_id, stages.c.id == stage_id)
        )

    async def save_pipeline(
        self, pipeline: d.Pipeline, now: datetime, removed: Sequence[uuid.UUID] = ()
    ) -> None:
        """Write a changed pipeline and all its stages; bumps ``version``."""
        result = await self.session.execute(
            update(pipelines)
            .where(pipelines.c.id == pipeline.id, pipelines.c.org_id == pipeline.org_id,
                   pipelines.c.version == pipeline.version)
            .values(name=pipeline.name, version=pipeline.version + 1, updated_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise VersionConflictError("Pipeline", pipeline.version, pipeline.version + 1)
        pipeline.version += 1
        if removed:
            await self.session.execute(
                delete(stages).where(stages.c.org_id == pipeline.org_id, stages.c.id.in_(removed))
            )
        stmt = pg_insert(stages).values(
            [_stage_values(pipeline.org_id, s) for s in pipeline.stages]
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[stages.c.id],
                set_={
                    c: stmt.excluded[c]
                    for c in ("name", "position", "probability", "kind", "rotting_days",
                              "requirements")
                },
            )
        )

    async def stage_in_use(self, org_id: uuid.UUID, stage_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(opportunities.c.id)
            .where(opportunities.c.org_id == org_id, opportunities.c.stage_id == stage_id)
            .limit(1)
        )
        return found is not None

    async def relocate_stage(
        self, org_id: uuid.UUID, from_stage: uuid.UUID, to_stage: d.Stage, now: datetime,
        actor: uuid.UUID | None,
    ) -> int:
        """Move every opportunity of a stage being removed, recording each move."""
        await self.session.execute(
            insert(stage_history).from_select(
                ["id", "org_id", "opportunity_id", "from_stage_id", "to_stage_id",
                 "changed_at", "changed_by", "seconds_in_previous_stage"],
                select(
                    func.gen_random_uuid(), opportunities.c.org_id, opportunities.c.id,
                    opportunities.c.stage_id,
                    literal(to_stage.id, Uuid),
                    literal(now, DateTime(timezone=True)),
                    literal(actor, Uuid),
                    func.greatest(
                        0,
                        func.extract("epoch", literal(now) - opportunities.c.stage_entered_at),
                    ).cast(Integer),
                ).where(opportunities.c.org_id == org_id, opportunities.c.stage_id == from_stage),
            )
        )
        result = await self.session.execute(
            update(opportunities)
            .where(opportunities.c.org_id == org_id, opportunities.c.stage_id == from_stage)
            .values(stage_id=to_stage.id, stage_entered_at=now, updated_at=now,
                    probability=to_stage.probability, version=opportunities.c.version + 1)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- lost reasons

    async def lost_reasons(
        self, org_id: uuid.UUID, *, include_inactive: bool = False
    ) -> list[d.LostReason]:
        query = select(lost_reasons).where(lost_reasons.c.org_id == org_id)
        if not include_inactive:
            query = query.where(lost_reasons.c.active)
        rows = await self.session.execute(query.order_by(lost_reasons.c.position))
        return [_lost_reason(r) for r in rows.all()]

    async def lost_reason(self, org_id: uuid.UUID, reason_id: uuid.UUID) -> d.LostReason | None:
        row = (await self.session.execute(
            select(lost_reasons).where(lost_reasons.c.org_id == org_id,
                                       lost_reasons.c.id == reason_id)
        )).first()
        return _lost_reason(row) if row else None

    async def save_lost_reasons(self, reasons: Sequence[d.LostReason]) -> None:
        if not reasons:
            return
        stmt = pg_insert(lost_reasons).values([
            {"id": r.id, "org_id": r.org_id, "code": r.code, "label": r.label,
             "position": r.position, "active": r.active}
            for r in reasons
        ])
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[lost_reasons.c.id],
                set_={"label": stmt.excluded.label, "position": stmt.excluded.position,
                      "active": stmt.excluded.active},
            )
        )

    # --------------------------------------------------------------- opportunities

    async def opportunity(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, *, for_update: bool = False
    ) -> d.Opportunity | None:
        query = select(opportunities).where(
            opportunities.c.org_id == org_id, opportunities.c.id == opportunity_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _opportunity(row) if row else None

    async def opportunity_exists(self, opportunity_id: uuid.UUID) -> bool:
        """Across orgs: an id carried by an event must never be reused in another org."""
        found = await self.session.scalar(
            select(opportunities.c.id).where(opportunities.c.id == opportunity_id)
        )
        return found is not None

    async def add_opportunity(self, opp: d.Opportunity) -> None:
        await self.session.execute(insert(opportunities).values(_opportunity_values(opp)))

    async def save_opportunity(self, opp: d.Opportunity) -> None:
        """Write a changed opportunity, bumping ``version``; refuses a lost update."""
        values = _opportunity_values(opp)
        values["version"] = opp.version + 1
        for key in ("id", "org_id", "created_at", "created_by", "lead_id"):
            values.pop(key)
        result = await self.session.execute(
            update(opportunities)
            .where(opportunities.c.id == opp.id, opportunities.c.org_id == opp.org_id,
                   opportunities.c.version == opp.version)
            .values(values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            current = await self.session.scalar(
                select(opportunities.c.version).where(opportunities.c.id == opp.id)
            )
            raise VersionConflictError("Opportunity", opp.version, int(current or 0))
        opp.version += 1

    async def record_stage_change(self, org_id: uuid.UUID, change: d.StageChange) -> None:
        await self.session.execute(
            insert(stage_history).values(
                id=change.id, org_id=org_id, opportunity_id=change.opportunity_id,
                from_stage_id=change.from_stage_id, to_stage_id=change.to_stage_id,
                changed_at=change.changed_at, changed_by=change.changed_by,
                seconds_in_previous_stage=change.seconds_in_previous_stage,
            )
        )

    async def history(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> list[d.StageChange]:
        rows = await self.session.execute(
            select(stage_history)
            .where(stage_history.c.org_id == org_id,
                   stage_history.c.opportunity_id == opportunity_id)
            .order_by(stage_history.c.changed_at, stage_history.c.id)
        )
        return [
            d.StageChange(
                id=r.id, opportunity_id=r.opportunity_id, from_stage_id=r.from_stage_id,
                to_stage_id=r.to_stage_id, changed_at=r.changed_at, changed_by=r.changed_by,
                seconds_in_previous_stage=r.seconds_in_previous_stage,
            )
            for r in rows.all()
        ]

    async def refresh_next_contact(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> None:
        """``next_contact_at`` = the earliest open activity; derived, so no version bump."""
        earliest = (
            select(func.min(activities.c.due_at))
            .where(activities.c.opportunity_id == opportunity_id,
                   activities.c.status == d.ActivityStatus.OPEN.value)
            .scalar_subquery()
        )
        await self.session.execute(
            update(opportunities)
            .where(opportunities.c.org_id == org_id, opportunities.c.id == opportunity_id)
            .values(next_contact_at=earliest)
        )

    async def mark_contact_made(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID, at: datetime
    ) -> None:
        await self.session.execute(
            update(opportunities)
            .where(opportunities.c.org_id == org_id, opportunities.c.id == opportunity_id,
                   opportunities.c.contact_made_at.is_(None))
            .values(contact_made_at=at)
        )

    async def record_offer(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, opportunity_id: uuid.UUID, at: datetime
    ) -> bool:
        """Remember an issued offer and mark its opportunity; False when already known."""
        added = await self.session.execute(
            pg_insert(issued_offers)
            .values(offer_id=offer_id, org_id=org_id, opportunity_id=opportunity_id,
                    issued_at=at)
            .on_conflict_do_nothing()
            .returning(issued_offers.c.offer_id)
        )
        if added.first() is None:
            return False
        await self.session.execute(
            update(opportunities)
            .where(opportunities.c.org_id == org_id, opportunities.c.id == opportunity_id,
                   or_(opportunities.c.offer_issued_at.is_(None),
                       opportunities.c.offer_issued_at > at))
            .values(offer_issued_at=at)
        )
        return True

    async def first_offer_issued_at(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> datetime | None:
        first: datetime | None = await self.session.scalar(
            select(func.min(issued_offers.c.issued_at)).where(
                issued_offers.c.org_id == org_id,
                issued_offers.c.opportunity_id == opportunity_id,
            )
        )
        return first

    async def opportunity_page(
        self,
        caller: Caller,
        query: OpportunityQuery,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
    ) -> list[d.Opportunity]:
        """Newest first, keyset-paged on ``(created_at, id)``; ``limit + 1`` rows tell whether
        there is a next page."""
        o = opportunities.c
        conditions: list[ColumnElement[bool]] = [o.org_id == caller.org_id]
        visibility = visible_to(caller, o.owner_id, o.team)
        if visibility is not None:
            conditions.append(visibility)
        if query.owner_ids:
            conditions.append(o.owner_id.in_(query.owner_ids))
        if query.stage_ids:
            conditions.append(o.stage_id.in_(query.stage_ids))
        if query.statuses:
            conditions.append(o.status.in_([s.value for s in query.statuses]))
        if query.pipeline_id is not None:
            conditions.append(o.pipeline_id == query.pipeline_id)
        if query.close_from is not None:
            conditions.append(o.expected_close_date >= query.close_from)
        if query.close_to is not None:
            conditions.append(o.expected_close_date <= query.close_to)
        if query.stale_before is not None:
            conditions.append(o.status == d.OpportunityStatus.OPEN.value)
            conditions.append(
                or_(*[
                    and_(o.stage_id == stage_id, o.stage_entered_at < before)
                    for stage_id, before in query.stale_before.items()
                ]) if query.stale_before else false()
            )
        if query.no_next_contact:
            conditions.append(o.status == d.OpportunityStatus.OPEN.value)
            conditions.append(o.next_contact_at.is_(None))
        if query.text:
            conditions.append(o.name.ilike(d.like_pattern(query.text)))
        if after is not None:
            conditions.append(func.row(o.created_at, o.id) < func.row(after[0], after[1]))
        rows = await self.session.execute(
            select(opportunities)
            .where(*conditions)
            .order_by(o.created_at.desc(), o.id.desc())
            .limit(limit + 1)
        )
        return [_opportunity(r) for r in rows.all()]

    # ------------------------------------------------------------------ activities

    async def activity(
        self, org_id: uuid.UUID, activity_id: uuid.UUID, *, for_update: bool = False
    ) -> d.Activity | None:
        query = select(activities).where(
            activities.c.org_id == org_id, activities.c.id == activity_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _activity(row) if row else None

    async def activities(self, org_id: uuid.UUID, ids: list[uuid.UUID]) -> list[d.Activity]:
        """The activities among ``ids`` (any order): entity references, one query."""
        query = select(activities).where(activities.c.org_id == org_id, activities.c.id.in_(ids))
        return [_activity(row) for row in await self.session.execute(query)]

    async def add_activity(self, activity: d.Activity) -> None:
        await self.session.execute(insert(activities).values(_activity_values(activity)))

    async def save_activity(self, activity: d.Activity) -> None:
        """Write an activity whose domain method already bumped ``version``."""
        values = _activity_values(activity)
        for key in ("id", "org_id", "created_at", "opportunity_id"):
            values.pop(key)
        result = await self.session.execute(
            update(activities)
            .where(activities.c.id == activity.id, activities.c.org_id == activity.org_id,
                   activities.c.version == activity.version - 1)
            .values(values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise VersionConflictError("Activity", activity.version - 1, activity.version)

    async def activity_page(
        self,
        caller: Caller,
        query: ActivityQuery,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
    ) -> list[d.Activity]:
        """By due time, keyset-paged on ``(due_at, id)``."""
        a = activities.c
        conditions: list[ColumnElement[bool]] = [a.org_id == caller.org_id]
        visibility = visible_to(caller, a.owner_id, a.team)
        if visibility is not None:
            conditions.append(visibility)
        if query.owner_id is not None:
            conditions.append(a.owner_id == query.owner_id)
        if query.opportunity_id is not None:
            conditions.append(a.opportunity_id == query.opportunity_id)
        if query.due_from is not None:
            conditions.append(a.due_at >= query.due_from)
        if query.due_to is not None:
            conditions.append(a.due_at < query.due_to)
        if query.statuses:
            conditions.append(a.status.in_([s.value for s in query.statuses]))
        if query.overdue_at is not None:
            conditions.append(a.status == d.ActivityStatus.OPEN.value)
            conditions.append(a.due_at < query.overdue_at)
        if after is not None:
            conditions.append(func.row(a.due_at, a.id) > func.row(after[0], after[1]))
        rows = await self.session.execute(
            select(activities).where(*conditions).order_by(a.due_at, a.id).limit(limit + 1)
        )
        return [_activity(r) for r in rows.all()]

    async def claim_overdue(self, now: datetime, limit: int) -> list[d.Activity]:
        """Open activities past due and not yet announced, locked for this transaction;
        rows another worker holds are skipped."""
        rows = await self.session.execute(
            select(activities)
            .where(activities.c.status == d.ActivityStatus.OPEN.value,
                   activities.c.overdue_notified_at.is_(None),
                   activities.c.due_at <= now)
            .order_by(activities.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_activity(r) for r in rows.all()]

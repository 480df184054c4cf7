"""What the pipeline's use cases share: the unit of work they run in, the clock, the org's
default pipeline and the lookups of what a caller may change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from crmkit.auth import Caller
from crmkit.commands import Command, must_exist
from crmkit.errors import NotFoundError
from crmkit.uow import UnitOfWork
from services.pipeline import domain as d
from services.pipeline import events
from services.pipeline.ports import PipelineRepository

Work = UnitOfWork[PipelineRepository]


def now() -> datetime:
    return datetime.now(UTC)


async def default_pipeline(org_id: uuid.UUID, uow: Work, actor: uuid.UUID | None) -> d.Pipeline:
    """The org's default pipeline, created with the default lost reasons on first use (inside
    the caller's open unit of work; its events go out with the caller's commit)."""
    found = [p for p in await uow.repo.pipelines(org_id) if p.is_default]
    if found:
        return found[0]
    locale = await uow.repo.locale(org_id)
    pipeline = d.new_pipeline(org_id, locale, is_default=True)
    if await uow.repo.insert_default_pipeline(pipeline, now()):
        await uow.repo.save_lost_reasons(d.default_lost_reasons(org_id, locale))
        uow.emit(events.pipeline_configured(pipeline, actor))
        return pipeline
    # Another transaction created it first; use theirs.
    return next(p for p in await uow.repo.pipelines(org_id) if p.is_default)


async def pipeline_of(repo: PipelineRepository, opp: d.Opportunity) -> d.Pipeline:
    pipeline = must_exist(
        await repo.pipeline(opp.org_id, opp.pipeline_id), "Pipeline", opp.pipeline_id
    )
    return pipeline


class OfOpportunity(Command):
    """A read of what an opportunity holds (its history, its notes), the opportunity as
    read for the caller."""

    opportunity: d.Opportunity


def seen_opportunity(query: OfOpportunity) -> d.Opportunity:
    opp = query.opportunity
    if not d.can_see(query.caller, opp.org_id, opp.owner_id, opp.team):
        raise NotFoundError("Opportunity", opp.id)
    return opp


async def visible_opportunity(
    repo: PipelineRepository, caller: Caller, opportunity_id: uuid.UUID, *, lock: bool = False
) -> d.Opportunity:
    """The opportunity when the caller sees it."""
    opp = await repo.opportunity(caller.org_id, opportunity_id, lock=lock)
    if opp is None or not d.can_see(caller, opp.org_id, opp.owner_id, opp.team):
        # Someone else's opportunity is answered as missing: its existence is not revealed.
        raise NotFoundError("Opportunity", opportunity_id)
    return opp


async def changeable_opportunity(
    repo: PipelineRepository, caller: Caller, opportunity_id: uuid.UUID
) -> d.Opportunity:
    """The opportunity, locked, when the caller may change it."""
    opp = await visible_opportunity(repo, caller, opportunity_id, lock=True)
    d.ensure_can_change(caller, opp)
    return opp

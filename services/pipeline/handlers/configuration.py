"""Pipelines and their stages, the lost-reason catalogue and the org's locale: an admin's
configuration, and reading it (the defaults are created on first use)."""

from __future__ import annotations

import uuid

from crmkit.auth import Caller
from crmkit.commands import Command, must_exist
from crmkit.errors import InvalidInput, ProblemCollector
from services.pipeline import domain as d
from services.pipeline import events
from services.pipeline.handlers.common import Work, default_pipeline, now


class OrgQuery(Command):
    """A read of the caller's org's configuration."""


async def pipelines(query: OrgQuery, uow: Work) -> list[d.Pipeline]:
    """The org's pipelines, the default one first (created on first use)."""
    async with uow:
        await default_pipeline(query.caller.org_id, uow, query.caller.member_id)
        await uow.commit()
        return await uow.repo.pipelines(query.caller.org_id)


class ListLostReasons(Command):
    include_inactive: bool = False


async def lost_reasons(query: ListLostReasons, uow: Work) -> list[d.LostReason]:
    async with uow:
        await default_pipeline(query.caller.org_id, uow, query.caller.member_id)
        await uow.commit()
        return await uow.repo.lost_reasons(
            query.caller.org_id, include_inactive=query.include_inactive
        )


class LostReasonById(Command):
    reason_id: uuid.UUID


async def lost_reason(query: LostReasonById, uow: Work) -> d.LostReason | None:
    async with uow:
        return await uow.repo.lost_reason(query.caller.org_id, query.reason_id)


async def organization_locale(query: OrgQuery, uow: Work) -> d.Locale:
    async with uow:
        return await uow.repo.locale(query.caller.org_id)


class SetLocale(Command):
    locale: d.Locale


async def set_locale(cmd: SetLocale, uow: Work) -> d.Locale:
    d.ensure_admin(cmd.caller, "change the organisation's settings")
    async with uow:
        await uow.repo.set_locale(cmd.caller.org_id, cmd.locale, now())
        # Announced even when unchanged: setting it again re-announces an org's locale set
        # before the event existed.
        uow.emit(events.organization_settings_changed(
            cmd.caller.org_id, cmd.locale, cmd.caller.member_id))
        await uow.commit()
    return cmd.locale


# --- pipelines and stages -----------------------------------------------------------------------


async def _pipeline_for_config(uow: Work, caller: Caller, pipeline_id: uuid.UUID) -> d.Pipeline:
    d.ensure_admin(caller)
    pipeline = must_exist(
        await uow.repo.pipeline(caller.org_id, pipeline_id, lock=True), "Pipeline", pipeline_id
    )
    return pipeline


async def _pipeline_of_stage(uow: Work, caller: Caller, stage_id: uuid.UUID) -> d.Pipeline:
    d.ensure_admin(caller)
    pipeline_id = must_exist(
        await uow.repo.pipeline_of_stage(caller.org_id, stage_id), "Stage", stage_id
    )
    return await _pipeline_for_config(uow, caller, pipeline_id)


async def _save_config(
    uow: Work,
    pipeline: d.Pipeline,
    caller: Caller,
    *,
    removed: list[uuid.UUID] | None = None,
    moved_to: dict[uuid.UUID, uuid.UUID] | None = None,
) -> d.Pipeline:
    await uow.repo.save_pipeline(pipeline, now(), removed or [])
    uow.emit(events.pipeline_configured(
        pipeline, caller.member_id, removed=removed, moved_to=moved_to
    ))
    await uow.commit()
    return pipeline


class CreatePipeline(Command):
    name: str


async def create_pipeline(cmd: CreatePipeline, uow: Work) -> d.Pipeline:
    d.ensure_admin(cmd.caller)
    problems = ProblemCollector()
    d.check_name(cmd.name, "name", problems)
    problems.raise_if_any()
    async with uow:
        await default_pipeline(cmd.caller.org_id, uow, cmd.caller.member_id)
        locale = await uow.repo.locale(cmd.caller.org_id)
        pipeline = d.new_pipeline(cmd.caller.org_id, locale, name=cmd.name.strip())
        await uow.repo.add_pipeline(pipeline, now())
        uow.emit(events.pipeline_configured(pipeline, cmd.caller.member_id))
        await uow.commit()
    return pipeline


class AddStage(Command):
    pipeline_id: uuid.UUID
    spec: d.StageSpec
    position: int | None = None


async def add_stage(cmd: AddStage, uow: Work) -> d.Pipeline:
    async with uow:
        pipeline = await _pipeline_for_config(uow, cmd.caller, cmd.pipeline_id)
        d.add_stage(pipeline, cmd.spec, cmd.position, uuid.uuid4())
        return await _save_config(uow, pipeline, cmd.caller)


class UpdateStage(Command):
    stage_id: uuid.UUID
    spec: d.StageSpec


async def update_stage(cmd: UpdateStage, uow: Work) -> d.Pipeline:
    async with uow:
        pipeline = await _pipeline_of_stage(uow, cmd.caller, cmd.stage_id)
        d.update_stage(pipeline, cmd.stage_id, cmd.spec)
        return await _save_config(uow, pipeline, cmd.caller)


class ReorderStages(Command):
    pipeline_id: uuid.UUID
    stage_ids: list[uuid.UUID]


async def reorder_stages(cmd: ReorderStages, uow: Work) -> d.Pipeline:
    async with uow:
        pipeline = await _pipeline_for_config(uow, cmd.caller, cmd.pipeline_id)
        d.reorder_stages(pipeline, cmd.stage_ids)
        return await _save_config(uow, pipeline, cmd.caller)


class RemoveStage(Command):
    stage_id: uuid.UUID
    move_to: uuid.UUID | None = None


async def remove_stage(cmd: RemoveStage, uow: Work) -> d.Pipeline:
    caller = cmd.caller
    async with uow:
        pipeline = await _pipeline_of_stage(uow, caller, cmd.stage_id)
        in_use = await uow.repo.stage_in_use(caller.org_id, cmd.stage_id)
        target = d.remove_stage(pipeline, cmd.stage_id, cmd.move_to, in_use)
        moved: dict[uuid.UUID, uuid.UUID] = {}
        if target is not None:
            await uow.repo.relocate_stage(
                caller.org_id, cmd.stage_id, target, now(), caller.member_id
            )
            moved[cmd.stage_id] = target.id
        return await _save_config(
            uow, pipeline, caller, removed=[cmd.stage_id], moved_to=moved
        )


# --- lost reasons -------------------------------------------------------------------------------


class AddLostReason(Command):
    label: str


async def add_lost_reason(cmd: AddLostReason, uow: Work) -> d.LostReason:
    d.ensure_admin(cmd.caller, "manage lost reasons")
    problems = ProblemCollector()
    d.check_name(cmd.label, "label", problems, d.REASON_LABEL_MAX)
    problems.raise_if_any()
    label = cmd.label.strip()
    async with uow:
        await default_pipeline(cmd.caller.org_id, uow, cmd.caller.member_id)
        existing = await uow.repo.lost_reasons(cmd.caller.org_id, include_inactive=True)
        if any(r.label.casefold() == label.casefold() for r in existing):
            raise InvalidInput.field("label", "a lost reason with this label exists")
        reason = d.LostReason(
            id=uuid.uuid4(), org_id=cmd.caller.org_id, label=label,
            position=max((r.position for r in existing), default=-1) + 1,
        )
        await uow.repo.save_lost_reasons([reason])
        await uow.commit()
    return reason


class UpdateLostReason(Command):
    reason_id: uuid.UUID
    label: str | None = None
    active: bool | None = None


async def update_lost_reason(cmd: UpdateLostReason, uow: Work) -> d.LostReason:
    d.ensure_admin(cmd.caller, "manage lost reasons")
    async with uow:
        reason = must_exist(
            await uow.repo.lost_reason(cmd.caller.org_id, cmd.reason_id),
            "LostReason", cmd.reason_id
        )
        if cmd.label is not None:
            problems = ProblemCollector()
            d.check_name(cmd.label, "label", problems, d.REASON_LABEL_MAX)
            problems.raise_if_any()
            reason.label = cmd.label.strip()
        if cmd.active is not None:
            reason.active = cmd.active
        await uow.repo.save_lost_reasons([reason])
        await uow.commit()
    return reason

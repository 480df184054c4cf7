"""Pipelines, stages, lost reasons and the org's locale in GraphQL. Thin: resolvers call the
handlers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from crmkit.graphql import CommonError
from crmkit.results import answer_mutation
from crmkit.schema_context import gid, optional_id, parse_id
from services.pipeline import domain as d
from services.pipeline.handlers import configuration as h
from services.pipeline.schema.context import Info, caller, uow

# The domain's enums are the API's (one list of members).
strawberry.enum(d.StageKind)
strawberry.enum(d.Requirement)
strawberry.enum(d.Locale)


@strawberry.type
class Stage:
    id: strawberry.ID
    pipeline_id: strawberry.ID
    name: str
    position: int
    probability: int
    kind: d.StageKind
    rotting_days: int | None
    requirements: list[d.Requirement]

    @classmethod
    def of(cls, s: d.Stage) -> Stage:
        return cls(
            id=gid(s.id), pipeline_id=gid(s.pipeline_id), name=s.name, position=s.position,
            probability=s.probability, kind=s.kind, rotting_days=s.rotting_days,
            requirements=list(s.requirements),
        )


@strawberry.type
class Pipeline:
    id: strawberry.ID
    name: str
    is_default: bool
    version: int
    stages: list[Stage]

    @classmethod
    def of(cls, p: d.Pipeline) -> Pipeline:
        return cls(
            id=gid(p.id), name=p.name, is_default=p.is_default, version=p.version,
            stages=[Stage.of(s) for s in p.ordered_stages()],
        )


@strawberry.type
class LostReason:
    id: strawberry.ID
    label: str
    code: str | None
    active: bool
    position: int

    @classmethod
    def of(cls, r: d.LostReason) -> LostReason:
        return cls(id=gid(r.id), label=r.label, code=r.code, active=r.active,
                   position=r.position)


@strawberry.type
class OrganizationSettings:
    locale: d.Locale


@strawberry.type
class PipelinePayload:
    pipeline: Pipeline


@strawberry.type
class LostReasonPayload:
    lost_reason: LostReason


@strawberry.type
class OrganizationSettingsPayload:
    settings: OrganizationSettings


PipelineResult = Annotated[PipelinePayload | CommonError, strawberry.union("PipelineResult")]
LostReasonResult = Annotated[
    LostReasonPayload | CommonError, strawberry.union("LostReasonResult")
]
OrganizationSettingsResult = Annotated[
    OrganizationSettingsPayload | CommonError, strawberry.union("OrganizationSettingsResult")
]


@strawberry.input
class StageInput:
    name: str
    probability: int = 0
    kind: d.StageKind = d.StageKind.OPEN
    rotting_days: int | None = None
    requirements: list[d.Requirement] = strawberry.field(default_factory=list)


@strawberry.input(description="Fields to change; `clearRottingDays` removes the limit.")
class StagePatchInput:
    name: str | None = None
    probability: int | None = None
    kind: d.StageKind | None = None
    rotting_days: int | None = None
    clear_rotting_days: bool = False
    requirements: list[d.Requirement] | None = None


@strawberry.type
class ConfigurationQuery:
    @strawberry.field(description="The org's pipelines, the default one first.")  # type: ignore[untyped-decorator]
    async def pipelines(self, info: Info) -> list[Pipeline]:
        found = await h.pipelines(h.OrgQuery(caller(info)), uow(info))
        return [Pipeline.of(p) for p in found]

    @strawberry.field
    async def lost_reasons(self, info: Info, include_inactive: bool = False) -> list[LostReason]:
        found = await h.lost_reasons(h.ListLostReasons(caller(info), include_inactive), uow(info))
        return [LostReason.of(r) for r in found]


@strawberry.type
class SettingsQuery:
    @strawberry.field
    async def organization_settings(self, info: Info) -> OrganizationSettings:
        locale = await h.organization_locale(h.OrgQuery(caller(info)), uow(info))
        return OrganizationSettings(locale=locale)


@strawberry.type
class ConfigurationMutation:
    @strawberry.mutation(description="Admin: a new pipeline with the default stages.")  # type: ignore[untyped-decorator]
    async def create_pipeline(self, info: Info, name: str) -> PipelineResult:
        async def run() -> PipelinePayload:
            found = await h.create_pipeline(h.CreatePipeline(caller(info), name), uow(info))
            return PipelinePayload(pipeline=Pipeline.of(found))

        return await answer_mutation(run())

    @strawberry.mutation(description="Admin: add a stage at `position` (default: last).")  # type: ignore[untyped-decorator]
    async def add_stage(
        self, info: Info, pipeline_id: strawberry.ID, input: StageInput,
        position: int | None = None,
    ) -> PipelineResult:
        async def run() -> PipelinePayload:
            spec = d.StageSpec(name=input.name, probability=input.probability, kind=input.kind,
                               rotting_days=input.rotting_days,
                               requirements=[r.value for r in input.requirements])
            cmd = h.AddStage(caller(info), parse_id(pipeline_id, "pipelineId"), spec, position)
            return PipelinePayload(pipeline=Pipeline.of(await h.add_stage(cmd, uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation(description="Admin: rename a stage or change its settings.")  # type: ignore[untyped-decorator]
    async def update_stage(
        self, info: Info, stage_id: strawberry.ID, patch: StagePatchInput
    ) -> PipelineResult:
        async def run() -> PipelinePayload:
            spec = d.StageSpec(
                name=patch.name, probability=patch.probability, kind=patch.kind,
                rotting_days=patch.rotting_days, clear_rotting_days=patch.clear_rotting_days,
                requirements=(
                    [r.value for r in patch.requirements]
                    if patch.requirements is not None else None
                ),
            )
            cmd = h.UpdateStage(caller(info), parse_id(stage_id, "stageId"), spec)
            return PipelinePayload(pipeline=Pipeline.of(await h.update_stage(cmd, uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation(description="Admin: the pipeline's stages in their new order.")  # type: ignore[untyped-decorator]
    async def reorder_stages(
        self, info: Info, pipeline_id: strawberry.ID, stage_ids: list[strawberry.ID]
    ) -> PipelineResult:
        async def run() -> PipelinePayload:
            ids = [parse_id(s, f"stageIds.{i}") for i, s in enumerate(stage_ids)]
            cmd = h.ReorderStages(caller(info), parse_id(pipeline_id, "pipelineId"), ids)
            return PipelinePayload(pipeline=Pipeline.of(await h.reorder_stages(cmd, uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation(description="Admin: remove a stage, moving its opportunities.")  # type: ignore[untyped-decorator]
    async def remove_stage(
        self, info: Info, stage_id: strawberry.ID,
        move_opportunities_to: strawberry.ID | None = None,
    ) -> PipelineResult:
        async def run() -> PipelinePayload:
            cmd = h.RemoveStage(
                caller(info), parse_id(stage_id, "stageId"),
                optional_id(move_opportunities_to, "moveOpportunitiesTo"),
            )
            return PipelinePayload(pipeline=Pipeline.of(await h.remove_stage(cmd, uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation(description="Admin: a new reason in the lost-reason catalogue.")  # type: ignore[untyped-decorator]
    async def add_lost_reason(self, info: Info, label: str) -> LostReasonResult:
        async def run() -> LostReasonPayload:
            reason = await h.add_lost_reason(h.AddLostReason(caller(info), label), uow(info))
            return LostReasonPayload(lost_reason=LostReason.of(reason))

        return await answer_mutation(run())

    @strawberry.mutation(description="Admin: rename a lost reason or retire it (active: false).")  # type: ignore[untyped-decorator]
    async def update_lost_reason(
        self, info: Info, id: strawberry.ID, label: str | None = None,
        active: bool | None = None,
    ) -> LostReasonResult:
        async def run() -> LostReasonPayload:
            cmd = h.UpdateLostReason(caller(info), parse_id(id, "id"), label, active)
            return LostReasonPayload(
                lost_reason=LostReason.of(await h.update_lost_reason(cmd, uow(info)))
            )

        return await answer_mutation(run())

    @strawberry.mutation(description="Admin: the org's locale (names of default stages).")  # type: ignore[untyped-decorator]
    async def set_organization_locale(
        self, info: Info, locale: d.Locale
    ) -> OrganizationSettingsResult:
        async def run() -> OrganizationSettingsPayload:
            value = await h.set_locale(h.SetLocale(caller(info), locale), uow(info))
            return OrganizationSettingsPayload(settings=OrganizationSettings(locale=value))

        return await answer_mutation(run())

"""Pipelines, their stages with entry requirements, the default set-up and lost reasons;
how an admin configures them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from crmkit.errors import InvalidInput, ProblemCollector
from services.pipeline.domain.values import MAX_STAGES, STAGE_NAME_MAX, check_name


class Locale(StrEnum):
    EN = "en"
    PL = "pl"



class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"



class Requirement(StrEnum):
    """The fixed vocabulary of stage entry requirements."""

    CONTACT_MADE = "contact_made"
    NEXT_CONTACT_SCHEDULED = "next_contact_scheduled"
    NEEDS = "needs"
    PAIN_POINTS = "pain_points"
    BUDGET = "budget"
    DECISION_MAKER = "decision_maker"
    OFFER_ISSUED = "offer_issued"
    CLOSE_REASON = "close_reason"
    CLOSE_COMMENT = "close_comment"



@dataclass
class Stage:
    id: uuid.UUID
    pipeline_id: uuid.UUID
    name: str
    position: int
    probability: int
    kind: StageKind = StageKind.OPEN
    rotting_days: int | None = None
    requirements: tuple[Requirement, ...] = ()


@dataclass
class Pipeline:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    is_default: bool
    stages: list[Stage]
    version: int = 1

    def ordered_stages(self) -> list[Stage]:
        return sorted(self.stages, key=lambda s: s.position)

    def stage(self, stage_id: uuid.UUID) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def first_stage(self) -> Stage:
        return next(s for s in self.ordered_stages() if s.kind is StageKind.OPEN)

    def closing_stage(self, kind: StageKind) -> Stage:
        return next(s for s in self.ordered_stages() if s.kind is kind)

    def renumber(self) -> None:
        for position, stage in enumerate(self.ordered_stages()):
            stage.position = position


@dataclass(frozen=True)
class StageTemplate:
    names: dict[Locale, str]
    probability: int
    kind: StageKind
    requirements: tuple[Requirement, ...]


DEFAULT_STAGES: tuple[StageTemplate, ...] = (
    StageTemplate(
        {Locale.EN: "Identification", Locale.PL: "Identyfikacja"}, 10, StageKind.OPEN, ()
    ),
    StageTemplate(
        {Locale.EN: "Qualification", Locale.PL: "Kwalifikacja"},
        25,
        StageKind.OPEN,
        (Requirement.CONTACT_MADE, Requirement.NEXT_CONTACT_SCHEDULED),
    ),
    StageTemplate(
        {Locale.EN: "Offer", Locale.PL: "Oferta"},
        50,
        StageKind.OPEN,
        (Requirement.NEEDS, Requirement.BUDGET),
    ),
    StageTemplate(
        {Locale.EN: "Negotiation", Locale.PL: "Negocjacje"},
        75,
        StageKind.OPEN,
        (Requirement.OFFER_ISSUED,),
    ),
    StageTemplate(
        {Locale.EN: "Won", Locale.PL: "Wygrana"}, 100, StageKind.WON, (Requirement.CLOSE_COMMENT,)
    ),
    StageTemplate(
        {Locale.EN: "Lost", Locale.PL: "Przegrana"}, 0, StageKind.LOST, (Requirement.CLOSE_REASON,)
    ),
)

DEFAULT_PIPELINE_NAME = {Locale.EN: "Sales", Locale.PL: "Sprzedaż"}

DEFAULT_LOST_REASONS: tuple[tuple[str, dict[Locale, str]], ...] = (
    ("price", {Locale.EN: "Price", Locale.PL: "Cena"}),
    ("competitor", {Locale.EN: "Competitor", Locale.PL: "Konkurencja"}),
    ("no_budget", {Locale.EN: "No budget", Locale.PL: "Brak budżetu"}),
    ("no_decision", {Locale.EN: "No decision", Locale.PL: "Brak decyzji"}),
    ("no_contact", {Locale.EN: "No contact", Locale.PL: "Brak kontaktu"}),
    ("timing", {Locale.EN: "Timing", Locale.PL: "Termin"}),
    ("other", {Locale.EN: "Other", Locale.PL: "Inny"}),
)


def default_stages(
    pipeline_id: uuid.UUID, locale: Locale, new_id: Callable[[], uuid.UUID] = uuid.uuid4
) -> list[Stage]:
    return [
        Stage(
            id=new_id(),
            pipeline_id=pipeline_id,
            name=template.names[locale],
            position=position,
            probability=template.probability,
            kind=template.kind,
            requirements=template.requirements,
        )
        for position, template in enumerate(DEFAULT_STAGES)
    ]


def new_pipeline(
    org_id: uuid.UUID,
    locale: Locale,
    *,
    name: str | None = None,
    is_default: bool = False,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Pipeline:
    pipeline_id = new_id()
    return Pipeline(
        id=pipeline_id,
        org_id=org_id,
        name=name if name is not None else DEFAULT_PIPELINE_NAME[locale],
        is_default=is_default,
        stages=default_stages(pipeline_id, locale, new_id),
    )


@dataclass
class LostReason:
    id: uuid.UUID
    org_id: uuid.UUID
    label: str
    position: int
    code: str | None = None
    active: bool = True


def default_lost_reasons(
    org_id: uuid.UUID, locale: Locale, new_id: Callable[[], uuid.UUID] = uuid.uuid4
) -> list[LostReason]:
    return [
        LostReason(id=new_id(), org_id=org_id, label=labels[locale], position=i, code=code)
        for i, (code, labels) in enumerate(DEFAULT_LOST_REASONS)
    ]


@dataclass(frozen=True)
class StageSpec:
    """What an admin may set on a stage; ``None`` leaves a field unchanged on an edit."""

    name: str | None = None
    probability: int | None = None
    kind: StageKind | None = None
    rotting_days: int | None = None
    clear_rotting_days: bool = False
    requirements: Sequence[str] | None = None


def _check_stage_spec(spec: StageSpec, problems: ProblemCollector, prefix: str) -> None:
    if spec.name is not None:
        check_name(spec.name, f"{prefix}name", problems, STAGE_NAME_MAX)
    if spec.probability is not None and not 0 <= spec.probability <= 100:
        problems.add(f"{prefix}probability", "must be between 0 and 100")
    if spec.rotting_days is not None and not 1 <= spec.rotting_days <= 3650:
        problems.add(f"{prefix}rottingDays", "must be between 1 and 3650")
    if spec.requirements is not None:
        for i, value in enumerate(spec.requirements):
            if value not in Requirement.__members__.values():
                problems.add(f"{prefix}requirements.{i}", f"unknown requirement '{value}'")


def _apply_stage_spec(stage: Stage, spec: StageSpec) -> None:
    if spec.name is not None:
        stage.name = spec.name.strip()
    if spec.probability is not None:
        stage.probability = spec.probability
    if spec.kind is not None:
        stage.kind = spec.kind
    if spec.clear_rotting_days:
        stage.rotting_days = None
    elif spec.rotting_days is not None:
        stage.rotting_days = spec.rotting_days
    if spec.requirements is not None:
        stage.requirements = tuple(dict.fromkeys(Requirement(r) for r in spec.requirements))


def validate_pipeline(pipeline: Pipeline) -> None:
    """A pipeline needs an open stage to start in, exactly one won and one lost stage, and
    distinct stage names."""
    problems = ProblemCollector()
    kinds = [s.kind for s in pipeline.stages]
    if StageKind.OPEN not in kinds:
        problems.add("stages", "a pipeline needs at least one open stage")
    if kinds.count(StageKind.WON) != 1:
        problems.add("stages", "a pipeline needs exactly one won stage")
    if kinds.count(StageKind.LOST) != 1:
        problems.add("stages", "a pipeline needs exactly one lost stage")
    if len(pipeline.stages) > MAX_STAGES:
        problems.add("stages", f"a pipeline has at most {MAX_STAGES} stages")
    names = [s.name.casefold() for s in pipeline.stages]
    if len(set(names)) != len(names):
        problems.add("name", "stage names must be unique within a pipeline")
    problems.raise_if_any()


def add_stage(
    pipeline: Pipeline, spec: StageSpec, position: int | None, new_id: uuid.UUID
) -> Stage:
    problems = ProblemCollector()
    if spec.name is None:
        problems.add("input.name", "is required")
    _check_stage_spec(spec, problems, "input.")
    if position is not None and not 0 <= position <= len(pipeline.stages):
        problems.add("input.position", f"must be between 0 and {len(pipeline.stages)}")
    problems.raise_if_any()
    stage = Stage(
        id=new_id,
        pipeline_id=pipeline.id,
        name="",
        position=0,
        probability=spec.probability if spec.probability is not None else 0,
    )
    _apply_stage_spec(stage, spec)
    ordered = pipeline.ordered_stages()
    ordered.insert(len(ordered) if position is None else position, stage)
    for i, s in enumerate(ordered):
        s.position = i
    pipeline.stages = ordered
    validate_pipeline(pipeline)
    return stage


def update_stage(pipeline: Pipeline, stage_id: uuid.UUID, spec: StageSpec) -> Stage:
    stage = pipeline.stage(stage_id)
    if stage is None:
        raise InvalidInput.field("stageId", "is not a stage of this pipeline")
    problems = ProblemCollector()
    _check_stage_spec(spec, problems, "patch.")
    problems.raise_if_any()
    _apply_stage_spec(stage, spec)
    validate_pipeline(pipeline)
    return stage


def reorder_stages(pipeline: Pipeline, stage_ids: Sequence[uuid.UUID]) -> None:
    if sorted(stage_ids) != sorted(s.id for s in pipeline.stages):
        raise InvalidInput.field("stageIds", "must list every stage of the pipeline exactly once")
    by_id = {s.id: s for s in pipeline.stages}
    for position, stage_id in enumerate(stage_ids):
        by_id[stage_id].position = position
    pipeline.stages = pipeline.ordered_stages()


def remove_stage(
    pipeline: Pipeline, stage_id: uuid.UUID, move_to: uuid.UUID | None, has_opportunities: bool
) -> Stage | None:
    """Remove a stage; the stage its opportunities move to when it has any."""
    stage = pipeline.stage(stage_id)
    if stage is None:
        raise InvalidInput.field("stageId", "is not a stage of this pipeline")
    target: Stage | None = None
    if has_opportunities:
        if move_to is None:
            raise InvalidInput.field(
                "moveOpportunitiesTo", "is required: the stage still has opportunities"
            )
        target = pipeline.stage(move_to)
        if target is None or target.id == stage_id:
            raise InvalidInput.field(
                "moveOpportunitiesTo", "must be another stage of the same pipeline"
            )
        if target.kind is not stage.kind:
            raise InvalidInput.field(
                "moveOpportunitiesTo", f"must be a stage of the same kind ({stage.kind.value})"
            )
    pipeline.stages = [s for s in pipeline.stages if s.id != stage_id]
    pipeline.renumber()
    validate_pipeline(pipeline)
    return target


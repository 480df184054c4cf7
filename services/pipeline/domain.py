"""The sales process as plain Python: pipelines, stages and their entry gates, opportunities,
their moves through the stages, won/lost/reopen, rotting, activities and access rules.

No IO here: handlers load the objects, call these rules and save the result.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from crmkit.auth import Caller
from crmkit.errors import (
    DomainError,
    ForbiddenError,
    InvalidInput,
    ProblemCollector,
    VersionConflictError,
)
from crmkit.values import InvalidValue, Money, clean_text

NAME_MAX = 200
STAGE_NAME_MAX = 80
TEXT_MAX = 10_000
SUBJECT_MAX = 300
REASON_LABEL_MAX = 120
MAX_STAGES = 30



class Locale(StrEnum):
    EN = "en"
    PL = "pl"


class OpportunityStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ActivityKind(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TASK = "task"


class ActivityStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


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


# Completing one of these is a contact with the client; a task is not.
CONTACT_KINDS = frozenset({ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING})


class GateNotSatisfiedError(DomainError):
    """The target stage's entry requirements are not met; ``missing`` lists every one."""

    def __init__(self, stage_id: uuid.UUID, stage_name: str, missing: Sequence[Requirement]):
        self.stage_id = stage_id
        self.stage_name = stage_name
        self.missing = list(missing)
        names = ", ".join(r.value for r in self.missing)
        super().__init__(f"stage '{stage_name}' requires: {names}")


# --------------------------------------------------------------------------- pipelines


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


# ----------------------------------------------------------------------- opportunities


@dataclass
class Qualification:
    needs: str | None = None
    pain_points: str | None = None
    budget_amount: Decimal | None = None
    budget_currency: str | None = None
    decision_makers: str | None = None
    customer_preferences: str | None = None
    offer_requirements: str | None = None


@dataclass
class Negotiation:
    price: str | None = None
    terms: str | None = None
    delivery: str | None = None
    contract: str | None = None


@dataclass
class Opportunity:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    amount: Decimal
    currency: str
    owner_id: uuid.UUID
    team: str | None
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    probability: int
    created_at: datetime
    updated_at: datetime
    stage_entered_at: datetime
    status: OpportunityStatus = OpportunityStatus.OPEN
    account_id: uuid.UUID | None = None
    expected_close_date: date | None = None
    qualification: Qualification = field(default_factory=Qualification)
    negotiation: Negotiation = field(default_factory=Negotiation)
    close_reason_id: uuid.UUID | None = None
    close_comment: str | None = None
    lessons_learned: str | None = None
    closed_at: datetime | None = None
    # The open stage it was in when closed: where a reopen puts it back.
    last_open_stage_id: uuid.UUID | None = None
    contact_made_at: datetime | None = None
    offer_issued_at: datetime | None = None
    next_contact_at: datetime | None = None
    lead_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.status is OpportunityStatus.OPEN

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise VersionConflictError("Opportunity", expected, self.version)


@dataclass(frozen=True)
class StageChange:
    """One stage change, as recorded in the opportunity's history."""

    id: uuid.UUID
    opportunity_id: uuid.UUID
    from_stage_id: uuid.UUID
    to_stage_id: uuid.UUID
    changed_at: datetime
    changed_by: uuid.UUID | None
    seconds_in_previous_stage: int


def check_name(value: str, path: str, problems: ProblemCollector, limit: int = NAME_MAX) -> None:
    problems.value(path, lambda: clean_text(value, max_length=limit))


def check_money(
    amount: Decimal, currency: str, problems: ProblemCollector, amount_path: str,
    currency_path: str,
) -> None:
    """The kit's money rule (ISO 4217 code, non-negative, the currency's decimal places)."""
    try:
        Money.of(amount, currency)
    except InvalidValue as error:
        for part, message in error.problems:
            problems.add(amount_path if part == "amount" else currency_path, message)


def money(value: Decimal) -> Decimal:
    """Amounts are kept with exactly two decimal places, as stored."""
    return value.quantize(Decimal("0.01"))


def check_text(value: str | None, path: str, problems: ProblemCollector) -> None:
    if value is not None and len(value) > TEXT_MAX:
        problems.add(path, f"must be at most {TEXT_MAX} characters")


@dataclass(frozen=True)
class NewOpportunity:
    name: str
    amount: Decimal
    currency: str
    expected_close_date: date | None = None
    account_id: uuid.UUID | None = None


def validate_new_opportunity(data: NewOpportunity, prefix: str = "input.") -> None:
    problems = ProblemCollector()
    check_name(data.name, f"{prefix}name", problems)
    check_money(data.amount, data.currency, problems, f"{prefix}amount", f"{prefix}currency")
    problems.raise_if_any()


def open_opportunity(
    *,
    opportunity_id: uuid.UUID,
    org_id: uuid.UUID,
    data: NewOpportunity,
    owner_id: uuid.UUID,
    team: str | None,
    pipeline: Pipeline,
    now: datetime,
    created_by: uuid.UUID | None,
    lead_id: uuid.UUID | None = None,
) -> Opportunity:
    """A new opportunity in the first stage of ``pipeline``."""
    validate_new_opportunity(data)
    first = pipeline.first_stage()
    return Opportunity(
        id=opportunity_id,
        org_id=org_id,
        name=data.name.strip(),
        amount=money(data.amount),
        currency=data.currency,
        owner_id=owner_id,
        team=team,
        pipeline_id=pipeline.id,
        stage_id=first.id,
        probability=first.probability,
        created_at=now,
        updated_at=now,
        stage_entered_at=now,
        account_id=data.account_id,
        expected_close_date=data.expected_close_date,
        lead_id=lead_id,
        created_by=created_by,
    )


# Fields of an edit; every one is optional, ``None`` means "leave as is" except for the
# names listed in ``cleared`` which are set to null.
EDITABLE_TEXT = (
    "needs",
    "pain_points",
    "decision_makers",
    "customer_preferences",
    "offer_requirements",
    "negotiation_price",
    "negotiation_terms",
    "negotiation_delivery",
    "negotiation_contract",
    "lessons_learned",
)


@dataclass(frozen=True)
class OpportunityPatch:
    name: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    expected_close_date: date | None = None
    account_id: uuid.UUID | None = None
    probability: int | None = None
    budget_amount: Decimal | None = None
    budget_currency: str | None = None
    text: dict[str, str | None] = field(default_factory=dict)
    cleared: frozenset[str] = frozenset()


def apply_patch(opp: Opportunity, patch: OpportunityPatch, now: datetime) -> list[str]:
    """Validate and apply an edit; the names of the fields that changed."""
    problems = ProblemCollector()
    if patch.name is not None:
        check_name(patch.name, "patch.name", problems)
    currency = patch.currency if patch.currency is not None else opp.currency
    if patch.amount is not None or patch.currency is not None:
        amount = patch.amount if patch.amount is not None else opp.amount
        check_money(amount, currency, problems, "patch.amount", "patch.currency")
    if patch.probability is not None and not 0 <= patch.probability <= 100:
        problems.add("patch.probability", "must be between 0 and 100")
    if patch.budget_amount is not None or patch.budget_currency is not None:
        budget = patch.budget_amount if patch.budget_amount is not None else (
            opp.qualification.budget_amount or Decimal(0))
        budget_currency = patch.budget_currency or opp.qualification.budget_currency or currency
        check_money(budget, budget_currency, problems, "patch.budgetAmount",
                    "patch.budgetCurrency")
    for name, value in patch.text.items():
        if name not in EDITABLE_TEXT:
            problems.add(f"patch.{name}", "is not an editable field")
        check_text(value, f"patch.{_camel(name)}", problems)
    if not opp.is_open and patch.probability is not None:
        problems.add("patch.probability", "cannot change on a closed opportunity")
    problems.raise_if_any()

    q = opp.qualification
    before = _snapshot(opp)
    if patch.name is not None:
        opp.name = patch.name.strip()
    if patch.amount is not None:
        opp.amount = money(patch.amount)
    if patch.currency is not None:
        opp.currency = patch.currency
    if patch.expected_close_date is not None:
        opp.expected_close_date = patch.expected_close_date
    if patch.account_id is not None:
        opp.account_id = patch.account_id
    if patch.probability is not None:
        opp.probability = patch.probability
    if patch.budget_amount is not None:
        q.budget_amount = money(patch.budget_amount)
    if patch.budget_currency is not None:
        q.budget_currency = patch.budget_currency
    for name, value in patch.text.items():
        _set_text(opp, name, value.strip() if value is not None else None)
    for name in patch.cleared:
        if name in ("expected_close_date", "account_id"):
            setattr(opp, name, None)
        elif name == "budget":
            q.budget_amount = None
            q.budget_currency = None
        elif name in EDITABLE_TEXT:
            _set_text(opp, name, None)
    if q.budget_amount is not None and q.budget_currency is None:
        q.budget_currency = opp.currency
    after = _snapshot(opp)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        opp.updated_at = now
    return changed


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _set_text(opp: Opportunity, name: str, value: str | None) -> None:
    value = value or None
    if name.startswith("negotiation_"):
        setattr(opp.negotiation, name.removeprefix("negotiation_"), value)
    elif name == "lessons_learned":
        opp.lessons_learned = value
    else:
        setattr(opp.qualification, name, value)


def _snapshot(opp: Opportunity) -> dict[str, object]:
    q, n = opp.qualification, opp.negotiation
    return {
        "name": opp.name,
        "amount": opp.amount,
        "currency": opp.currency,
        "expected_close_date": opp.expected_close_date,
        "account_id": opp.account_id,
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
        "lessons_learned": opp.lessons_learned,
    }


def _filled(value: str | None) -> bool:
    return bool(value and value.strip())


def missing_requirements(opp: Opportunity, stage: Stage) -> list[Requirement]:
    """Every requirement of ``stage`` the opportunity does not meet, in the stage's order."""
    q = opp.qualification
    met = {
        Requirement.CONTACT_MADE: opp.contact_made_at is not None,
        Requirement.NEXT_CONTACT_SCHEDULED: opp.next_contact_at is not None,
        Requirement.NEEDS: _filled(q.needs),
        Requirement.PAIN_POINTS: _filled(q.pain_points),
        Requirement.BUDGET: q.budget_amount is not None,
        Requirement.DECISION_MAKER: _filled(q.decision_makers),
        Requirement.OFFER_ISSUED: opp.offer_issued_at is not None,
        Requirement.CLOSE_REASON: opp.close_reason_id is not None,
        Requirement.CLOSE_COMMENT: _filled(opp.close_comment),
    }
    return [r for r in stage.requirements if not met[r]]


def _enter_stage(
    opp: Opportunity, target: Stage, now: datetime, actor: uuid.UUID | None
) -> StageChange:
    change = StageChange(
        id=uuid.uuid4(),
        opportunity_id=opp.id,
        from_stage_id=opp.stage_id,
        to_stage_id=target.id,
        changed_at=now,
        changed_by=actor,
        seconds_in_previous_stage=max(0, int((now - opp.stage_entered_at).total_seconds())),
    )
    opp.stage_id = target.id
    opp.stage_entered_at = now
    opp.updated_at = now
    opp.probability = target.probability
    return change


def move(
    opp: Opportunity, pipeline: Pipeline, target_id: uuid.UUID, now: datetime,
    actor: uuid.UUID | None,
) -> StageChange:
    """Move an open opportunity to another open stage, forwards or backwards, if the target's
    entry requirements are all met. Closing goes through :func:`mark_won`/:func:`mark_lost`."""
    target = pipeline.stage(target_id)
    if target is None:
        raise InvalidInput.field("stageId", "is not a stage of the opportunity's pipeline")
    if not opp.is_open:
        raise InvalidInput.field("id", f"the opportunity is {opp.status.value}; reopen it first")
    if target.kind is not StageKind.OPEN:
        raise InvalidInput.field(
            "stageId", f"is a {target.kind.value} stage: use mark{target.kind.value.title()}"
        )
    if target.id == opp.stage_id:
        raise InvalidInput.field("stageId", "the opportunity is already in this stage")
    missing = missing_requirements(opp, target)
    if missing:
        raise GateNotSatisfiedError(target.id, target.name, missing)
    return _enter_stage(opp, target, now, actor)


def _close(
    opp: Opportunity,
    pipeline: Pipeline,
    kind: StageKind,
    now: datetime,
    actor: uuid.UUID | None,
    reason_id: uuid.UUID | None,
    comment: str | None,
) -> StageChange:
    if not opp.is_open:
        raise InvalidInput.field("id", f"the opportunity is already {opp.status.value}")
    problems = ProblemCollector()
    check_text(comment, "comment", problems)
    problems.raise_if_any()
    target = pipeline.closing_stage(kind)
    # Gates are judged on the opportunity as it would be after closing; nothing is kept
    # when they fail.
    trial_reason, trial_comment = opp.close_reason_id, opp.close_comment
    opp.close_reason_id = reason_id
    opp.close_comment = comment.strip() if comment and comment.strip() else None
    missing = missing_requirements(opp, target)
    if missing:
        opp.close_reason_id, opp.close_comment = trial_reason, trial_comment
        raise GateNotSatisfiedError(target.id, target.name, missing)
    opp.last_open_stage_id = opp.stage_id
    change = _enter_stage(opp, target, now, actor)
    opp.status = OpportunityStatus.WON if kind is StageKind.WON else OpportunityStatus.LOST
    opp.closed_at = now
    return change


def mark_won(
    opp: Opportunity, pipeline: Pipeline, comment: str | None, now: datetime,
    actor: uuid.UUID | None,
) -> StageChange:
    return _close(opp, pipeline, StageKind.WON, now, actor, None, comment)


def mark_lost(
    opp: Opportunity,
    pipeline: Pipeline,
    reason: LostReason | None,
    comment: str | None,
    now: datetime,
    actor: uuid.UUID | None,
) -> StageChange:
    if reason is not None and not reason.active:
        raise InvalidInput.field("reasonId", "this lost reason is no longer in use")
    return _close(
        opp, pipeline, StageKind.LOST, now, actor, reason.id if reason else None, comment
    )


def reopen(
    opp: Opportunity, pipeline: Pipeline, now: datetime, actor: uuid.UUID | None
) -> StageChange:
    """Back to the open stage it was closed from (or the first stage if that one is gone).

    Entry gates are not re-checked: the opportunity met them before it was closed."""
    if opp.is_open:
        raise InvalidInput.field("id", "the opportunity is already open")
    previous = pipeline.stage(opp.last_open_stage_id) if opp.last_open_stage_id else None
    target = previous if previous is not None and previous.kind is StageKind.OPEN else None
    change = _enter_stage(opp, target or pipeline.first_stage(), now, actor)
    opp.status = OpportunityStatus.OPEN
    opp.closed_at = None
    opp.close_reason_id = None
    opp.close_comment = None
    opp.last_open_stage_id = None
    return change


def is_stale(opp: Opportunity, stage: Stage, now: datetime) -> bool:
    """Open and longer in its stage than the stage's rotting days."""
    return (
        opp.is_open
        and stage.rotting_days is not None
        and now - opp.stage_entered_at > timedelta(days=stage.rotting_days)
    )


def stale_thresholds(stages: Iterable[Stage], now: datetime) -> dict[uuid.UUID, datetime]:
    """For each rotting stage: opportunities that entered it before this moment are stale."""
    return {
        s.id: now - timedelta(days=s.rotting_days)
        for s in stages
        if s.rotting_days is not None and s.kind is StageKind.OPEN
    }


# -------------------------------------------------------------------------- activities


@dataclass
class Activity:
    id: uuid.UUID
    org_id: uuid.UUID
    opportunity_id: uuid.UUID
    owner_id: uuid.UUID
    team: str | None
    kind: ActivityKind
    subject: str
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    notes: str | None = None
    status: ActivityStatus = ActivityStatus.OPEN
    completed_at: datetime | None = None
    outcome: str | None = None
    overdue_notified_at: datetime | None = None
    version: int = 1

    def _require_open(self) -> None:
        if self.status is not ActivityStatus.OPEN:
            raise InvalidInput.field("id", f"the activity is already {self.status.value}")


def _check_due(due_at: datetime, path: str, problems: ProblemCollector) -> None:
    if due_at.tzinfo is None:
        problems.add(path, "must carry a time zone offset")
    elif not 1970 <= due_at.year <= 9000:
        problems.add(path, "is out of range")


def schedule_activity(
    *,
    activity_id: uuid.UUID,
    opp: Opportunity,
    owner_id: uuid.UUID,
    kind: ActivityKind,
    subject: str,
    due_at: datetime,
    notes: str | None,
    now: datetime,
) -> Activity:
    problems = ProblemCollector()
    check_name(subject, "input.subject", problems, SUBJECT_MAX)
    _check_due(due_at, "input.dueAt", problems)
    check_text(notes, "input.notes", problems)
    if not opp.is_open:
        problems.add("input.opportunityId", f"the opportunity is {opp.status.value}")
    problems.raise_if_any()
    return Activity(
        id=activity_id,
        org_id=opp.org_id,
        opportunity_id=opp.id,
        owner_id=owner_id,
        team=opp.team,
        kind=kind,
        subject=subject.strip(),
        due_at=due_at,
        notes=notes,
        created_at=now,
        updated_at=now,
    )


def complete_activity(activity: Activity, outcome: str | None, now: datetime) -> None:
    activity._require_open()
    problems = ProblemCollector()
    check_text(outcome, "outcome", problems)
    problems.raise_if_any()
    activity.status = ActivityStatus.DONE
    activity.completed_at = now
    activity.outcome = outcome.strip() if outcome and outcome.strip() else None
    activity.updated_at = now
    activity.version += 1


def counts_as_contact(activity: Activity) -> bool:
    return activity.status is ActivityStatus.DONE and activity.kind in CONTACT_KINDS


def reschedule_activity(activity: Activity, due_at: datetime, now: datetime) -> datetime:
    """Move the due time; the activity may become overdue again (once per due time)."""
    activity._require_open()
    problems = ProblemCollector()
    _check_due(due_at, "dueAt", problems)
    problems.raise_if_any()
    previous = activity.due_at
    activity.due_at = due_at
    activity.overdue_notified_at = None
    activity.updated_at = now
    activity.version += 1
    return previous


def cancel_activity(activity: Activity, now: datetime) -> None:
    activity._require_open()
    activity.status = ActivityStatus.CANCELLED
    activity.updated_at = now
    activity.version += 1


def mark_overdue(activity: Activity, now: datetime) -> bool:
    """Flag an open activity past its due time, once; False when there is nothing to flag."""
    if (
        activity.status is not ActivityStatus.OPEN
        or activity.overdue_notified_at is not None
        or activity.due_at > now
    ):
        return False
    activity.overdue_notified_at = now
    activity.version += 1
    return True


# ------------------------------------------------------------------------------ access


def can_see(caller: Caller, org_id: uuid.UUID, owner_id: uuid.UUID, team: str | None) -> bool:
    """A rep sees their own records, a manager their team's, an admin the org's."""
    if caller.org_id != org_id:
        return False
    if caller.is_admin or owner_id == caller.member_id:
        return True
    return caller.is_manager and caller.team is not None and team == caller.team


def ensure_can_change(caller: Caller, opp: Opportunity) -> None:
    if not can_see(caller, opp.org_id, opp.owner_id, opp.team):
        raise ForbiddenError("you may not change this opportunity")


def ensure_can_reopen(caller: Caller, opp: Opportunity) -> None:
    ensure_can_change(caller, opp)
    if not caller.is_manager:
        raise ForbiddenError("only a manager or an admin may reopen an opportunity")


def ensure_admin(caller: Caller, what: str = "configure pipelines") -> None:
    if not caller.is_admin:
        raise ForbiddenError(f"only an admin may {what}")


def owner_for_new(
    caller: Caller, owner_id: uuid.UUID | None, team: str | None
) -> tuple[uuid.UUID, str | None]:
    """Owner and team of a new opportunity: the caller's own by default; a manager may assign
    within their team, an admin to anyone in any team."""
    if owner_id is None or owner_id == caller.member_id:
        if team is not None and team != caller.team and not caller.is_admin:
            raise ForbiddenError("you may only create opportunities in your own team")
        return caller.member_id, team if team is not None else caller.team
    if caller.is_admin:
        return owner_id, team
    if caller.is_manager:
        if team is not None and team != caller.team:
            raise ForbiddenError("a manager may only assign within their own team")
        return owner_id, caller.team
    raise ForbiddenError("a rep may only create opportunities they own")


TEXT_SEARCH_MAX = 100
_LIKE_SPECIALS = re.compile(r"([\\%_])")


def like_pattern(text: str) -> str:
    """A case-insensitive substring pattern with LIKE wildcards escaped."""
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", text.strip()) + "%"

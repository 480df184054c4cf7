"""Opportunities: opening one, editing it, moving it through the stages past their entry
gates, closing it won or lost, reopening it, and when it is stale."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from crmkit.errors import DomainError, InvalidInput, ProblemCollector, VersionConflictError
from services.pipeline.domain.pipelines import LostReason, Pipeline, Requirement, Stage, StageKind
from services.pipeline.domain.values import check_money, check_name, check_text, money


class OpportunityStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"



class GateNotSatisfiedError(DomainError):
    """Entry requirements of the target stage, or of a stage a forward move passes on its way
    there, are not met; ``missing`` lists every one."""

    def __init__(self, stage_id: uuid.UUID, stage_name: str, missing: Sequence[Requirement]):
        self.stage_id = stage_id
        self.stage_name = stage_name
        self.missing = list(missing)
        names = ", ".join(r.value for r in self.missing)
        super().__init__(f"stage '{stage_name}' requires: {names}")



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



@dataclass(frozen=True)
class OwnerChange:
    """One handover, as recorded in the opportunity's history."""

    id: uuid.UUID
    opportunity_id: uuid.UUID
    from_owner_id: uuid.UUID
    to_owner_id: uuid.UUID
    changed_at: datetime
    changed_by: uuid.UUID


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


def hand_over(opp: Opportunity, owner_id: uuid.UUID, team: str | None, now: datetime,
              by: uuid.UUID) -> tuple[list[str], OwnerChange | None]:
    """Give the deal to another member (:func:`new_owner` says who may): what changed, and
    the handover for the deal's history when the owner did (not only their team)."""
    changed = [name for name, value in (("owner_id", owner_id), ("team", team))
               if getattr(opp, name) != value]
    handover = None
    if opp.owner_id != owner_id:
        handover = OwnerChange(id=uuid.uuid4(), opportunity_id=opp.id,
                               from_owner_id=opp.owner_id, to_owner_id=owner_id,
                               changed_at=now, changed_by=by)
    if changed:
        opp.owner_id, opp.team = owner_id, team
        opp.updated_at = now
    return changed, handover


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


# What an edit may change, in the order ``changed`` lists it: these fields, the qualification's
# and the negotiation's (``negotiation_`` + its field), then the lessons learned.
_EDITABLE_FIELDS = ("name", "amount", "currency", "expected_close_date", "account_id",
                    "probability")


def _snapshot(opp: Opportunity) -> dict[str, object]:
    values: dict[str, object] = {name: getattr(opp, name) for name in _EDITABLE_FIELDS}
    values.update({f.name: getattr(opp.qualification, f.name) for f in fields(Qualification)})
    values.update({f"negotiation_{f.name}": getattr(opp.negotiation, f.name)
                   for f in fields(Negotiation)})
    values["lessons_learned"] = opp.lessons_learned
    return values


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


def stages_passed(pipeline: Pipeline, from_id: uuid.UUID, target: Stage) -> list[Stage]:
    """The open stages a forward move from ``from_id`` to ``target`` enters on its way, the
    target last; none for a move backwards."""
    current = pipeline.stage(from_id)
    if current is None:
        return [target]
    return [s for s in pipeline.ordered_stages()
            if s.kind is StageKind.OPEN and current.position < s.position <= target.position]


def move(
    opp: Opportunity, pipeline: Pipeline, target_id: uuid.UUID, now: datetime,
    actor: uuid.UUID | None,
) -> StageChange:
    """Move an open opportunity to another open stage. Forwards, it must meet the entry
    requirements of every stage it passes, the target's included (a refusal lists all that
    are missing); backwards it moves freely. Closing goes through
    :func:`mark_won`/:func:`mark_lost`."""
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
    missing = list(dict.fromkeys(
        r for stage in stages_passed(pipeline, opp.stage_id, target)
        for r in missing_requirements(opp, stage)
    ))
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


"""Rules of the sales process, without IO."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from crmkit.auth import Caller, Role
from crmkit.errors import ForbiddenError, InvalidInput, VersionConflictError
from services.pipeline import domain as d

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ORG = uuid.uuid4()


def pipeline(locale: d.Locale = d.Locale.EN) -> d.Pipeline:
    return d.new_pipeline(ORG, locale, is_default=True)


def stage(p: d.Pipeline, position: int) -> d.Stage:
    return p.ordered_stages()[position]


def opportunity(p: d.Pipeline, **data: object) -> d.Opportunity:
    values: dict[str, object] = {"name": "Fleet renewal", "amount": Decimal("1200.50"),
                                 "currency": "EUR"}
    values.update(data)
    return d.open_opportunity(
        opportunity_id=uuid.uuid4(), org_id=ORG, data=d.NewOpportunity(**values),  # type: ignore[arg-type]
        owner_id=uuid.uuid4(), team="alpha", pipeline=p, now=NOW, created_by=None,
    )


def caller(role: Role, *, member: uuid.UUID | None = None, team: str | None = "alpha",
           org: uuid.UUID = ORG) -> Caller:
    return Caller(member_id=member or uuid.uuid4(), org_id=org, roles=frozenset({role}),
                  team=team)


def problems(error: InvalidInput) -> dict[str, str]:
    return {".".join(p.path): p.message for p in error.problems}


# ------------------------------------------------------------------------- pipelines


def test_default_pipeline_has_the_five_stage_process_in_english() -> None:
    p = pipeline()
    assert [s.name for s in p.ordered_stages()] == [
        "Identification", "Qualification", "Offer", "Negotiation", "Won", "Lost"]
    assert [s.kind for s in p.ordered_stages()][-2:] == [d.StageKind.WON, d.StageKind.LOST]
    assert p.first_stage().name == "Identification"


def test_default_pipeline_in_polish() -> None:
    p = pipeline(d.Locale.PL)
    assert [s.name for s in p.ordered_stages()] == [
        "Identyfikacja", "Kwalifikacja", "Oferta", "Negocjacje", "Wygrana", "Przegrana"]
    labels = [r.label for r in d.default_lost_reasons(ORG, d.Locale.PL)]
    assert labels[0] == "Cena" and len(labels) == 7


def test_default_requirements() -> None:
    p = pipeline()
    reqs = {s.name: set(s.requirements) for s in p.stages}
    R = d.Requirement
    assert reqs == {
        "Identification": set(),
        "Qualification": {R.CONTACT_MADE, R.NEXT_CONTACT_SCHEDULED},
        "Offer": {R.NEEDS, R.BUDGET},
        "Negotiation": {R.OFFER_ISSUED},
        "Won": {R.CLOSE_COMMENT},
        "Lost": {R.CLOSE_REASON},
    }


def test_add_stage_at_a_position_renumbers() -> None:
    p = pipeline()
    new = d.add_stage(p, d.StageSpec(name="Demo", probability=40, rotting_days=7,
                                     requirements=["needs", "pain_points"]), 2, uuid.uuid4())
    assert [s.name for s in p.ordered_stages()][:4] == [
        "Identification", "Qualification", "Demo", "Offer"]
    assert [s.position for s in p.ordered_stages()] == list(range(7))
    assert new.requirements == (d.Requirement.NEEDS, d.Requirement.PAIN_POINTS)


def test_add_stage_reports_every_bad_field() -> None:
    p = pipeline()
    with pytest.raises(InvalidInput) as caught:
        d.add_stage(p, d.StageSpec(name=" ", probability=140, rotting_days=0,
                                   requirements=["needs", "telepathy"]), 99, uuid.uuid4())
    assert set(problems(caught.value)) == {
        "input.name", "input.probability", "input.rottingDays", "input.requirements.1",
        "input.position"}


def test_stage_names_unique_and_one_won_one_lost() -> None:
    p = pipeline()
    with pytest.raises(InvalidInput):
        d.add_stage(p, d.StageSpec(name="offer"), None, uuid.uuid4())
    p = pipeline()
    with pytest.raises(InvalidInput, match="exactly one won"):
        d.add_stage(p, d.StageSpec(name="Won again", kind=d.StageKind.WON), None, uuid.uuid4())
    p = pipeline()
    with pytest.raises(InvalidInput, match="exactly one lost"):
        d.update_stage(p, stage(p, 5).id, d.StageSpec(kind=d.StageKind.OPEN))


def test_rename_and_reorder_and_clear_rotting() -> None:
    p = pipeline()
    offer = stage(p, 2)
    d.update_stage(p, offer.id, d.StageSpec(name="Proposal", rotting_days=10))
    assert offer.name == "Proposal" and offer.rotting_days == 10
    d.update_stage(p, offer.id, d.StageSpec(clear_rotting_days=True))
    assert offer.rotting_days is None
    ids = [s.id for s in p.ordered_stages()]
    d.reorder_stages(p, [ids[1], ids[0], *ids[2:]])
    assert p.first_stage().name == "Qualification"
    with pytest.raises(InvalidInput):
        d.reorder_stages(p, ids[:-1])


def test_remove_stage_with_opportunities_needs_a_target_of_the_same_kind() -> None:
    p = pipeline()
    offer, negotiation, won = stage(p, 2), stage(p, 3), stage(p, 4)
    with pytest.raises(InvalidInput, match="still has opportunities"):
        d.remove_stage(p, offer.id, None, has_opportunities=True)
    with pytest.raises(InvalidInput, match="same kind"):
        d.remove_stage(p, offer.id, won.id, has_opportunities=True)
    target = d.remove_stage(p, offer.id, negotiation.id, has_opportunities=True)
    assert target is negotiation and len(p.stages) == 5
    assert d.remove_stage(p, stage(p, 1).id, None, has_opportunities=False) is None
    with pytest.raises(InvalidInput, match="exactly one won"):
        d.remove_stage(p, won.id, None, has_opportunities=False)


# ---------------------------------------------------------------------- opportunities


def test_new_opportunity_starts_in_the_first_stage_with_its_probability() -> None:
    p = pipeline()
    opp = opportunity(p)
    assert opp.stage_id == p.first_stage().id
    assert opp.probability == 10 and opp.status is d.OpportunityStatus.OPEN
    assert opp.version == 1


def test_new_opportunity_reports_every_bad_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        opportunity(pipeline(), name="", amount=Decimal("-1"), currency="EURO")
    assert set(problems(caught.value)) == {"input.name", "input.amount", "input.currency"}
    with pytest.raises(InvalidInput):
        opportunity(pipeline(), name="x" * 201)
    with pytest.raises(InvalidInput):
        opportunity(pipeline(), amount=Decimal("NaN"))
    with pytest.raises(InvalidInput):
        opportunity(pipeline(), amount=Decimal("1.001"))


def test_patch_reports_changed_fields_and_budget_defaults_to_the_currency() -> None:
    opp = opportunity(pipeline())
    changed = d.apply_patch(opp, d.OpportunityPatch(
        name="Fleet renewal 2026", budget_amount=Decimal("5000"),
        expected_close_date=date(2025, 6, 30), text={"needs": " 40 vans "}), NOW)
    assert set(changed) == {"name", "budget_amount", "budget_currency", "expected_close_date",
                            "needs"}
    assert opp.qualification.needs == "40 vans"
    assert opp.qualification.budget_currency == "EUR"
    assert d.apply_patch(opp, d.OpportunityPatch(name="Fleet renewal 2026"), NOW) == []
    d.apply_patch(opp, d.OpportunityPatch(cleared=frozenset({"needs", "budget"})), NOW)
    assert opp.qualification.needs is None and opp.qualification.budget_amount is None


def test_patch_rejects_bad_values() -> None:
    opp = opportunity(pipeline())
    with pytest.raises(InvalidInput) as caught:
        d.apply_patch(opp, d.OpportunityPatch(amount=Decimal("-5"), currency="xx",
                                              probability=101, text={"needs": "x" * 10_001}),
                      NOW)
    assert set(problems(caught.value)) == {"patch.amount", "patch.currency",
                                           "patch.probability", "patch.needs"}
    assert opp.amount == Decimal("1200.50")


def test_check_version() -> None:
    opp = opportunity(pipeline())
    opp.check_version(1)
    opp.check_version(None)
    with pytest.raises(VersionConflictError) as caught:
        opp.check_version(3)
    assert caught.value.current == 1


# ------------------------------------------------------------------------------ gates


def test_gate_lists_every_missing_requirement() -> None:
    p = pipeline()
    opp = opportunity(p)
    with pytest.raises(d.GateNotSatisfiedError) as caught:
        d.move(opp, p, stage(p, 1).id, NOW, None)
    assert caught.value.missing == [d.Requirement.CONTACT_MADE,
                                    d.Requirement.NEXT_CONTACT_SCHEDULED]
    assert opp.stage_id == stage(p, 0).id


def test_a_forward_move_meets_the_gate_of_every_stage_it_passes() -> None:
    """Issue 13, item 11: Identification straight to Negotiation with an offer issued but
    nothing else used to pass (only the target's gate was checked)."""
    p = pipeline()
    opp = opportunity(p)
    opp.offer_issued_at = NOW
    with pytest.raises(d.GateNotSatisfiedError) as caught:
        d.move(opp, p, stage(p, 3).id, NOW, None)
    assert caught.value.missing == [
        d.Requirement.CONTACT_MADE, d.Requirement.NEXT_CONTACT_SCHEDULED,
        d.Requirement.NEEDS, d.Requirement.BUDGET,
    ]
    assert (caught.value.stage_id, caught.value.stage_name) == (stage(p, 3).id, "Negotiation")
    assert opp.stage_id == stage(p, 0).id
    opp.contact_made_at = opp.next_contact_at = NOW
    opp.qualification.needs, opp.qualification.budget_amount = "vans", Decimal(1)
    d.move(opp, p, stage(p, 3).id, NOW, None)
    assert opp.stage_id == stage(p, 3).id


def test_a_backward_move_is_free() -> None:
    p = pipeline()
    opp = opportunity(p)
    opp.stage_id = stage(p, 3).id
    assert d.missing_requirements(opp, stage(p, 1)) != []
    d.move(opp, p, stage(p, 1).id, NOW, None)
    assert opp.stage_id == stage(p, 1).id


def test_the_stages_a_move_passes() -> None:
    p = pipeline()
    assert [s.name for s in d.stages_passed(p, stage(p, 0).id, stage(p, 3))] == [
        "Qualification", "Offer", "Negotiation"]
    assert d.stages_passed(p, stage(p, 3).id, stage(p, 1)) == []


@pytest.mark.parametrize(
    ("requirement", "fill"),
    [
        (d.Requirement.CONTACT_MADE, lambda o: setattr(o, "contact_made_at", NOW)),
        (d.Requirement.NEXT_CONTACT_SCHEDULED, lambda o: setattr(o, "next_contact_at", NOW)),
        (d.Requirement.NEEDS, lambda o: setattr(o.qualification, "needs", "vans")),
        (d.Requirement.PAIN_POINTS, lambda o: setattr(o.qualification, "pain_points", "cost")),
        (d.Requirement.BUDGET,
         lambda o: setattr(o.qualification, "budget_amount", Decimal("0"))),
        (d.Requirement.DECISION_MAKER,
         lambda o: setattr(o.qualification, "decision_makers", "CFO")),
        (d.Requirement.OFFER_ISSUED, lambda o: setattr(o, "offer_issued_at", NOW)),
        (d.Requirement.CLOSE_REASON, lambda o: setattr(o, "close_reason_id", uuid.uuid4())),
        (d.Requirement.CLOSE_COMMENT, lambda o: setattr(o, "close_comment", "signed")),
    ],
)
def test_each_requirement_is_met_by_its_own_data(requirement, fill) -> None:
    p = pipeline()
    gate = d.Stage(uuid.uuid4(), p.id, "Gate", 9, 50, requirements=tuple(d.Requirement))
    opp = opportunity(p)
    assert requirement in d.missing_requirements(opp, gate)
    fill(opp)
    missing = d.missing_requirements(opp, gate)
    assert requirement not in missing and len(missing) == len(d.Requirement) - 1


def test_blank_text_does_not_meet_a_requirement() -> None:
    p = pipeline()
    opp = opportunity(p)
    opp.qualification.needs = "   "
    assert d.Requirement.NEEDS in d.missing_requirements(opp, stage(p, 2))


def test_move_forward_and_backward_records_time_spent() -> None:
    p = pipeline()
    opp = opportunity(p)
    opp.contact_made_at = NOW
    opp.next_contact_at = NOW + timedelta(days=1)
    later = NOW + timedelta(hours=5)
    change = d.move(opp, p, stage(p, 1).id, later, uuid.uuid4())
    assert change.seconds_in_previous_stage == 5 * 3600
    assert (change.from_stage_id, change.to_stage_id) == (stage(p, 0).id, stage(p, 1).id)
    assert opp.probability == 25 and opp.stage_entered_at == later
    back = d.move(opp, p, stage(p, 0).id, later + timedelta(seconds=30), None)
    assert back.seconds_in_previous_stage == 30 and opp.probability == 10


def test_move_rejects_unknown_same_and_closing_stages() -> None:
    p = pipeline()
    opp = opportunity(p)
    with pytest.raises(InvalidInput, match="not a stage"):
        d.move(opp, p, uuid.uuid4(), NOW, None)
    with pytest.raises(InvalidInput, match="already in this stage"):
        d.move(opp, p, opp.stage_id, NOW, None)
    with pytest.raises(InvalidInput, match="markWon"):
        d.move(opp, p, stage(p, 4).id, NOW, None)


# ------------------------------------------------------------------------ won / lost


def test_mark_won_requires_a_comment_and_keeps_nothing_when_refused() -> None:
    p = pipeline()
    opp = opportunity(p)
    with pytest.raises(d.GateNotSatisfiedError) as caught:
        d.mark_won(opp, p, "  ", NOW, None)
    assert caught.value.missing == [d.Requirement.CLOSE_COMMENT]
    assert opp.is_open and opp.close_comment is None
    change = d.mark_won(opp, p, "Signed for 3 years", NOW + timedelta(days=2), None)
    assert opp.status is d.OpportunityStatus.WON and opp.probability == 100
    assert change.to_stage_id == stage(p, 4).id and opp.closed_at is not None
    with pytest.raises(InvalidInput, match="already won"):
        d.mark_lost(opp, p, None, None, NOW, None)
    with pytest.raises(InvalidInput, match="reopen"):
        d.move(opp, p, stage(p, 0).id, NOW, None)


def test_mark_lost_requires_a_reason() -> None:
    p = pipeline()
    opp = opportunity(p)
    with pytest.raises(d.GateNotSatisfiedError) as caught:
        d.mark_lost(opp, p, None, "gone quiet", NOW, None)
    assert caught.value.missing == [d.Requirement.CLOSE_REASON]
    reason = d.default_lost_reasons(ORG, d.Locale.EN)[0]
    d.mark_lost(opp, p, reason, "too expensive", NOW, None)
    assert opp.status is d.OpportunityStatus.LOST and opp.close_reason_id == reason.id
    assert opp.probability == 0


def test_retired_lost_reason_is_refused() -> None:
    p = pipeline()
    reason = d.default_lost_reasons(ORG, d.Locale.EN)[0]
    reason.active = False
    with pytest.raises(InvalidInput):
        d.mark_lost(opportunity(p), p, reason, None, NOW, None)


def test_admin_configured_won_gate_lists_every_missing_requirement() -> None:
    p = pipeline()
    d.update_stage(p, stage(p, 4).id, d.StageSpec(
        requirements=["offer_issued", "close_comment", "decision_maker"]))
    with pytest.raises(d.GateNotSatisfiedError) as caught:
        d.mark_won(opportunity(p), p, None, NOW, None)
    assert caught.value.missing == [d.Requirement.OFFER_ISSUED, d.Requirement.CLOSE_COMMENT,
                                    d.Requirement.DECISION_MAKER]


def test_reopen_returns_to_the_stage_it_was_closed_from() -> None:
    p = pipeline()
    opp = opportunity(p)
    opp.contact_made_at = opp.next_contact_at = NOW
    d.move(opp, p, stage(p, 1).id, NOW, None)
    d.mark_won(opp, p, "ok", NOW, None)
    change = d.reopen(opp, p, NOW + timedelta(minutes=1), None)
    assert opp.is_open and opp.stage_id == stage(p, 1).id
    assert change.from_stage_id == stage(p, 4).id and change.seconds_in_previous_stage == 60
    assert opp.close_comment is None and opp.closed_at is None and opp.probability == 25
    with pytest.raises(InvalidInput, match="already open"):
        d.reopen(opp, p, NOW, None)


# --------------------------------------------------------------------------- rotting


def test_rotting() -> None:
    p = pipeline()
    first = p.first_stage()
    opp = opportunity(p)
    assert not d.is_stale(opp, first, NOW + timedelta(days=100))
    first.rotting_days = 3
    assert not d.is_stale(opp, first, NOW + timedelta(days=3))
    assert d.is_stale(opp, first, NOW + timedelta(days=3, seconds=1))
    assert d.stale_thresholds(p.stages, NOW) == {first.id: NOW - timedelta(days=3)}
    d.mark_lost(opp, p, d.default_lost_reasons(ORG, d.Locale.EN)[0], None, NOW, None)
    assert not d.is_stale(opp, first, NOW + timedelta(days=30))


# ------------------------------------------------------------------------ activities


def activity(opp: d.Opportunity, kind: d.ActivityKind = d.ActivityKind.CALL,
             due: datetime = NOW) -> d.Activity:
    return d.schedule_activity(activity_id=uuid.uuid4(), opp=opp, owner_id=opp.owner_id,
                               kind=kind, subject="Call the CFO", due_at=due, notes=None,
                               now=NOW)


def test_activity_lifecycle() -> None:
    opp = opportunity(pipeline())
    a = activity(opp)
    assert a.team == "alpha" and a.status.value == "open"
    previous = d.reschedule_activity(a, NOW + timedelta(days=1), NOW)
    assert previous == NOW and a.version == 2
    d.complete_activity(a, "Interested", NOW)
    assert a.status.value == "done" and d.counts_as_contact(a)
    with pytest.raises(InvalidInput, match="already done"):
        d.cancel_activity(a, NOW)
    task = activity(opp, d.ActivityKind.TASK)
    d.complete_activity(task, None, NOW)
    assert not d.counts_as_contact(task)


def test_activity_validation() -> None:
    opp = opportunity(pipeline())
    with pytest.raises(InvalidInput) as caught:
        d.schedule_activity(activity_id=uuid.uuid4(), opp=opp, owner_id=opp.owner_id,
                            kind=d.ActivityKind.CALL, subject="", notes="x" * 10_001,
                            due_at=datetime(2025, 1, 1), now=NOW)
    assert set(problems(caught.value)) == {"input.subject", "input.dueAt", "input.notes"}


def test_overdue_is_flagged_once_per_due_time() -> None:
    a = activity(opportunity(pipeline()), due=NOW)
    assert not d.mark_overdue(a, NOW - timedelta(seconds=1))
    assert d.mark_overdue(a, NOW + timedelta(seconds=1))
    assert not d.mark_overdue(a, NOW + timedelta(hours=1))
    d.reschedule_activity(a, NOW + timedelta(days=1), NOW)
    assert a.overdue_notified_at is None
    assert d.mark_overdue(a, NOW + timedelta(days=2))
    d.cancel_activity(a, NOW)
    b = activity(opportunity(pipeline()), due=NOW)
    d.cancel_activity(b, NOW)
    assert not d.mark_overdue(b, NOW + timedelta(days=1))


# ---------------------------------------------------------------------------- access


def test_access_matrix() -> None:
    rep_id = uuid.uuid4()
    rep = caller(Role.REP, member=rep_id)
    other_rep = caller(Role.REP)
    manager = caller(Role.MANAGER)
    other_manager = caller(Role.MANAGER, team="beta")
    admin = caller(Role.ADMIN, team=None)
    foreign_admin = caller(Role.ADMIN, org=uuid.uuid4())
    assert d.can_see(rep, ORG, rep_id, "alpha")
    assert not d.can_see(other_rep, ORG, rep_id, "alpha")
    assert d.can_see(manager, ORG, rep_id, "alpha")
    assert not d.can_see(other_manager, ORG, rep_id, "alpha")
    assert d.can_see(admin, ORG, rep_id, "alpha")
    assert not d.can_see(foreign_admin, ORG, rep_id, "alpha")
    assert not d.can_see(caller(Role.MANAGER, team=None), ORG, rep_id, None)


def test_reopen_and_configuration_rights() -> None:
    p = pipeline()
    opp = opportunity(p)
    owner = caller(Role.REP, member=opp.owner_id)
    d.ensure_can_change(owner, opp)
    with pytest.raises(ForbiddenError):
        d.ensure_can_reopen(owner, opp)
    d.ensure_can_reopen(caller(Role.MANAGER), opp)
    with pytest.raises(ForbiddenError):
        d.ensure_can_reopen(caller(Role.MANAGER, team="beta"), opp)
    with pytest.raises(ForbiddenError):
        d.ensure_admin(caller(Role.MANAGER))
    d.ensure_admin(caller(Role.ADMIN))


def test_owner_of_a_new_opportunity() -> None:
    rep = caller(Role.REP)
    assert d.owner_for_new(rep, None, None) == (rep.member_id, "alpha")
    with pytest.raises(ForbiddenError):
        d.owner_for_new(rep, uuid.uuid4(), None)
    with pytest.raises(ForbiddenError):
        d.owner_for_new(rep, None, "beta")
    manager = caller(Role.MANAGER)
    someone = uuid.uuid4()
    teammate = d.RosterMember(ORG, someone, "alpha")
    assert d.owner_for_new(manager, someone, None, teammate) == (someone, "alpha")
    with pytest.raises(ForbiddenError):
        d.owner_for_new(manager, someone, "beta", teammate)
    admin = caller(Role.ADMIN)
    assert d.owner_for_new(admin, someone, "beta", teammate) == (someone, "beta")
    assert d.owner_for_new(admin, someone, None, teammate) == (someone, "alpha")
    # Not in the roster, in another team or another org: refused (issue 13, item 9).
    for who, member in [(manager, None), (manager, d.RosterMember(ORG, someone, "beta")),
                        (manager, d.RosterMember(uuid.uuid4(), someone, "alpha")),
                        (admin, None), (admin, d.RosterMember(uuid.uuid4(), someone, None))]:
        with pytest.raises(InvalidInput):
            d.owner_for_new(who, someone, None, member)

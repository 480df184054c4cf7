"""Every pipeline use case's rules on the in-memory repository (no IO): who may do it, what it
refuses (changing nothing), what it writes and which events it commits."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from crmkit.auth import Caller, Role
from crmkit.commands import ById
from crmkit.contracts import Envelope
from crmkit.contracts.documents import OfferIssued
from crmkit.contracts.leads import AccountCreated, LeadConverted, MemberUpdated
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError, VersionConflictError
from crmkit.testing.fakes import FakeUnitOfWork
from services.pipeline import domain as d
from services.pipeline.handlers import activities as act
from services.pipeline.handlers import configuration as conf
from services.pipeline.handlers import intake
from services.pipeline.handlers import opportunities as opps
from services.pipeline.handlers.common import OfOpportunity

from .fakes import FakePipelineRepository, fake_uow

ORG = uuid.uuid4()
Uow = FakeUnitOfWork[FakePipelineRepository]


def person(role: str = "rep", *, team: str | None = "alpha", org: uuid.UUID = ORG) -> Caller:
    return Caller(member_id=uuid.uuid4(), org_id=org, roles=frozenset({Role(role)}), team=team)


ADMIN = person("admin", team=None)
MANAGER = person("manager")
REP = person()
REP2 = person()
BETA_REP = person(team="beta")
OUTSIDER = person("admin", team=None, org=uuid.uuid4())


def paths(error: InvalidInput) -> set[str]:
    return {".".join(p.path) for p in error.problems}


def types(uow: Uow) -> list[str]:
    """Every event the use cases committed and the hot path wrote, by type without prefix."""
    return [e.type.removeprefix("crm.pipeline.") for e in [*uow.committed, *uow._repo.outbox]]


async def repo(uow: Uow) -> FakePipelineRepository:
    async with uow:
        return uow.repo


async def create(uow: Uow, who: Caller = REP, **data: object) -> d.Opportunity:
    values: dict[str, object] = {"name": "Fleet renewal", "amount": Decimal("1200.50"),
                                 "currency": "EUR"}
    values.update(data)
    return await opps.create_opportunity(
        opps.CreateOpportunity(who, d.NewOpportunity(**values)), uow)  # type: ignore[arg-type]


async def stages(uow: Uow, who: Caller = ADMIN) -> dict[str, d.Stage]:
    found = await conf.pipelines(conf.OrgQuery(who), uow)
    return {s.name: s for s in found[0].stages}


async def ready_for_qualification(uow: Uow, who: Caller = REP) -> d.Opportunity:
    """An opportunity whose contact was made (a call completed) and with a call scheduled."""
    opp = await create(uow, who)
    done = await schedule(uow, who, opp.id, datetime.now(UTC) + timedelta(hours=1))
    await act.complete_activity(act.CompleteActivity(who, done.id, "reached"), uow)
    await schedule(uow, who, opp.id, datetime.now(UTC) + timedelta(days=1))
    return opp


async def schedule(uow: Uow, who: Caller, opp_id: uuid.UUID, due: datetime,
                   kind: d.ActivityKind = d.ActivityKind.CALL,
                   owner: uuid.UUID | None = None) -> d.Activity:
    return await act.schedule_activity(
        act.ScheduleActivity(who, opp_id, kind, due, "Call", owner_id=owner), uow)


async def move(uow: Uow, who: Caller, opp: uuid.UUID, stage: d.Stage, version: int) -> (
    d.Opportunity
):
    return await opps.move_opportunity(opps.MoveOpportunity(who, opp, stage.id, version), uow)


# --- opportunities ------------------------------------------------------------------------------


async def test_the_first_opportunity_sets_up_the_default_pipeline_once() -> None:
    uow = fake_uow()
    opp = await create(uow)
    await create(uow)
    state = await repo(uow)
    assert len(state.pipeline_rows) == 1 and len(state.reason_rows) == 7
    assert types(uow) == ["pipeline.configured", "opportunity.created", "opportunity.created"]
    assert (opp.owner_id, opp.team, opp.probability, opp.version) == (REP.member_id, "alpha",
                                                                      10, 1)


async def test_a_refused_opportunity_changes_nothing() -> None:
    uow = fake_uow()
    with pytest.raises(InvalidInput) as refused:
        await create(uow, name=" ", amount=Decimal("10.005"), currency="ABC")
    assert paths(refused.value) == {"input.name", "input.amount", "input.currency"}
    with pytest.raises(InvalidInput) as unknown:
        await opps.create_opportunity(opps.CreateOpportunity(
            REP, d.NewOpportunity("Deal", Decimal(1), "EUR"), pipeline_id=uuid.uuid4()), uow)
    assert paths(unknown.value) == {"input.pipelineId"}
    state = await repo(uow)
    assert state.opportunity_rows == {} and state.pipeline_rows == {} and uow.committed == []


async def member(uow: Uow, team: str | None, org: uuid.UUID = ORG) -> uuid.UUID:
    """A member the leads service announced."""
    member_id = uuid.uuid4()
    async with uow:
        await uow.repo.record_member(d.RosterMember(org, member_id, team), 1)
        await uow.commit()
    return member_id


async def account(uow: Uow, org: uuid.UUID = ORG) -> uuid.UUID:
    account_id = uuid.uuid4()
    async with uow:
        await uow.repo.record_account(org, account_id, 1)
        await uow.commit()
    return account_id


def deal(**data: object) -> d.NewOpportunity:
    return d.NewOpportunity("Deal", Decimal(1), "EUR", **data)  # type: ignore[arg-type]


async def test_who_may_own_a_new_opportunity() -> None:
    uow = fake_uow()
    teammate, beta = await member(uow, "alpha"), await member(uow, "beta")
    with pytest.raises(ForbiddenError):
        await opps.create_opportunity(opps.CreateOpportunity(REP, deal(), owner_id=teammate),
                                      uow)
    by_manager = await opps.create_opportunity(
        opps.CreateOpportunity(MANAGER, deal(), owner_id=teammate), uow)
    assert (by_manager.owner_id, by_manager.team) == (teammate, "alpha")
    with pytest.raises(ForbiddenError):
        await opps.create_opportunity(
            opps.CreateOpportunity(MANAGER, deal(), owner_id=teammate, team="beta"), uow)
    by_admin = await opps.create_opportunity(
        opps.CreateOpportunity(ADMIN, deal(), owner_id=beta), uow)
    assert (by_admin.owner_id, by_admin.team) == (beta, "beta")
    chosen = await opps.create_opportunity(
        opps.CreateOpportunity(ADMIN, deal(), owner_id=beta, team="gamma"), uow)
    assert chosen.team == "gamma"


async def test_an_owner_is_a_member_the_caller_may_assign() -> None:
    """Issue 13, item 9: any id was accepted as an owner (another team's member, a random id,
    another org's member)."""
    uow = fake_uow()
    beta = await member(uow, "beta")
    elsewhere = await member(uow, "alpha", org=uuid.uuid4())
    for who, owner in [(MANAGER, beta), (MANAGER, uuid.uuid4()), (MANAGER, elsewhere),
                       (ADMIN, uuid.uuid4()), (ADMIN, elsewhere)]:
        with pytest.raises(InvalidInput) as refused:
            await opps.create_opportunity(opps.CreateOpportunity(who, deal(), owner_id=owner),
                                          uow)
        assert paths(refused.value) == {"input.ownerId"}
    assert (await repo(uow)).opportunity_rows == {}


async def test_an_opportunity_names_an_account_of_its_org() -> None:
    uow = fake_uow()
    ours, theirs = await account(uow), await account(uow, org=uuid.uuid4())
    for named in (theirs, uuid.uuid4()):
        with pytest.raises(InvalidInput) as refused:
            await opps.create_opportunity(opps.CreateOpportunity(REP, deal(account_id=named)),
                                          uow)
        assert paths(refused.value) == {"input.accountId"}
    opp = await opps.create_opportunity(opps.CreateOpportunity(REP, deal(account_id=ours)), uow)
    with pytest.raises(InvalidInput) as patched:
        await opps.update_opportunity(opps.UpdateOpportunity(
            REP, opp.id, 1, d.OpportunityPatch(account_id=theirs)), uow)
    assert paths(patched.value) == {"patch.accountId"}
    renamed = await opps.update_opportunity(opps.UpdateOpportunity(
        REP, opp.id, 1, d.OpportunityPatch(name="Same account")), uow)
    assert renamed.account_id == ours


async def test_an_update_applies_the_patch_and_announces_what_changed() -> None:
    uow = fake_uow()
    opp = await create(uow)
    patch = d.OpportunityPatch(name="Fleet renewal 2027", text={"needs": "20 vans"},
                               budget_amount=Decimal(9000))
    updated = await opps.update_opportunity(opps.UpdateOpportunity(REP, opp.id, 1, patch), uow)
    assert updated.version == 2 and updated.qualification.budget_currency == "EUR"
    assert uow.committed[-1].payload["changed"] == ["name", "needs", "budget_amount",
                                                    "budget_currency"]
    same = await opps.update_opportunity(opps.UpdateOpportunity(REP, opp.id, 2, patch), uow)
    assert same.version == 2 and types(uow)[-1] == "opportunity.updated"
    assert len(uow.committed) == 3


async def test_an_update_refuses_a_stale_version_and_someone_else_s_opportunity() -> None:
    uow = fake_uow()
    opp = await create(uow)
    patch = d.OpportunityPatch(name="Other")
    with pytest.raises(VersionConflictError):
        await opps.update_opportunity(opps.UpdateOpportunity(REP, opp.id, 7, patch), uow)
    for stranger in (REP2, BETA_REP, OUTSIDER):
        with pytest.raises(NotFoundError):
            await opps.update_opportunity(opps.UpdateOpportunity(stranger, opp.id, 1, patch),
                                          uow)
    teamed = await opps.update_opportunity(opps.UpdateOpportunity(MANAGER, opp.id, 1, patch),
                                           uow)
    assert teamed.name == "Other"


async def test_a_move_meets_the_gate_goes_the_fast_way_and_is_recorded() -> None:
    uow = fake_uow()
    s = await stages(uow)
    opp = await ready_for_qualification(uow)
    moved = await move(uow, REP, opp.id, s["Qualification"], 1)
    state = await repo(uow)
    assert (moved.stage_id, moved.probability, moved.version) == (s["Qualification"].id, 25, 2)
    assert state.opportunity_rows[opp.id].stage_id == s["Qualification"].id
    assert [e.type for e in state.outbox] == ["crm.pipeline.opportunity.stage_changed"]
    assert state.outbox[0].aggregate_version == 2
    assert [c.to_stage_id for c in await state.history(ORG, opp.id)] == [s["Qualification"].id]
    back = await move(uow, REP, opp.id, s["Identification"], 2)
    assert back.version == 3 and back.probability == 10


async def test_a_refused_move_is_answered_by_the_locked_path_and_changes_nothing() -> None:
    uow = fake_uow()
    s = await stages(uow)
    opp = await create(uow)
    with pytest.raises(d.GateNotSatisfiedError) as gate:
        await move(uow, REP, opp.id, s["Qualification"], 1)
    assert gate.value.missing == [d.Requirement.CONTACT_MADE,
                                  d.Requirement.NEXT_CONTACT_SCHEDULED]
    with pytest.raises(VersionConflictError):
        await move(uow, REP, opp.id, s["Qualification"], 5)
    with pytest.raises(NotFoundError):
        await move(uow, REP2, opp.id, s["Qualification"], 1)
    with pytest.raises(InvalidInput) as closing:
        await move(uow, REP, opp.id, s["Won"], 1)
    assert paths(closing.value) == {"stageId"}
    state = await repo(uow)
    assert state.opportunity_rows[opp.id].version == 1 and state.outbox == []
    assert await state.history(ORG, opp.id) == []


async def test_a_deal_is_handed_over_with_its_open_activities() -> None:
    uow = fake_uow()
    rita, rob, beta = (await member(uow, "alpha"), await member(uow, "alpha"),
                       await member(uow, "beta"))
    owner = Caller(member_id=rita, org_id=ORG, roles=frozenset({Role.REP}), team="alpha")
    opp = await create(uow, owner)
    due = datetime.now(UTC) + timedelta(days=1)
    call = await schedule(uow, owner, opp.id, due)
    done = await schedule(uow, owner, opp.id, due - timedelta(hours=2))
    await act.complete_activity(act.CompleteActivity(owner, done.id, "reached"), uow)
    theirs = await schedule(uow, MANAGER, opp.id, due + timedelta(hours=1))  # the manager's

    def hand(who: Caller, to: uuid.UUID, version: int = 1) -> opps.ReassignOpportunity:
        return opps.ReassignOpportunity(who, opp.id, version, to)

    with pytest.raises(ForbiddenError):  # a rep does not hand deals out, not even their own
        await opps.reassign_opportunity(hand(owner, rob), uow)
    with pytest.raises(NotFoundError):  # another team's manager does not see it
        await opps.reassign_opportunity(hand(person("manager", team="beta"), rob), uow)
    with pytest.raises(InvalidInput) as outside:  # a manager hands within their team only
        await opps.reassign_opportunity(hand(MANAGER, beta), uow)
    assert paths(outside.value) == {"ownerId"}
    with pytest.raises(InvalidInput):  # nobody the roster knows
        await opps.reassign_opportunity(hand(ADMIN, uuid.uuid4()), uow)
    with pytest.raises(VersionConflictError):
        await opps.reassign_opportunity(hand(MANAGER, rob, 7), uow)
    announced = len(types(uow))

    handed = await opps.reassign_opportunity(hand(MANAGER, rob), uow)
    assert (handed.owner_id, handed.team, handed.version) == (rob, "alpha", 2)
    assert types(uow)[announced:] == ["opportunity.updated", "activity.reassigned"]
    updated, moved = uow.committed[-2:]
    assert updated.payload["changed"] == ["owner_id"]
    assert (moved.aggregate_id, moved.aggregate_version, moved.payload["owner_id"],
            moved.payload["previous_owner_id"]) == (call.id, 2, str(rob), str(rita))
    state = await repo(uow)
    assert [state.activity_rows[a.id].owner_id for a in (call, done, theirs)] == [
        rob, rita, MANAGER.member_id]
    # An admin hands it to anyone in the org, the team following the owner.
    moved_on = await opps.reassign_opportunity(hand(ADMIN, beta, 2), uow)
    assert (moved_on.owner_id, moved_on.team) == (beta, "beta")
    assert (await repo(uow)).activity_rows[call.id].team == "beta"
    # Both handovers are in the deal's history, for whoever may see the deal.
    handovers = await opps.opportunity_handovers(OfOpportunity(ADMIN, moved_on), uow)
    assert [(c.from_owner_id, c.to_owner_id, c.changed_by) for c in handovers] == [
        (rita, rob, MANAGER.member_id), (rob, beta, ADMIN.member_id)]
    with pytest.raises(NotFoundError):  # alpha's manager no longer sees beta's deal
        await opps.opportunity_handovers(OfOpportunity(MANAGER, moved_on), uow)
    # The same owner again changes nothing; a closed deal stays with whoever closed it.
    announced = len(types(uow))
    assert (await opps.reassign_opportunity(hand(ADMIN, beta, 3), uow)).version == 3
    assert len(types(uow)) == announced and len((await repo(uow)).handover_rows) == 2
    await opps.mark_won(opps.MarkWon(ADMIN, opp.id, "Signed", 3), uow)
    with pytest.raises(InvalidInput) as closed:
        await opps.reassign_opportunity(hand(ADMIN, rita, 4), uow)
    assert paths(closed.value) == {"id"}


async def test_won_lost_and_reopen() -> None:
    uow = fake_uow()
    opp = await create(uow)
    with pytest.raises(d.GateNotSatisfiedError) as gate:
        await opps.mark_won(opps.MarkWon(REP, opp.id, None), uow)
    assert gate.value.missing == [d.Requirement.CLOSE_COMMENT]
    won = await opps.mark_won(opps.MarkWon(REP, opp.id, "Signed", 1), uow)
    assert (won.status, won.probability, won.version) == (d.OpportunityStatus.WON, 100, 2)
    assert types(uow)[-2:] == ["opportunity.stage_changed", "opportunity.won"]
    with pytest.raises(ForbiddenError):
        await opps.reopen_opportunity(opps.ReopenOpportunity(REP, opp.id), uow)
    reopened = await opps.reopen_opportunity(opps.ReopenOpportunity(MANAGER, opp.id, 2), uow)
    assert reopened.status is d.OpportunityStatus.OPEN and reopened.close_comment is None
    assert types(uow)[-2:] == ["opportunity.stage_changed", "opportunity.reopened"]

    reasons = await conf.lost_reasons(conf.ListLostReasons(REP), uow)
    with pytest.raises(InvalidInput) as unknown:
        await opps.mark_lost(opps.MarkLost(REP, opp.id, uuid.uuid4(), None), uow)
    assert paths(unknown.value) == {"reasonId"}
    lost = await opps.mark_lost(opps.MarkLost(REP, opp.id, reasons[0].id, "Too dear"), uow)
    assert lost.status is d.OpportunityStatus.LOST and lost.close_reason_id == reasons[0].id
    assert uow.committed[-1].payload["close_reason_label"] == reasons[0].label


async def test_lists_show_what_the_caller_sees_page_by_page() -> None:
    uow = fake_uow()
    mine = [await create(uow, REP, name=f"Deal {i}") for i in range(3)]
    theirs = await create(uow, REP2, name="Other deal")
    await create(uow, BETA_REP, name="Beta deal")

    async def listed(who: Caller, **filters: object) -> list[uuid.UUID]:
        found = await opps.list_opportunities(
            opps.ListOpportunities(who, opps.OpportunityFilter(**filters)), uow)  # type: ignore[arg-type]
        return [o.id for o in found.page.items]

    assert set(await listed(REP)) == {o.id for o in mine}
    assert set(await listed(MANAGER)) == {*(o.id for o in mine), theirs.id}
    assert len(await listed(ADMIN)) == 5
    assert await listed(OUTSIDER) == []
    assert await listed(ADMIN, text="beta") == [o for o in await listed(BETA_REP)]

    first = await opps.list_opportunities(opps.ListOpportunities(REP, first=2), uow)
    assert first.page.has_next_page and not first.page.has_previous_page
    rest = await opps.list_opportunities(
        opps.ListOpportunities(REP, first=2, after=first.page.end_cursor), uow)
    assert [o.id for o in first.page.items + rest.page.items] == [o.id for o in mine[::-1]]
    assert rest.page.has_previous_page and not rest.page.has_next_page

    with pytest.raises(InvalidInput) as bad:
        await opps.list_opportunities(opps.ListOpportunities(
            REP, opps.OpportunityFilter(close_from=datetime(2030, 2, 1).date(),
                                        close_to=datetime(2030, 1, 1).date())), uow)
    assert paths(bad.value) == {"filter.closeTo"}
    with pytest.raises(InvalidInput) as cursor:
        await opps.list_opportunities(opps.ListOpportunities(REP, first=500, after="x"), uow)
    assert paths(cursor.value) == {"first", "after"}


async def test_a_list_is_read_in_the_order_asked_for_page_by_page() -> None:
    uow = fake_uow()
    later, undated, sooner = [
        await create(uow, REP, name=name, expected_close_date=day)
        for name, day in (("Later", date(2031, 3, 1)), ("Undated", None),
                          ("Sooner", date(2031, 1, 1)))]
    order = d.OpportunityOrder.CLOSING_SOONEST
    first = await opps.list_opportunities(opps.ListOpportunities(REP, first=2, order=order), uow)
    rest = await opps.list_opportunities(opps.ListOpportunities(
        REP, first=2, after=first.page.end_cursor, order=order), uow)
    assert [o.id for o in first.page.items + rest.page.items] == [
        sooner.id, later.id, undated.id]
    newest = await opps.list_opportunities(opps.ListOpportunities(REP), uow)
    assert [o.id for o in newest.page.items] == [sooner.id, undated.id, later.id]


async def test_the_stale_list_needs_a_rotting_stage() -> None:
    uow = fake_uow()
    s = await stages(uow)
    opp = await create(uow)
    state = await repo(uow)
    state.opportunity_rows[opp.id].stage_entered_at -= timedelta(days=10)
    stale = opps.ListOpportunities(ADMIN, opps.OpportunityFilter(stale=True))
    assert (await opps.list_opportunities(stale, uow)).page.items == []
    spec = d.StageSpec(rotting_days=7)
    await conf.update_stage(conf.UpdateStage(ADMIN, s["Identification"].id, spec), uow)
    found = await opps.list_opportunities(stale, uow)
    assert [o.id for o in found.page.items] == [opp.id] and found.pipelines is not None


async def test_references_and_history_answer_only_what_the_caller_sees() -> None:
    uow = fake_uow()
    s = await stages(uow)
    opp = await ready_for_qualification(uow)
    await move(uow, REP, opp.id, s["Qualification"], 1)
    ids = [opp.id, uuid.uuid4()]
    assert set(await opps.opportunities_by_id(ById(REP, ids), uow)) == {opp.id}
    assert await opps.opportunities_by_id(ById(REP2, ids), uow) == {}
    held = (await opps.opportunities_by_id(ById(REP, ids), uow))[opp.id]
    history = await opps.opportunity_history(OfOpportunity(REP, held), uow)
    assert [(c.from_stage_id, c.to_stage_id) for c in history] == [
        (s["Identification"].id, s["Qualification"].id)]
    with pytest.raises(NotFoundError):
        await opps.opportunity_history(OfOpportunity(REP2, held), uow)
    pipelines = await opps.org_pipelines(opps.OrgPipelines(REP), uow)
    assert list(pipelines) == [opp.pipeline_id]


# --- activities ---------------------------------------------------------------------------------


async def test_activities_keep_the_next_contact_and_the_contact_made() -> None:
    uow = fake_uow()
    opp = await create(uow)
    soon = datetime.now(UTC) + timedelta(hours=2)
    later = await schedule(uow, REP, opp.id, soon + timedelta(days=3))
    first = await schedule(uow, REP, opp.id, soon)
    state = await repo(uow)
    assert state.opportunity_rows[opp.id].next_contact_at == soon
    done = await act.complete_activity(act.CompleteActivity(REP, first.id, " reached "), uow)
    assert (done.status, done.outcome, done.version) == (d.ActivityStatus.DONE, "reached", 2)
    assert state.opportunity_rows[opp.id].contact_made_at is not None
    assert state.opportunity_rows[opp.id].next_contact_at == later.due_at
    moved = await act.reschedule_activity(act.RescheduleActivity(REP, later.id, soon), uow)
    assert state.opportunity_rows[opp.id].next_contact_at == moved.due_at == soon
    await act.cancel_activity(act.CancelActivity(REP, later.id), uow)
    assert state.opportunity_rows[opp.id].next_contact_at is None
    assert state.opportunity_rows[opp.id].version == 1
    assert types(uow)[-5:] == ["activity.scheduled", "activity.scheduled",
                               "activity.completed", "activity.rescheduled",
                               "activity.cancelled"]


async def test_a_task_done_is_no_contact_and_refusals_change_nothing() -> None:
    uow = fake_uow()
    opp = await create(uow)
    task = await schedule(uow, REP, opp.id, datetime.now(UTC), kind=d.ActivityKind.TASK)
    await act.complete_activity(act.CompleteActivity(REP, task.id), uow)
    state = await repo(uow)
    assert state.opportunity_rows[opp.id].contact_made_at is None
    with pytest.raises(InvalidInput):
        await act.complete_activity(act.CompleteActivity(REP, task.id), uow)
    with pytest.raises(InvalidInput) as rep_for_other:
        await schedule(uow, REP, opp.id, datetime.now(UTC), owner=REP2.member_id)
    assert paths(rep_for_other.value) == {"input.ownerId"}
    with pytest.raises(NotFoundError):
        await schedule(uow, REP2, opp.id, datetime.now(UTC))
    with pytest.raises(NotFoundError):
        await act.cancel_activity(act.CancelActivity(BETA_REP, task.id), uow)
    with pytest.raises(InvalidInput) as naive:
        await schedule(uow, REP, opp.id, datetime(2030, 1, 1))
    assert paths(naive.value) == {"input.dueAt"}
    assert len(state.activity_rows) == 1


async def test_an_activity_s_owner_is_a_member_the_caller_may_assign() -> None:
    uow = fake_uow()
    opp = await create(uow)
    teammate, beta = await member(uow, "alpha"), await member(uow, "beta")
    due = datetime.now(UTC) + timedelta(days=1)
    assert (await schedule(uow, MANAGER, opp.id, due, owner=teammate)).owner_id == teammate
    assert (await schedule(uow, ADMIN, opp.id, due, owner=beta)).owner_id == beta
    for who, owner in [(REP, teammate), (MANAGER, beta), (MANAGER, uuid.uuid4()),
                       (ADMIN, uuid.uuid4())]:
        with pytest.raises(InvalidInput) as refused:
            await schedule(uow, who, opp.id, due, owner=owner)
        assert paths(refused.value) == {"input.ownerId"}


async def test_overdue_is_one_rule_for_the_list_and_the_pass() -> None:
    uow = fake_uow()
    opp = await create(uow)
    now = datetime.now(UTC)
    late = await schedule(uow, REP, opp.id, now - timedelta(minutes=5))
    await schedule(uow, REP, opp.id, now + timedelta(days=1))
    listed = await act.list_activities(act.ListActivities(REP, overdue=True), uow)
    assert [a.id for a in listed.items] == [late.id]
    assert d.is_overdue(listed.items[0], now)
    assert await act.announce_overdue(act.AnnounceOverdue(datetime.now(UTC), 1), uow) == 1
    assert types(uow)[-1] == "activity.overdue"
    assert await act.announce_overdue(act.AnnounceOverdue(datetime.now(UTC)), uow) == 0
    state = await repo(uow)
    assert state.activity_rows[late.id].overdue_notified_at is not None
    at_due = d.Activity(id=uuid.uuid4(), org_id=ORG, opportunity_id=opp.id, owner_id=REP.member_id,
                        team="alpha", kind=d.ActivityKind.CALL, subject="x", due_at=now,
                        created_at=now, updated_at=now)
    assert not d.is_overdue(at_due, now) and d.is_overdue(at_due, now + timedelta(seconds=1))


async def test_the_calendar_window_and_references() -> None:
    uow = fake_uow()
    opp = await create(uow)
    base = datetime(2031, 5, 5, 9, tzinfo=UTC)
    made = [await schedule(uow, REP, opp.id, base + timedelta(hours=h)) for h in (0, 1, 30)]
    day = act.ListActivities(REP, due_from=base, due_to=base + timedelta(days=1))
    assert [a.id for a in (await act.list_activities(day, uow)).items] == [m.id for m in made[:2]]
    with pytest.raises(InvalidInput) as window:
        await act.list_activities(act.ListActivities(REP, due_from=base, due_to=base), uow)
    assert paths(window.value) == {"to"}
    # Without an offset neither end compares with the other: each is named, not compared.
    naive = base.replace(tzinfo=None)
    with pytest.raises(InvalidInput) as offsets:
        await act.list_activities(act.ListActivities(REP, due_from=naive, due_to=naive), uow)
    assert paths(offsets.value) == {"from", "to"}
    with pytest.raises(InvalidInput) as early:
        await act.list_activities(act.ListActivities(
            REP, due_from=datetime(166, 7, 5, tzinfo=UTC), due_to=base), uow)
    assert paths(early.value) == {"from"}
    mine = await act.activities_by_id(ById(REP, [m.id for m in made]), uow)
    assert set(mine) == {m.id for m in made}
    assert await act.activities_by_id(ById(REP2, [made[0].id]), uow) == {}


# --- configuration ------------------------------------------------------------------------------


async def test_only_an_admin_configures() -> None:
    uow = fake_uow()
    s = await stages(uow)
    pipeline_id = (await conf.pipelines(conf.OrgQuery(REP), uow))[0].id
    refused = [
        conf.create_pipeline(conf.CreatePipeline(MANAGER, "Renewals"), uow),
        conf.add_stage(conf.AddStage(MANAGER, pipeline_id, d.StageSpec(name="Demo")), uow),
        conf.update_stage(conf.UpdateStage(MANAGER, s["Offer"].id, d.StageSpec(name="X")), uow),
        conf.reorder_stages(conf.ReorderStages(MANAGER, pipeline_id, []), uow),
        conf.remove_stage(conf.RemoveStage(MANAGER, s["Offer"].id), uow),
        conf.add_lost_reason(conf.AddLostReason(MANAGER, "Budget cut"), uow),
        conf.update_lost_reason(conf.UpdateLostReason(MANAGER, uuid.uuid4(), "X"), uow),
        conf.set_locale(conf.SetLocale(MANAGER, d.Locale.PL), uow),
    ]
    for attempt in refused:
        with pytest.raises(ForbiddenError):
            await attempt
    assert types(uow) == ["pipeline.configured"]


async def test_stages_are_added_changed_reordered_and_removed() -> None:
    uow = fake_uow()
    s = await stages(uow)
    opp = await create(uow)
    pipeline_id = s["Offer"].pipeline_id
    added = await conf.add_stage(conf.AddStage(
        ADMIN, pipeline_id, d.StageSpec(name="Demo", probability=40,
                                        requirements=["needs"]), 2), uow)
    names = [x.name for x in added.ordered_stages()]
    assert names[2] == "Demo" and added.version == 2
    with pytest.raises(InvalidInput):
        await conf.add_stage(conf.AddStage(ADMIN, pipeline_id, d.StageSpec(name="demo")), uow)
    with pytest.raises(NotFoundError):
        await conf.update_stage(conf.UpdateStage(ADMIN, uuid.uuid4(), d.StageSpec()), uow)
    order = [x.id for x in reversed(added.ordered_stages())]
    reordered = await conf.reorder_stages(conf.ReorderStages(ADMIN, pipeline_id, order), uow)
    assert [x.id for x in reordered.ordered_stages()] == order

    with pytest.raises(InvalidInput) as needs_target:
        await conf.remove_stage(conf.RemoveStage(ADMIN, s["Identification"].id), uow)
    assert paths(needs_target.value) == {"moveOpportunitiesTo"}
    removed = await conf.remove_stage(
        conf.RemoveStage(ADMIN, s["Identification"].id, s["Offer"].id), uow)
    assert removed.stage(s["Identification"].id) is None
    state = await repo(uow)
    held = state.opportunity_rows[opp.id]
    assert (held.stage_id, held.version, held.probability) == (s["Offer"].id, 2, 50)
    assert uow.committed[-1].payload["moved_opportunities_to"] == {
        str(s["Identification"].id): str(s["Offer"].id)}


async def test_pipelines_lost_reasons_and_the_locale() -> None:
    uow = fake_uow()
    assert await conf.set_locale(conf.SetLocale(ADMIN, d.Locale.PL), uow) is d.Locale.PL
    assert await conf.organization_locale(conf.OrgQuery(REP), uow) is d.Locale.PL
    announced = uow.committed[-1]
    assert (announced.type, announced.payload, announced.aggregate_id) == (
        "crm.pipeline.organization.settings_changed", {"locale": "pl"}, ADMIN.org_id)
    created = await conf.create_pipeline(conf.CreatePipeline(ADMIN, " Renewals "), uow)
    found = await conf.pipelines(conf.OrgQuery(REP), uow)
    assert [p.name for p in found] == ["Sprzedaż", "Renewals"] and created.name == "Renewals"
    assert found[1].stages[0].name == "Identyfikacja"

    reason = await conf.add_lost_reason(conf.AddLostReason(ADMIN, "Budget cut"), uow)
    assert reason.position == 7
    with pytest.raises(InvalidInput):
        await conf.add_lost_reason(conf.AddLostReason(ADMIN, "budget CUT"), uow)
    with pytest.raises(InvalidInput):
        await conf.add_lost_reason(conf.AddLostReason(ADMIN, "Bad\x00label"), uow)
    retired = await conf.update_lost_reason(
        conf.UpdateLostReason(ADMIN, reason.id, "Budget cuts", active=False), uow)
    assert (retired.label, retired.active) == ("Budget cuts", False)
    assert len(await conf.lost_reasons(conf.ListLostReasons(REP), uow)) == 7
    assert len(await conf.lost_reasons(conf.ListLostReasons(REP, True), uow)) == 8
    assert await conf.lost_reason(conf.LostReasonById(REP, reason.id), uow) == retired
    assert await conf.lost_reason(conf.LostReasonById(OUTSIDER, reason.id), uow) is None
    with pytest.raises(NotFoundError):
        await conf.update_lost_reason(conf.UpdateLostReason(ADMIN, uuid.uuid4()), uow)


# --- intake -------------------------------------------------------------------------------------


def converted(opportunity_id: uuid.UUID, offer_at: datetime | None = None) -> Envelope:
    return Envelope.wrap(
        LeadConverted(lead_id=uuid.uuid4(), opportunity_id=opportunity_id, name="Vans",
                      amount=Decimal("5000"), currency="PLN", owner_id=REP.member_id,
                      team="alpha", account_id=uuid.uuid4()),
        org_id=ORG, aggregate_id=uuid.uuid4(), aggregate_version=2, actor_id=REP.member_id,
    )


def offer(opportunity_id: uuid.UUID, at: datetime) -> Envelope:
    return Envelope.wrap(
        OfferIssued(offer_id=uuid.uuid4(), opportunity_id=opportunity_id,
                    document_id=uuid.uuid4(), title="Offer", issued_at=at),
        org_id=ORG, aggregate_id=uuid.uuid4(), aggregate_version=1, actor_id=REP.member_id,
    )


async def test_a_converted_lead_becomes_one_opportunity_with_its_early_offer() -> None:
    uow = fake_uow()
    opp_id = uuid.uuid4()
    early = datetime(2030, 1, 1, tzinfo=UTC)
    assert await intake.apply_offer_issued(offer(opp_id, early), uow)
    created = await intake.apply_lead_converted(converted(opp_id), uow)
    assert created is not None and created.offer_issued_at == early
    assert created.lead_id is not None and created.owner_id == REP.member_id
    assert await intake.apply_lead_converted(converted(opp_id), uow) is None
    repeated = offer(opp_id, early)
    assert await intake.apply_offer_issued(repeated, uow)
    assert not await intake.apply_offer_issued(repeated, uow)
    assert types(uow) == ["pipeline.configured", "opportunity.created"]


async def test_the_roster_and_accounts_follow_the_leads_service() -> None:
    uow = fake_uow()
    member_id = uuid.uuid4()

    def updated(team: str, version: int) -> Envelope:
        return Envelope.wrap(
            MemberUpdated(member_id=member_id, team=team, lead_cap=10, changed=["team"]),
            org_id=ORG, aggregate_id=member_id, aggregate_version=version)

    assert await intake.apply_member_updated(updated("beta", 2), uow)
    assert not await intake.apply_member_updated(updated("alpha", 1), uow)  # late: ignored
    state = await repo(uow)
    assert await state.member(ORG, member_id) == d.RosterMember(ORG, member_id, "beta")
    account_id = uuid.uuid4()
    created = Envelope.wrap(AccountCreated(account_id=account_id, name="Orion"), org_id=ORG,
                            aggregate_id=account_id, aggregate_version=1)
    assert await intake.apply_account(created, uow)
    assert not await intake.apply_account(created, uow)
    assert await state.account_exists(ORG, account_id)
    assert not await state.account_exists(uuid.uuid4(), account_id)

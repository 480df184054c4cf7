"""Every leads use case's rules on the in-memory repository (no IO): who may do it, what it
refuses (changing nothing), what it writes and which events it commits."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from crmkit.auth import Caller, Role
from crmkit.commands import ById
from crmkit.contracts.leads import (
    AccountCreated,
    AccountUpdated,
    ContactCreated,
    ContactRemoved,
    ContactUpdated,
    LeadAssigned,
    LeadConverted,
    LeadCreated,
    LeadErased,
    LeadReleased,
    LeadStatusChanged,
    LeadUpdated,
    MemberUpdated,
)
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError, VersionConflictError
from crmkit.testing.fakes import FakeUnitOfWork
from services.leads import domain
from services.leads.domain import LeadStatus
from services.leads.handlers import clients, common, conversion, imports, leads, pool, roster
from services.leads.ports import LeadFilter, PoolFilter
from services.leads.records import LeadRecord

from .fakes import FakeLeadsRepository, fake_uow

ORG = uuid.uuid4()
Uow = FakeUnitOfWork[FakeLeadsRepository]


def person(role: str = "rep", *, team: str | None = "alpha", org: uuid.UUID = ORG,
           name: str = "Someone") -> Caller:
    return Caller(member_id=uuid.uuid4(), org_id=org, roles=frozenset({Role(role)}),
                  team=team, name=name)


def types(uow: Uow) -> list[str]:
    return [e.type for e in uow.committed]


async def joined(uow: Uow, *callers: Caller) -> None:
    for who in callers:
        await roster.register_member(roster.RegisterMember(who), uow)


async def new_lead(uow: Uow, who: Caller, **fields: object) -> LeadRecord:
    data = leads.LeadInput(**({"company": f"Acme {uuid.uuid4().hex[:6]}"} | fields))  # type: ignore[arg-type]
    return await leads.create_lead(leads.CreateLead(who, data), uow)


async def lead_row(uow: Uow, lead_id: uuid.UUID) -> LeadRecord:
    async with uow:
        return uow.repo.lead_rows[lead_id]


# --- roster ------------------------------------------------------------------------------


async def test_a_member_is_registered_once_and_announced_again_when_their_token_changes() -> None:
    uow = fake_uow()
    rep = person()
    first = await roster.register_member(roster.RegisterMember(rep), uow)
    again = await roster.register_member(roster.RegisterMember(rep), uow)
    assert first == again and uow.commits == 1
    moved = Caller(member_id=rep.member_id, org_id=ORG, roles=rep.roles, team="beta",
                   name="Someone")
    lead = await new_lead(uow, rep)
    await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    member = await roster.register_member(roster.RegisterMember(moved), uow)
    assert (member.team, member.version) == ("beta", 2)
    assert (await lead_row(uow, lead.id)).owner_team == "beta"
    registered, changed = [e.parse(MemberUpdated) for e in uow.committed
                           if e.type == MemberUpdated.TYPE]
    assert (registered.changed, changed.changed, changed.lead_cap) == (
        ["registered"], ["team"], 50)


async def test_the_roster_lists_by_name_and_counts_active_leads() -> None:
    uow = fake_uow()
    a, b = person(name="Bea"), person(name="Adam")
    await joined(uow, a, b)
    assert [m.name for m in await roster.list_members(roster.ListMembers(a), uow)] == [
        "Adam", "Bea"]
    lead = await new_lead(uow, a)
    await pool.claim_lead(pool.ClaimLead(a, lead.id), uow)
    counts = await roster.active_lead_counts(roster.MembersOf(a, [a.member_id, b.member_id]),
                                             uow)
    assert counts == {a.member_id: 1, b.member_id: 0}


async def test_a_lead_cap_is_set_by_a_manager_of_the_members_team_only() -> None:
    uow = fake_uow()
    rep, manager, other = person(), person("manager"), person("manager", team="beta")
    await joined(uow, rep, manager, other)
    with pytest.raises(ForbiddenError):
        await roster.set_lead_cap(roster.SetLeadCap(other, rep.member_id, 3), uow)
    with pytest.raises(InvalidInput):
        await roster.set_lead_cap(roster.SetLeadCap(manager, rep.member_id, -1), uow)
    with pytest.raises(NotFoundError):
        await roster.set_lead_cap(roster.SetLeadCap(manager, uuid.uuid4(), 3), uow)
    before = len(uow.committed)
    member = await roster.set_lead_cap(roster.SetLeadCap(manager, rep.member_id, 3), uow)
    assert member.lead_cap == 3
    [event] = [e.parse(MemberUpdated) for e in uow.committed[before:]]
    assert (event.lead_cap, event.previous_lead_cap, event.changed) == (3, 50, ["lead_cap"])


async def test_only_an_admin_changes_the_settings_and_members_on_the_default_hear_of_it() -> None:
    uow = fake_uow()
    admin, rep, capped = person("admin", team=None), person(), person()
    await joined(uow, admin, rep, capped)
    await roster.set_lead_cap(roster.SetLeadCap(admin, capped.member_id, 5), uow)
    with pytest.raises(ForbiddenError):
        await roster.update_lead_settings(roster.UpdateLeadSettings(rep, "PL", 10, None), uow)
    with pytest.raises(InvalidInput) as refused:
        await roster.update_lead_settings(roster.UpdateLeadSettings(admin, "XX", -1, 0), uow)
    assert {".".join(p.path) for p in refused.value.problems} == {
        "defaultRegion", "defaultLeadCap", "idleReturnDays"}
    before = len(uow.committed)
    saved = await roster.update_lead_settings(roster.UpdateLeadSettings(admin, " de ", 10, 7),
                                              uow)
    assert (saved.default_region, saved.default_lead_cap, saved.idle_return_days) == (
        "DE", 10, 7)
    announced = {e.parse(MemberUpdated).member_id for e in uow.committed[before:]}
    assert announced == {admin.member_id, rep.member_id}
    assert (await roster.lead_settings(roster.LeadSettingsOf(rep), uow)) == saved


# --- leads ---------------------------------------------------------------------------------


async def test_a_new_lead_is_normalised_and_a_duplicate_refused_unless_allowed() -> None:
    uow = fake_uow()
    rep = person()
    lead = await new_lead(uow, rep, company=" Acme  Sp. z o.o. ", email="A@Acme.PL",
                          phone="601 234 567")
    assert (lead.email, lead.phone, lead.status, lead.owner_id) == (
        "a@acme.pl", "+48601234567", "NEW", None)
    assert uow.committed[-1].parse(LeadCreated).lead_id == lead.id
    with pytest.raises(domain.DuplicateLead) as duplicate:
        await new_lead(uow, rep, email="a@acme.pl")
    assert duplicate.value.matched_on == ["email"]
    again = await leads.create_lead(leads.CreateLead(
        rep, leads.LeadInput(company="Other", email="a@acme.pl"), allow_duplicate=True), uow)
    assert again.id != lead.id
    with pytest.raises(InvalidInput):
        await new_lead(uow, rep, company="\x00", priority=101)


async def test_a_lead_is_edited_by_whoever_may_see_it_after_claiming_it() -> None:
    uow = fake_uow()
    rep, manager, stranger = person(), person("manager"), person(team="beta")
    await joined(uow, rep, manager, stranger)
    lead = await new_lead(uow, rep)
    update = leads.UpdateLead(rep, lead.id, {"notes": "call on Monday"})
    with pytest.raises(ForbiddenError, match="claim a pool lead"):
        await leads.update_lead(update, uow)
    await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    with pytest.raises(NotFoundError):
        await leads.update_lead(leads.UpdateLead(stranger, lead.id, {"notes": "x"}), uow)
    with pytest.raises(VersionConflictError):
        await leads.update_lead(leads.UpdateLead(rep, lead.id, {"notes": "x"}, 1), uow)
    with pytest.raises(InvalidInput):
        await leads.update_lead(leads.UpdateLead(rep, lead.id, {"owner_id": None}), uow)
    changed = await leads.update_lead(update, uow)
    assert (changed.notes, changed.version) == ("call on Monday", 3)
    assert changed.last_activity_at is not None
    assert uow.committed[-1].parse(LeadUpdated).changed == ["notes"]
    commits = uow.commits
    assert await leads.update_lead(update, uow) == changed  # nothing changed, nothing written
    assert uow.commits == commits
    by_manager = await leads.update_lead(leads.UpdateLead(manager, lead.id, {"priority": 9}),
                                         uow)
    assert by_manager.priority == 9


async def test_status_changes_follow_the_owner_and_a_disqualification_needs_a_reason() -> None:
    uow = fake_uow()
    rep, other, manager = person(), person(), person("manager")
    await joined(uow, rep, other, manager)
    lead = await new_lead(uow, rep)
    with pytest.raises(ForbiddenError):
        await leads.change_status(leads.ChangeStatus(rep, lead.id, LeadStatus.DISQUALIFIED,
                                                     "no budget"), uow)
    with pytest.raises(domain.InvalidLeadState):
        await leads.change_status(leads.ChangeStatus(rep, lead.id, LeadStatus.CONTACTED), uow)
    await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    with pytest.raises(NotFoundError):  # another rep's lead is out of sight
        await leads.change_status(leads.ChangeStatus(other, lead.id, LeadStatus.CONTACTED),
                                  uow)
    contacted = await leads.change_status(
        leads.ChangeStatus(rep, lead.id, LeadStatus.CONTACTED), uow)
    event = uow.committed[-1].parse(LeadStatusChanged)
    assert (event.status, event.previous_status) == ("CONTACTED", "ASSIGNED")
    announced = len(uow.committed)
    twice = await leads.change_status(leads.ChangeStatus(rep, lead.id, LeadStatus.CONTACTED),
                                      uow)
    assert (twice.status, len(uow.committed)) == ("CONTACTED", announced)
    assert twice.status_changed_at == contacted.status_changed_at
    with pytest.raises(InvalidInput):
        await leads.change_status(leads.ChangeStatus(manager, lead.id, LeadStatus.DISQUALIFIED,
                                                     " "), uow)
    with pytest.raises(InvalidInput) as too_long:  # it was an internal error
        await leads.change_status(leads.ChangeStatus(manager, lead.id, LeadStatus.DISQUALIFIED,
                                                     "ä" * 501), uow)
    assert [(p.path, p.message) for p in too_long.value.problems] == [
        (("reason",), "is longer than 500 characters")]
    gone = await leads.change_status(leads.ChangeStatus(manager, lead.id,
                                                        LeadStatus.DISQUALIFIED, "no budget"),
                                     uow)
    assert (gone.status, gone.disqualify_reason) == ("DISQUALIFIED", "no budget")


async def test_reading_leads_shows_each_role_its_own_newest_first_in_pages() -> None:
    uow = fake_uow()
    rep, peer, manager, admin = (person(), person(), person("manager"),
                                 person("admin", team=None))
    await joined(uow, rep, peer, manager, admin)
    first = await new_lead(uow, rep)
    second = await new_lead(uow, rep)
    third = await new_lead(uow, rep)
    await pool.claim_lead(pool.ClaimLead(rep, first.id), uow)
    await pool.claim_lead(pool.ClaimLead(peer, second.id), uow)

    async def seen(who: Caller, **kw: object) -> list[uuid.UUID]:
        page = await leads.list_leads(leads.ListLeads(who, **kw), uow)  # type: ignore[arg-type]
        return [r.id for r in page.items]

    assert await seen(rep) == [third.id, first.id]
    assert await seen(manager) == [third.id, second.id, first.id]
    assert await seen(admin, lead_filter=LeadFilter(pool_only=True)) == [third.id]
    page = await leads.list_leads(leads.ListLeads(admin, first=2), uow)
    assert (len(page.items), page.has_next_page, page.has_previous_page) == (2, True, False)
    rest = await leads.list_leads(leads.ListLeads(admin, first=2, after=page.end_cursor), uow)
    assert ([r.id for r in rest.items], rest.has_next_page, rest.has_previous_page) == (
        [first.id], False, True)
    with pytest.raises(InvalidInput):
        await leads.list_leads(leads.ListLeads(admin, after="nonsense"), uow)
    found = await leads.leads_by_id(ById(rep, [first.id, second.id, third.id]), uow)
    assert set(found) == {first.id, third.id}


# --- the pool --------------------------------------------------------------------------------


async def test_claiming_the_next_leads_takes_the_best_within_the_cap_with_their_events() -> None:
    repo = FakeLeadsRepository(default_lead_cap=3)
    uow = fake_uow(repo)
    rep = person()
    await joined(uow, rep)
    low = await new_lead(uow, rep, priority=1, source="web")
    high = await new_lead(uow, rep, priority=9)
    mid = await new_lead(uow, rep, priority=5, source="web")
    await new_lead(uow, rep, priority=0)
    with pytest.raises(InvalidInput):
        await pool.claim_next_leads(pool.ClaimNextLeads(rep, 0), uow)
    with pytest.raises(NotFoundError):
        await pool.claim_next_leads(pool.ClaimNextLeads(person(), 1), uow)
    web = await pool.claim_next_leads(
        pool.ClaimNextLeads(rep, 5, PoolFilter(source="web")), uow)
    assert ([r.id for r in web.leads], web.lead_cap, web.active_leads) == (
        [mid.id, low.id], 3, 2)
    rest = await pool.claim_next_leads(pool.ClaimNextLeads(rep, 5), uow)
    assert ([r.id for r in rest.leads], rest.active_leads) == ([high.id], 3)
    assert all(r.status == "ASSIGNED" and r.owner_id == rep.member_id for r in rest.leads)
    async with uow:
        written = [e.parse(LeadAssigned) for e in uow.repo.outbox]
    assert [(e.lead_id, e.via, e.previous_status) for e in written] == [
        (mid.id, "claim", "NEW"), (low.id, "claim", "NEW"), (high.id, "claim", "NEW")]
    full = await pool.claim_next_leads(pool.ClaimNextLeads(rep, 1), uow)
    assert (full.leads, full.active_leads) == ([], 3)


async def test_claiming_one_lead_refuses_over_the_cap_and_a_lead_someone_holds() -> None:
    repo = FakeLeadsRepository(default_lead_cap=1)
    uow = fake_uow(repo)
    rep, other = person(), person()
    await joined(uow, rep, other)
    a, b = await new_lead(uow, rep), await new_lead(uow, rep)
    claimed = await pool.claim_lead(pool.ClaimLead(rep, a.id), uow)
    assert (claimed.status, claimed.assigned_at is not None) == ("ASSIGNED", True)
    assert uow.committed[-1].parse(LeadAssigned).owner_lead_cap == 1
    with pytest.raises(domain.CapExceeded):
        await pool.claim_lead(pool.ClaimLead(rep, b.id), uow)
    with pytest.raises(NotFoundError):  # held by someone else: not visible to another rep
        await pool.claim_lead(pool.ClaimLead(other, a.id), uow)
    assert (await lead_row(uow, b.id)).owner_id is None


async def test_a_lead_is_released_by_its_owner_or_a_manager() -> None:
    uow = fake_uow()
    rep, peer, manager = person(), person(), person("manager")
    await joined(uow, rep, peer, manager)
    lead = await new_lead(uow, rep)
    with pytest.raises(domain.InvalidLeadState):
        await pool.release_lead(pool.ReleaseLead(rep, lead.id), uow)
    await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    with pytest.raises(NotFoundError):
        await pool.release_lead(pool.ReleaseLead(peer, lead.id), uow)
    released = await pool.release_lead(pool.ReleaseLead(manager, lead.id), uow)
    assert (released.owner_id, released.status) == (None, "NEW")
    event = uow.committed[-1].parse(LeadReleased)
    assert (event.previous_owner_id, event.released_by, event.reason) == (
        rep.member_id, manager.member_id, "released")


async def test_assigning_is_all_or_nothing_within_the_members_cap_and_the_managers_team() -> None:
    repo = FakeLeadsRepository(default_lead_cap=2)
    uow = fake_uow(repo)
    rep, manager, other_manager, peer = (person(), person("manager"),
                                         person("manager", team="beta"), person())
    await joined(uow, rep, manager, other_manager, peer)
    x, y, z = [await new_lead(uow, rep) for _ in range(3)]
    with pytest.raises(ForbiddenError):
        await pool.assign_leads(pool.AssignLeads(peer, [x.id], rep.member_id), uow)
    with pytest.raises(ForbiddenError):
        await pool.assign_leads(pool.AssignLeads(other_manager, [x.id], rep.member_id), uow)
    with pytest.raises(InvalidInput):
        await pool.assign_leads(pool.AssignLeads(manager, [], rep.member_id), uow)
    with pytest.raises(NotFoundError):
        await pool.assign_leads(pool.AssignLeads(manager, [x.id, uuid.uuid4()],
                                                 rep.member_id), uow)
    with pytest.raises(domain.CapExceeded) as over:
        await pool.assign_leads(pool.AssignLeads(manager, [x.id, y.id, z.id], rep.member_id),
                                uow)
    assert over.value.fits == 2
    assert [(await lead_row(uow, i)).owner_id for i in (x.id, y.id, z.id)] == [None] * 3
    given = await pool.assign_leads(pool.AssignLeads(manager, [y.id, x.id, y.id],
                                                     rep.member_id), uow)
    assert [r.id for r in given] == [y.id, x.id]
    assert [e.parse(LeadAssigned).via for e in uow.committed[-2:]] == ["assignment"] * 2
    moved = await pool.assign_leads(pool.AssignLeads(manager, [x.id], peer.member_id), uow)
    assert moved[0].owner_id == peer.member_id
    assert uow.committed[-1].parse(LeadAssigned).via == "reassignment"


async def test_idle_leads_go_back_to_the_pool_in_orgs_that_turned_it_on() -> None:
    uow = fake_uow()
    admin, rep = person("admin", team=None), person()
    elsewhere = person(org=uuid.uuid4())
    await joined(uow, admin, rep, elsewhere)
    idle, fresh, other = (await new_lead(uow, rep), await new_lead(uow, rep),
                          await new_lead(uow, elsewhere))
    for who, lead in ((rep, idle), (rep, fresh), (elsewhere, other)):
        await pool.claim_lead(pool.ClaimLead(who, lead.id), uow)
    async with uow:
        for lead_id in (idle.id, other.id):
            row = uow.repo.lead_rows[lead_id]
            old = row.status_changed_at - timedelta(days=10)
            uow.repo.lead_rows[lead_id] = LeadRecord(**{
                **{f: getattr(row, f) for f in row.__dataclass_fields__},
                "status_changed_at": old, "assigned_at": old})
        await uow.commit()
    assert await pool.return_idle_leads(pool.ReturnIdleLeads(), uow) == 0
    await roster.update_lead_settings(roster.UpdateLeadSettings(admin, "PL", None, 7), uow)
    assert await pool.return_idle_leads(pool.ReturnIdleLeads(), uow) == 1
    event = uow.committed[-1].parse(LeadReleased)
    assert (event.lead_id, event.reason, event.released_by) == (idle.id, "idle_return", None)
    assert (await lead_row(uow, fresh.id)).owner_id == rep.member_id
    assert (await lead_row(uow, other.id)).owner_id == elsewhere.member_id
    assert await pool.return_idle_leads(pool.ReturnIdleLeads(), uow) == 0


# --- clients -------------------------------------------------------------------------------


async def test_accounts_are_created_with_a_free_nip_and_changed_by_owner_or_manager() -> None:
    uow = fake_uow()
    rep, peer, manager = person(), person(), person("manager")
    await joined(uow, rep, peer, manager)
    account = await clients.create_account(clients.CreateAccount(
        rep, clients.AccountInput(name=" Acme ", website="https://www.acme.pl/x",
                                  nip="526-000-12-46")), uow)
    assert (account.name, account.domain, account.nip, account.owner_id) == (
        "Acme", "acme.pl", "5260001246", rep.member_id)
    assert uow.committed[-1].parse(AccountCreated).account_id == account.id
    with pytest.raises(InvalidInput):
        await clients.create_account(clients.CreateAccount(
            peer, clients.AccountInput(name="Twin", nip="5260001246")), uow)
    with pytest.raises(InvalidInput):
        await clients.create_account(clients.CreateAccount(peer, clients.AccountInput()), uow)
    change = clients.AccountInput(name="Acme SA", domain="acme.pl", nip="5260001246")
    with pytest.raises(ForbiddenError):
        await clients.update_account(clients.UpdateAccount(peer, account.id, change), uow)
    with pytest.raises(VersionConflictError):
        await clients.update_account(clients.UpdateAccount(rep, account.id, change, 7), uow)
    with pytest.raises(NotFoundError):
        await clients.update_account(clients.UpdateAccount(rep, uuid.uuid4(), change), uow)
    changed = await clients.update_account(clients.UpdateAccount(manager, account.id, change),
                                           uow)
    assert (changed.name, changed.version) == ("Acme SA", 2)
    assert uow.committed[-1].parse(AccountUpdated).changed == ["name"]


async def test_contacts_and_accounts_are_read_in_pages_and_by_id() -> None:
    uow = fake_uow()
    rep = person()
    await joined(uow, rep)
    made = [await clients.create_account(clients.CreateAccount(
        rep, clients.AccountInput(name=f"Client {i}")), uow) for i in range(3)]
    with pytest.raises(NotFoundError):
        await clients.create_contact(clients.CreateContact(
            rep, uuid.uuid4(), clients.ContactInput("Anna")), uow)
    with pytest.raises(InvalidInput):
        await clients.create_contact(clients.CreateContact(
            rep, made[0].id, clients.ContactInput(" ", email="not an email")), uow)
    contact = await clients.create_contact(clients.CreateContact(
        rep, made[0].id, clients.ContactInput("Anna", phone="601234567", position="CEO")), uow)
    assert (contact.phone, uow.committed[-1].type) == ("+48601234567", ContactCreated.TYPE)
    page = await clients.list_accounts(clients.ListAccounts(rep, first=2), uow)
    assert [a.id for a in page.items] == [made[2].id, made[1].id] and page.has_next_page
    found = await clients.list_accounts(clients.ListAccounts(rep, search=" client 1 "), uow)
    assert [a.id for a in found.items] == [made[1].id]
    with pytest.raises(InvalidInput) as too_long:
        await clients.list_accounts(clients.ListAccounts(rep, search="x" * 101), uow)
    assert [p.path for p in too_long.value.problems] == [("search",)]
    assert set(await clients.accounts_by_id(ById(rep, [made[0].id, uuid.uuid4()]),
                                            uow)) == {made[0].id}
    assert await clients.contacts_by_id(ById(rep, [contact.id]), uow) == {
        contact.id: contact}
    assert await clients.contacts_of_accounts(ById(rep, [made[0].id, made[1].id]),
                                              uow) == {made[0].id: [contact], made[1].id: []}
    stranger = person(org=uuid.uuid4())
    assert await clients.accounts_by_id(ById(stranger, [made[0].id]), uow) == {}


# --- conversion ------------------------------------------------------------------------------


def deal(amount: str = "1200.50", currency: str = "pln", name: str = "  Big   deal ") -> (
        conversion.OpportunityInput):
    return conversion.OpportunityInput(name, amount, currency)


async def test_a_conversion_makes_an_account_a_contact_and_announces_the_deal() -> None:
    uow = fake_uow()
    rep = person()
    await joined(uow, rep)
    lead = await new_lead(uow, rep, company="Acme", contact_name="Anna", email="anna@acme.pl")
    await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    before = len(uow.committed)
    done = await conversion.convert_lead(conversion.ConvertLead(rep, lead.id, deal()), uow)
    assert (done.lead.status, done.account.name, done.account.domain, done.account_created) == (
        "CONVERTED", "Acme", "acme.pl", True)
    assert done.contact is not None and done.contact.email == "anna@acme.pl"
    assert types(uow)[before:] == [AccountCreated.TYPE, ContactCreated.TYPE,
                                   LeadConverted.TYPE]
    converted = uow.committed[-1].parse(LeadConverted)
    assert (converted.name, converted.amount, converted.currency, converted.opportunity_id) == (
        "Big deal", Decimal("1200.50"), "PLN", done.opportunity_id)
    with pytest.raises(domain.InvalidLeadState):
        await conversion.convert_lead(conversion.ConvertLead(rep, lead.id, deal()), uow)
    second = await new_lead(uow, rep, company="Acme Polska", website="acme.pl")
    await pool.claim_lead(pool.ClaimLead(rep, second.id), uow)
    linked = await conversion.convert_lead(conversion.ConvertLead(rep, second.id, deal()), uow)
    assert (linked.account.id, linked.account_created, linked.contact) == (
        done.account.id, False, None)


@pytest.mark.parametrize(("amount", "currency", "name", "field"), [
    ("10.005", "PLN", "Deal", "opportunity.amount"),
    ("10", "ABC", "Deal", "opportunity.currency"),
    ("10", "PLN", "De\x00al", "opportunity.name"),
    ("-1", "PLN", "Deal", "opportunity.amount"),
    ("10.5", "JPY", "Deal", "opportunity.amount"),
])
async def test_a_conversion_refuses_what_the_pipeline_would_refuse_and_changes_nothing(
    amount: str, currency: str, name: str, field: str,
) -> None:
    uow = fake_uow()
    rep = person()
    await joined(uow, rep)
    lead = await new_lead(uow, rep)
    await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    commits = uow.commits
    with pytest.raises(InvalidInput) as refused:
        await conversion.convert_lead(conversion.ConvertLead(
            rep, lead.id, deal(amount, currency, name)), uow)
    assert field in {".".join(p.path) for p in refused.value.problems}
    assert uow.commits == commits
    assert (await lead_row(uow, lead.id)).status == "ASSIGNED"


async def test_a_conversion_is_for_the_owner_or_a_manager_and_an_account_of_the_org() -> None:
    uow = fake_uow()
    rep, peer, manager = person(), person(), person("manager")
    await joined(uow, rep, peer, manager)
    lead = await new_lead(uow, rep)
    await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    with pytest.raises(NotFoundError):
        await conversion.convert_lead(conversion.ConvertLead(peer, lead.id, deal()), uow)
    with pytest.raises(NotFoundError):
        await conversion.convert_lead(conversion.ConvertLead(
            manager, lead.id, deal(), account_id=uuid.uuid4()), uow)
    done = await conversion.convert_lead(conversion.ConvertLead(
        manager, lead.id, deal(), account=clients.AccountInput(name="Renamed")), uow)
    assert (done.account.name, done.lead.owner_id) == ("Renamed", rep.member_id)


# --- import -----------------------------------------------------------------------------------

CSV = "company,email\nAcme,a@acme.pl\nBeta,b@beta.pl\nAcme again,a@acme.pl\nGamma,not an email\n"


async def test_an_import_reports_new_duplicate_and_invalid_rows_and_a_dry_run_writes_nothing(
) -> None:
    uow = fake_uow()
    manager, rep = person("manager"), person()
    await joined(uow, manager, rep)
    with pytest.raises(ForbiddenError):
        await imports.import_leads_file(imports.ImportLeadsFile(rep, CSV), uow)
    dry = await imports.import_leads_file(imports.ImportLeadsFile(manager, CSV, dry_run=True),
                                          uow)
    assert (dry.created_count, [d.line for d in dry.duplicates]) == (2, [4])
    async with uow:
        assert uow.repo.lead_rows == {}
    done = await imports.import_leads_file(imports.ImportLeadsFile(manager, CSV), uow)
    assert (done.total_rows, done.created_count, [i.line for i in done.invalid]) == (4, 2, [5])
    [repeat] = done.duplicates
    assert (repeat.line, repeat.matched_on, repeat.existing_lead_id,
            repeat.duplicate_of_line) == (4, ["email"], None, 2)
    again = await imports.import_leads_file(imports.ImportLeadsFile(manager, CSV), uow)
    assert again.created_count == 0
    assert {d.existing_lead_id for d in again.duplicates} == {c.lead_id for c in done.created}


async def test_a_large_import_refreshes_the_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "ANALYZE_AFTER", 2)
    repo = FakeLeadsRepository()
    uow = fake_uow(repo)
    manager = person("manager")
    stages: list[str] = []
    report = await imports.import_leads(
        imports.ImportLeads(ORG, manager.member_id, CSV), uow,
        progress=lambda stage, done, total: stages.append(stage))
    assert (report.created_count, repo.analyzed) == (2, 1)
    assert stages[-2:] == ["dedupe", "insert"]


async def test_the_clock_of_the_use_cases_stamps_what_they_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uow = fake_uow()
    rep = person()
    await joined(uow, rep)
    lead = await new_lead(uow, rep)
    at = lead.created_at + timedelta(hours=5)
    monkeypatch.setattr(common, "now", lambda: at)
    monkeypatch.setattr(pool, "now", lambda: at)
    claimed = await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    assert (claimed.assigned_at, claimed.status_changed_at) == (at, at)


# --- one rule where two disagreed (issue 13, item 10) ------------------------------------------


async def test_a_contact_is_added_by_whoever_may_change_the_account() -> None:
    uow = fake_uow()
    owner, peer, other_manager, manager = (person(), person(), person("manager", team="beta"),
                                           person("manager"))
    await joined(uow, owner, peer, other_manager, manager)
    account = await clients.create_account(clients.CreateAccount(
        owner, clients.AccountInput(name="Kappa")), uow)
    for who in (peer, other_manager):
        with pytest.raises(ForbiddenError):
            await clients.create_contact(clients.CreateContact(
                who, account.id, clients.ContactInput("Anna")), uow)
        with pytest.raises(ForbiddenError):
            await clients.update_account(clients.UpdateAccount(
                who, account.id, clients.AccountInput(name="Kappa 2")), uow)
    for who in (owner, manager):
        await clients.create_contact(clients.CreateContact(
            who, account.id, clients.ContactInput("Anna")), uow)


async def test_a_contact_is_changed_and_removed_by_whoever_may_change_the_account() -> None:
    uow = fake_uow()
    owner, peer, manager, stranger = (person(), person(), person("manager"),
                                      person("admin", org=uuid.uuid4()))
    await joined(uow, owner, peer, manager)
    account = await clients.create_account(clients.CreateAccount(
        owner, clients.AccountInput(name="Kappa")), uow)
    anna = await clients.create_contact(clients.CreateContact(
        owner, account.id, clients.ContactInput("Anna", email="anna@kappa.pl")), uow)
    new = clients.ContactInput(" Anna Nowak ", phone="601 234 567", position="CFO")
    with pytest.raises(ForbiddenError):
        await clients.update_contact(clients.UpdateContact(peer, anna.id, new), uow)
    with pytest.raises(NotFoundError):
        await clients.update_contact(clients.UpdateContact(stranger, anna.id, new), uow)
    with pytest.raises(VersionConflictError):
        await clients.update_contact(clients.UpdateContact(manager, anna.id, new, 7), uow)
    with pytest.raises(InvalidInput) as refused:
        await clients.update_contact(clients.UpdateContact(
            owner, anna.id, clients.ContactInput(" ", email="not an email")), uow)
    assert {".".join(p.path) for p in refused.value.problems} == {"input.name", "input.email"}
    assert types(uow)[-1] == ContactCreated.TYPE  # nothing of the refusals was written

    changed = await clients.update_contact(clients.UpdateContact(manager, anna.id, new, 1), uow)
    assert (changed.name, changed.email, changed.phone, changed.position, changed.version) == (
        "Anna Nowak", None, "+48601234567", "CFO", 2)
    event = uow.committed[-1]
    assert (event.type, event.aggregate_id, event.aggregate_version) == (
        ContactUpdated.TYPE, anna.id, 2)
    assert sorted(event.payload["changed"]) == ["email", "name", "phone", "position"]
    # The same fields again change nothing and announce nothing.
    announced = len(uow.committed)
    assert await clients.update_contact(clients.UpdateContact(owner, anna.id, new), uow) == changed
    assert len(uow.committed) == announced

    with pytest.raises(ForbiddenError):
        await clients.remove_contact(clients.RemoveContact(peer, anna.id), uow)
    with pytest.raises(VersionConflictError):
        await clients.remove_contact(clients.RemoveContact(owner, anna.id, 1), uow)
    await clients.remove_contact(clients.RemoveContact(owner, anna.id, 2), uow)
    event = uow.committed[-1]
    assert (event.type, event.aggregate_version, set(event.payload)) == (
        ContactRemoved.TYPE, 3, {"contact_id", "account_id"})
    assert await clients.contacts_by_id(ById(owner, [anna.id]), uow) == {}
    with pytest.raises(NotFoundError):
        await clients.remove_contact(clients.RemoveContact(owner, anna.id), uow)


async def test_the_orgs_contact_people_are_listed_and_found_by_name_or_email() -> None:
    uow = fake_uow()
    rep, peer, stranger = person(), person(), person(org=uuid.uuid4())
    await joined(uow, rep, peer, stranger)
    account = await clients.create_account(clients.CreateAccount(
        rep, clients.AccountInput(name="Młyny")), uow)
    jan, anna = [await clients.create_contact(clients.CreateContact(
        rep, account.id, clients.ContactInput(name, email=email)), uow)
        for name, email in (("Jan Wiśniewski", "jan@mlyny.pl"), ("Anna Nowak", None))]
    elsewhere = await clients.create_account(clients.CreateAccount(
        stranger, clients.AccountInput(name="Młyny")), uow)
    await clients.create_contact(clients.CreateContact(
        stranger, elsewhere.id, clients.ContactInput("Jan Wiśniewski")), uow)

    async def listed(who: Caller, search: str | None = None, **page: object) -> list[uuid.UUID]:
        found = await clients.list_contacts(clients.ListContacts(
            who, search=search, **page), uow)  # type: ignore[arg-type]
        return [c.id for c in found.items]

    assert set(await listed(peer)) == {jan.id, anna.id}  # the whole org's, not only one's own
    assert await listed(peer, "wisniewski") == [jan.id]
    assert await listed(peer, "JAN@MLYNY") == [jan.id]
    assert len(await listed(stranger)) == 1
    first = await clients.list_contacts(clients.ListContacts(peer, first=1), uow)
    rest = await clients.list_contacts(clients.ListContacts(
        peer, first=1, after=first.end_cursor), uow)
    assert {c.id for c in first.items + rest.items} == {jan.id, anna.id}
    with pytest.raises(InvalidInput):
        await clients.list_contacts(clients.ListContacts(peer, search="x" * 1000), uow)


async def test_an_admin_erases_a_lead_and_the_event_carries_nothing_of_it() -> None:
    uow = fake_uow()
    rep, manager, admin, stranger = (person(), person("manager"), person("admin", team=None),
                                     person("admin", org=uuid.uuid4()))
    await joined(uow, rep, manager, admin)
    lead = await new_lead(uow, rep, contact_name="Jan Kowalski", email="jan@example.pl",
                          phone="601 234 567", notes="Met at the fair")
    await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    held = await lead_row(uow, lead.id)
    for who in (rep, manager):  # not even its owner or their manager
        with pytest.raises(ForbiddenError, match="only an admin may erase a lead"):
            await leads.erase_lead(leads.EraseLead(who, lead.id), uow)
    with pytest.raises(NotFoundError):
        await leads.erase_lead(leads.EraseLead(stranger, lead.id), uow)
    with pytest.raises(VersionConflictError):
        await leads.erase_lead(leads.EraseLead(admin, lead.id, held.version - 1), uow)
    assert types(uow)[-1] == LeadAssigned.TYPE  # nothing of the refusals was written

    erased = await leads.erase_lead(leads.EraseLead(admin, lead.id, held.version), uow)
    assert erased.id == lead.id
    event = uow.committed[-1]
    assert (event.type, event.aggregate_id, event.aggregate_version) == (
        LeadErased.TYPE, lead.id, held.version + 1)
    assert event.payload == {"lead_id": str(lead.id), "previous_owner_id": str(rep.member_id),
                             "previous_status": "ASSIGNED",
                             "erased_by": str(admin.member_id)}
    async with uow:
        assert lead.id not in uow.repo.lead_rows
    assert await leads.leads_by_id(ById(admin, [lead.id]), uow) == {}
    with pytest.raises(NotFoundError):
        await leads.erase_lead(leads.EraseLead(admin, lead.id), uow)
    # The same person may be entered again: nothing of the erased lead matches it.
    again = await new_lead(uow, rep, contact_name="Jan Kowalski", email="jan@example.pl")
    assert again.id != lead.id


async def test_a_rep_claims_a_pool_lead_before_converting_it() -> None:
    uow = fake_uow()
    rep, manager = person(), person("manager")
    await joined(uow, rep, manager)
    lead = await new_lead(uow, rep)
    with pytest.raises(ForbiddenError, match="claim a pool lead before converting it"):
        await conversion.convert_lead(conversion.ConvertLead(rep, lead.id, deal()), uow)
    assert (await lead_row(uow, lead.id)).status == "NEW"
    done = await conversion.convert_lead(conversion.ConvertLead(manager, lead.id, deal()), uow)
    assert done.lead.owner_id == manager.member_id


async def test_a_duplicate_is_named_only_to_whoever_may_see_it() -> None:
    uow = fake_uow()
    rep_a, rep_b, admin = person(), person(team="beta"), person("admin", team=None)
    await joined(uow, rep_a, rep_b, admin)
    hidden = await new_lead(uow, rep_b, email="hidden@example.com")
    await pool.claim_lead(pool.ClaimLead(rep_b, hidden.id), uow)
    with pytest.raises(domain.DuplicateLead) as unseen:
        await new_lead(uow, rep_a, email="hidden@example.com")
    assert (unseen.value.existing_lead_id, str(hidden.id) in unseen.value.message) == (
        None, False)
    with pytest.raises(domain.DuplicateLead) as seen:
        await new_lead(uow, admin, email="hidden@example.com")
    assert seen.value.existing_lead_id == hidden.id
    report = await imports.import_leads_file(imports.ImportLeadsFile(
        person("manager"), "company,email\nNew,hidden@example.com\n"), uow)
    assert [(d.line, d.existing_lead_id) for d in report.duplicates] == [(2, None)]


# --- text with control characters (issue 13, item 4) -------------------------------------------


async def test_text_with_a_nul_or_another_control_character_is_refused_by_field() -> None:
    uow = fake_uow()
    rep = person()
    await joined(uow, rep)
    with pytest.raises(InvalidInput) as refused:
        await leads.create_lead(leads.CreateLead(rep, leads.LeadInput(
            company="Acme\x00", contact_name="An\x07na", notes="a\x00b", source="we\x1bb",
            tags=["ok", "b\x00d"])), uow)
    assert {".".join(p.path) for p in refused.value.problems} == {
        "input.company", "input.contactName", "input.notes", "input.source", "input.tags"}
    with pytest.raises(InvalidInput):
        await clients.create_account(clients.CreateAccount(
            rep, clients.AccountInput(name="Acme", address="Street\x00 1")), uow)
    account = await clients.create_account(clients.CreateAccount(
        rep, clients.AccountInput(name="Acme")), uow)
    with pytest.raises(InvalidInput):
        await clients.create_contact(clients.CreateContact(
            rep, account.id, clients.ContactInput("Anna", position="C\x00EO")), uow)
    report = await imports.import_leads_file(imports.ImportLeadsFile(
        person("manager"), "company,notes\nGood,fine\nBad\x00,x\nAlso bad,no\x00te\n"), uow)
    assert (report.created_count, [i.line for i in report.invalid]) == (1, [3, 4])

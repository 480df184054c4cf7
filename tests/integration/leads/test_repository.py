"""The repository contract (:class:`services.leads.ports.LeadsRepository`), one suite run
against the in-memory repository the handler unit tests use and against PostgreSQL: the fake
behaves as the real one, so what the unit tests show holds for the service. The claim's fast
path (one statement) is held to the general path: claiming the pool's next leads one by one
with ``update_lead`` and ``uow.emit``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from crmkit.auth import Caller, Role
from crmkit.contracts import Envelope
from crmkit.contracts.leads import LeadAssigned
from crmkit.paging import PageRequest
from crmkit.testing.client import ServiceClient
from crmkit.uow import UnitOfWork
from services.leads import domain, events
from services.leads.domain import DedupeKeys
from services.leads.ports import Claimer, ImportCsv, LeadFilter, LeadsRepository, PoolFilter
from services.leads.records import LeadRecord
from tests.unit.leads.fakes import FakeLeadsRepository, fake_uow

pytestmark = pytest.mark.integration

Uows = Callable[[], UnitOfWork[LeadsRepository]]
T = TypeVar("T")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "postgresql"])
async def backend(
    request: pytest.FixtureRequest, leads_service: ServiceClient[Any]
) -> AsyncIterator[tuple[Uows, Callable[[uuid.UUID], Awaitable[list[Envelope]]]]]:
    """Units of work of one backend, and the events its repository wrote itself."""
    if request.param == "memory":
        shared = fake_uow()

        async def written(org: uuid.UUID) -> list[Envelope]:
            async with shared:
                repo: FakeLeadsRepository = shared.repo
                return [e for e in repo.outbox if e.org_id == org]

        yield lambda: shared, written
    else:
        async def from_outbox(org: uuid.UUID) -> list[Envelope]:
            return await leads_service.events(org_id=org, type=LeadAssigned.TYPE)

        yield leads_service.runtime.uow, from_outbox


async def run(uows: Uows, use: Callable[[LeadsRepository], Awaitable[T]]) -> T:
    async with uows() as uow:
        result = await use(uow.repo)
        await uow.commit()
    return result


def lead_values(org: uuid.UUID, n: int, **values: Any) -> dict[str, Any]:
    at = T0 + timedelta(minutes=n)
    return {"id": uuid.uuid4(), "org_id": org, "company": f"Lead {n}", "company_key": f"lead {n}",
            "created_at": at, "updated_at": at, "status_changed_at": at} | values


async def member(uows: Uows, org: uuid.UUID, team: str | None = "alpha",
                 name: str = "Rep") -> uuid.UUID:
    member_id = uuid.uuid4()
    await run(uows, lambda r: r.insert_member(org, member_id, name, team, ["rep"]))
    return member_id


async def test_members_are_kept_listed_and_counted(backend: Any) -> None:
    uows, _ = backend
    org = uuid.uuid4()
    bea = await member(uows, org, name="Bea")
    adam = await member(uows, org, team="beta", name="Adam")
    assert await run(uows, lambda r: r.insert_member(org, bea, "Again", None, [])) is None
    changed = await run(uows, lambda r: r.update_member(org, bea, lead_cap=4, team="beta"))
    assert (changed.lead_cap, changed.team, changed.version) == (4, "beta", 2)
    listed = await run(uows, lambda r: r.list_members(org))
    assert [m.name for m in listed] == ["Adam", "Bea"]
    assert [m.id for m in await run(uows, lambda r: r.list_members(org, ids=[bea]))] == [bea]
    by_id = await run(uows, lambda r: r.members_by_id(org, [bea, adam, uuid.uuid4()]))
    assert sorted(by_id, key=lambda m: m.name) == listed
    assert await run(uows, lambda r: r.members_by_id(uuid.uuid4(), [bea])) == []
    await run(uows, lambda r: r.insert_lead(lead_values(org, 1, owner_id=adam, status="ASSIGNED")))
    await run(uows, lambda r: r.insert_lead(lead_values(org, 2, owner_id=adam,
                                                        status="CONVERTED")))
    assert await run(uows, lambda r: r.active_lead_counts(org, [adam, bea])) == {adam: 1}
    await run(uows, lambda r: r.retag_owner_team(org, adam, "gamma"))
    [lead] = await run(uows, lambda r: r.list_leads(
        Caller(adam, org, frozenset({Role.ADMIN})), LeadFilter(status=domain.LeadStatus.ASSIGNED),
        PageRequest(10)))
    assert lead.owner_team == "gamma"
    settings = await run(uows, lambda r: r.org_settings(org))
    assert (settings.default_region, settings.default_lead_cap_override) == ("PL", None)
    saved = await run(uows, lambda r: r.save_org_settings(
        org, default_region="DE", default_lead_cap=7, idle_return_days=3))
    assert (saved.default_lead_cap, saved.idle_return_days) == (7, 3)
    assert (org, 3) in await run(uows, lambda r: r.orgs_with_idle_return())
    claimer = await run(uows, lambda r: r.lock_claimer(org, bea))
    assert claimer == Claimer(bea, "beta", 4)
    assert await run(uows, lambda r: r.lock_claimer(org, uuid.uuid4())) is None


async def test_leads_are_found_as_duplicates_paged_and_pooled_in_claim_order(backend: Any) -> None:
    uows, _ = backend
    org = uuid.uuid4()
    rep = await member(uows, org)
    made = [await run(uows, lambda r, n=n: r.insert_lead(lead_values(
        org, n, priority=n % 3, source="web" if n % 2 else "fair", tags=["x"] if n < 3 else [],
        email=f"l{n}@example.com", contact_name="Łucja Żak" if n == 3 else None)))
        for n in range(6)]
    assert made[0].status == "NEW" and made[0].version == 1
    other_org = uuid.uuid4()
    assert await run(uows, lambda r: r.get_lead(other_org, made[0].id)) is None
    found = await run(uows, lambda r: r.find_duplicate(
        org, DedupeKeys("l1@example.com", None, None, None)))
    assert found is not None and (found[0].id, found[1]) == (made[1].id, ["email"])
    assert await run(uows, lambda r: r.find_duplicate(org, DedupeKeys(None, None, None, None))) \
        is None
    admin = Caller(rep, org, frozenset({Role.ADMIN}))
    first = await run(uows, lambda r: r.list_leads(admin, LeadFilter(), PageRequest(2)))
    assert [x.id for x in first] == [made[5].id, made[4].id, made[3].id]
    after = (first[1].created_at, first[1].id)
    rest = await run(uows, lambda r: r.list_leads(admin, LeadFilter(), PageRequest(9, after)))
    assert [x.id for x in rest] == [m.id for m in reversed(made[:4])]
    searched = await run(uows, lambda r: r.list_leads(admin, LeadFilter(search="L4@EX"),
                                                      PageRequest(9)))
    assert [x.id for x in searched] == [made[4].id]
    # Any case, with or without Polish letters, whatever the database's locale.
    for typed in ("zak", "ŁUCJA ŻAK", " lucja "):
        searched = await run(uows, lambda r, t=typed: r.list_leads(admin, LeadFilter(search=t),
                                                                   PageRequest(9)))
        assert [x.id for x in searched] == [made[3].id]
    pooled = await run(uows, lambda r: r.pool_leads(org, PoolFilter(), limit=4))
    assert [x.id for x in pooled] == [made[n].id for n in (2, 5, 1, 4)]
    web = await run(uows, lambda r: r.pool_leads(
        org, PoolFilter(source="web", tag="x", min_priority=1), limit=9))
    assert [x.id for x in web] == [made[1].id]
    got = await run(uows, lambda r: r.get_leads(org, [made[3].id, made[0].id, uuid.uuid4()],
                                                lock=True))
    assert sorted(x.id for x in got) == sorted([made[3].id, made[0].id])
    updated = await run(uows, lambda r: r.update_lead(org, made[0].id, {
        "owner_id": rep, "owner_team": "alpha", "status": "ASSIGNED", "assigned_at": T0}))
    assert (updated.version, updated.owner_id) == (2, rep)
    as_rep = Caller(uuid.uuid4(), org, frozenset({Role.REP}), team="alpha")
    assert made[0].id not in [x.id for x in await run(uows, lambda r: r.list_leads(
        as_rep, LeadFilter(), PageRequest(50)))]
    idle = await run(uows, lambda r: r.idle_leads(org, T0 + timedelta(seconds=1), limit=9))
    assert [x.id for x in idle] == [made[0].id]
    assert await run(uows, lambda r: r.idle_leads(org, T0, limit=9)) == []


async def test_the_claims_fast_path_does_what_claiming_one_by_one_does(backend: Any) -> None:
    """Two orgs with the same pool: one claims through the fast path, the other through the
    general path; the leads, their rows and their events are the same."""
    uows, written = backend
    fast_org, slow_org = uuid.uuid4(), uuid.uuid4()
    now = T0 + timedelta(days=1)
    pools = {}
    for org in (fast_org, slow_org):
        pools[org] = [await run(uows, lambda r, n=n, org=org: r.insert_lead(lead_values(
            org, n, priority=3 if n == 3 else (n * 7) % 4,
            status="CONTACTED" if n == 3 else "NEW",
            source="web" if n != 4 else "fair"))) for n in range(8)]
    claimers = {}
    for org in (fast_org, slow_org):
        member_id = await member(uows, org)
        await run(uows, lambda r, org=org, member_id=member_id: r.update_member(
            org, member_id, lead_cap=5))
        await run(uows, lambda r, org=org, member_id=member_id: r.insert_lead(lead_values(
            org, 99, owner_id=member_id, owner_team="alpha", status="ASSIGNED")))
        claimers[org] = Claimer(member_id, "alpha", 5)
    pool_filter = PoolFilter(source="web")

    fast = await run(uows, lambda r: r.claim_next(fast_org, claimers[fast_org], 9, pool_filter,
                                                  now))

    async def one_by_one() -> list[LeadRecord]:
        claimer = claimers[slow_org]
        async with uows() as uow:
            counts = await uow.repo.active_lead_counts(slow_org, [claimer.member_id])
            room = domain.claimable(claimer.lead_cap, counts.get(claimer.member_id, 0), 9)
            claimed = []
            for lead in await uow.repo.pool_leads(slow_org, pool_filter, limit=room):
                status = domain.status_after_claim(lead.lead_status, None)
                values = {"owner_id": claimer.member_id, "owner_team": claimer.team,
                          "status": status.value, "assigned_at": now}
                if status.value != lead.status:
                    values["status_changed_at"] = now
                updated = await uow.repo.update_lead(slow_org, lead.id, values)
                uow.emit(events.wrap(
                    events.lead_assigned(updated, lead.status, None, None, claimer.lead_cap,
                                         claimer.member_id, "claim"),
                    org_id=slow_org, aggregate_id=updated.id, version=updated.version,
                    actor_id=claimer.member_id))
                claimed.append(updated)
            await uow.commit()
        return claimed

    slow = await one_by_one()
    assert fast.active_before == 1
    assert [x.company for x in fast.leads] == [x.company for x in slow] and len(slow) == 4

    def comparable(lead: LeadRecord) -> LeadRecord:
        return replace(lead, id=uuid.UUID(int=0), org_id=uuid.UUID(int=0), owner_id=None,
                       updated_at=T0)

    assert [comparable(x) for x in fast.leads] == [comparable(x) for x in slow]
    assert {x.status for x in slow} == {"ASSIGNED", "CONTACTED"}

    def payload(envelope: Envelope) -> tuple[Any, ...]:
        event = envelope.parse(LeadAssigned)
        return (envelope.aggregate_version, event.via, event.status, event.previous_status,
                event.team, event.owner_lead_cap, event.assigned_at, event.previous_owner_id)

    fast_events = await written(fast_org)
    slow_events = await _emitted(uows, written, slow_org)
    assert len(fast_events) == 4
    assert [payload(e) for e in fast_events] == [payload(e) for e in slow_events]
    assert [e.aggregate_id for e in fast_events] == [x.id for x in fast.leads]
    assert {e.actor_id for e in fast_events} == {claimers[fast_org].member_id}
    again = await run(uows, lambda r: r.claim_next(fast_org, claimers[fast_org], 9, pool_filter,
                                                   now))
    assert (again.active_before, again.leads) == (5, [])


async def _emitted(uows: Uows, written: Any, org: uuid.UUID) -> list[Envelope]:
    """The general path's events: in the fake's committed events, or PostgreSQL's outbox."""
    async with uows() as uow:
        committed = getattr(uow, "committed", None)
    if committed is not None:
        return [e for e in committed if e.org_id == org and e.type == LeadAssigned.TYPE]
    found: list[Envelope] = await written(org)
    return found


async def test_accounts_match_by_nip_then_domain_and_contacts_list_oldest_first(
    backend: Any,
) -> None:
    uows, _ = backend
    org = uuid.uuid4()

    def account(n: int, **values: Any) -> dict[str, Any]:
        at = T0 + timedelta(minutes=n)
        return {"id": uuid.uuid4(), "org_id": org, "name": f"Client {n}", "created_at": at,
                "updated_at": at} | values

    a = await run(uows, lambda r: r.insert_account(account(1, domain="acme.pl")))
    b = await run(uows, lambda r: r.insert_account(account(2, nip="5260001246",
                                                           domain="acme.pl")))
    assert (await run(uows, lambda r: r.find_account(org, nip="5260001246",
                                                     domain="acme.pl"))).id == b.id
    assert (await run(uows, lambda r: r.find_account(org, nip=None, domain="acme.pl"))).id \
        == a.id
    assert await run(uows, lambda r: r.find_account(org, nip=None, domain=None)) is None
    assert await run(uows, lambda r: r.nip_taken(org, "5260001246"))
    assert not await run(uows, lambda r: r.nip_taken(org, "5260001246", exclude=b.id))
    changed = await run(uows, lambda r: r.update_account(org, a.id, {"name": "Renamed"}))
    assert (changed.name, changed.version) == ("Renamed", 2)
    page = await run(uows, lambda r: r.list_accounts(org, PageRequest(1)))
    assert [x.id for x in page] == [b.id, a.id]
    after = await run(uows, lambda r: r.list_accounts(org, PageRequest(5, (b.created_at, b.id))))
    assert [x.id for x in after] == [a.id]
    assert [x.id for x in await run(uows, lambda r: r.accounts_by_id(org, [a.id]))] == [a.id]
    assert await run(uows, lambda r: r.accounts_by_id(uuid.uuid4(), [a.id, b.id])) == []
    contacts = [await run(uows, lambda r, n=n: r.insert_contact({
        "id": uuid.uuid4(), "org_id": org, "account_id": a.id, "name": f"Person {n}",
        "created_at": T0 + timedelta(minutes=n), "updated_at": T0})) for n in range(3)]
    listed = await run(uows, lambda r: r.list_contacts(org, account_id=a.id, limit=2))
    assert [c.id for c in listed] == [c.id for c in contacts[:2]]
    assert await run(uows, lambda r: r.list_contacts(org, account_id=b.id)) == []
    assert await run(uows, lambda r: r.get_account(uuid.uuid4(), a.id)) is None


async def test_accounts_are_found_by_name_domain_or_nip_digits(backend: Any) -> None:
    uows, _ = backend
    org = uuid.uuid4()
    made = {}
    for n, (name, domain_, nip) in enumerate([
        ("Żabka Polska", "zabka.pl", "5260250274"), ("Acme_Logistics", "acme.pl", None),
        ("AcmeXLogistics", None, "5213179220"), ("Helix Pharma", "helix.example", None),
    ]):
        at = T0 + timedelta(minutes=n)
        made[name] = await run(uows, lambda r, v={
            "id": uuid.uuid4(), "org_id": org, "name": name, "domain": domain_, "nip": nip,
            "created_at": at, "updated_at": at}: r.insert_account(v))
    await run(uows, lambda r: r.insert_account({
        "id": uuid.uuid4(), "org_id": uuid.uuid4(), "name": "Żabka elsewhere",
        "created_at": T0, "updated_at": T0}))

    async def found(search: str) -> list[str]:
        page = await run(uows, lambda r: r.list_accounts(org, PageRequest(10), search))
        return [a.name for a in page]

    assert await found("żABKA") == ["Żabka Polska"]
    assert await found("zabka") == ["Żabka Polska"]  # typed without the Polish letter
    assert await found("helix.EX") == ["Helix Pharma"]
    assert await found("526-025") == ["Żabka Polska"]  # NIP digits, written with dashes
    assert await found("PL 5213179220") == ["AcmeXLogistics"]
    assert await found("acme_") == ["Acme_Logistics"]  # "_" is a character, not any one
    assert await found("nothing like it") == []
    await run(uows, lambda r: r.update_account(org, made["Helix Pharma"].id,
                                               {"name": "Helix Biotech"}))
    assert (await found("BIOTECH"), await found("pharma")) == (["Helix Biotech"], [])
    assert await found("helix.example") == ["Helix Biotech"]  # its domain kept
    assert [a.name for a in await run(uows, lambda r: r.list_accounts(
        org, PageRequest(10)))] == ["Helix Biotech", "AcmeXLogistics", "Acme_Logistics",
                                    "Żabka Polska"]


async def test_accounts_are_found_by_their_contact_people(backend: Any) -> None:
    uows, _ = backend
    org, other = uuid.uuid4(), uuid.uuid4()
    made = {}
    for n, (name, owner) in enumerate([("Młyny", org), ("Helix", org), ("Elsewhere", other)]):
        at = T0 + timedelta(minutes=n)
        made[name] = await run(uows, lambda r, v={
            "id": uuid.uuid4(), "org_id": owner, "name": name, "created_at": at,
            "updated_at": at}: r.insert_account(v))
    people = [("Młyny", "Jan Wiśniewski", "jan@mlyny.pl"), ("Helix", "Anna Nowak", None),
              ("Elsewhere", "Jan Wiśniewski", None)]
    contacts = [await run(uows, lambda r, a=made[client], name=name, email=email: r.insert_contact({
        "id": uuid.uuid4(), "org_id": a.org_id, "account_id": a.id, "name": name,
        "email": email, "created_at": T0, "updated_at": T0})) for client, name, email in people]

    async def found(search: str) -> list[str]:
        page = await run(uows, lambda r: r.list_accounts(org, PageRequest(10), search))
        return [a.name for a in page]

    assert await found("WISNIEWSKI") == ["Młyny"]  # another org's Jan not among them
    assert await found("jan@MLYNY") == ["Młyny"]
    assert await found("nowak") == ["Helix"]
    await run(uows, lambda r: r.update_contact(org, contacts[1].id, {
        "name": "Anna Kowalska", "email": "anna@helix.example", "phone": None,
        "position": None}))
    assert (await found("nowak"), await found("KOWALSKA"), await found("helix.ex")) == (
        [], ["Helix"], ["Helix"])
    # The people themselves, newest first, found the same way; another org's not among them.
    people = await run(uows, lambda r: r.contact_page(org, PageRequest(10), "WISNIEWSKI"))
    assert [c.id for c in people] == [contacts[0].id]
    every = await run(uows, lambda r: r.contact_page(org, PageRequest(1)))
    rest = await run(uows, lambda r: r.contact_page(
        org, PageRequest(5, (every[0].created_at, every[0].id))))
    assert {c.id for c in every[:1] + rest} == {contacts[0].id, contacts[1].id}
    await run(uows, lambda r: r.delete_contact(org, contacts[0].id))
    assert await found("wisniewski") == []
    assert await run(uows, lambda r: r.contact_page(org, PageRequest(10), "wisniewski")) == []


async def test_a_contact_is_read_changed_and_deleted_within_its_org(backend: Any) -> None:
    uows, _ = backend
    org = uuid.uuid4()
    account = await run(uows, lambda r: r.insert_account({
        "id": uuid.uuid4(), "org_id": org, "name": "Client", "created_at": T0,
        "updated_at": T0}))
    anna, ben = [await run(uows, lambda r, name=name: r.insert_contact({
        "id": uuid.uuid4(), "org_id": org, "account_id": account.id, "name": name,
        "email": f"{name.lower()}@acme.pl", "created_at": T0, "updated_at": T0}))
        for name in ("Anna", "Ben")]
    assert await run(uows, lambda r: r.get_contact(org, anna.id, lock=True)) == anna
    assert await run(uows, lambda r: r.get_contact(uuid.uuid4(), anna.id)) is None
    changed = await run(uows, lambda r: r.update_contact(org, anna.id, {
        "name": "Anna Nowak", "email": None, "position": "CFO"}))
    assert (changed.name, changed.email, changed.phone, changed.position, changed.version,
            changed.created_at) == ("Anna Nowak", None, None, "CFO", 2, T0)
    assert changed.updated_at > T0
    await run(uows, lambda r: r.delete_contact(org, anna.id))
    assert await run(uows, lambda r: r.get_contact(org, anna.id)) is None
    assert [c.id for c in await run(uows, lambda r: r.list_contacts(
        org, account_id=account.id))] == [ben.id]


async def test_an_import_reports_and_writes_the_same(backend: Any) -> None:
    uows, _ = backend
    org = uuid.uuid4()
    await run(uows, lambda r: r.insert_lead(lead_values(org, 0, email="old@acme.pl")))
    text = ("company;email;phone\nAcme;old@acme.pl;\nBeta;b@beta.pl;601234567\n"
            "Beta bis;;601 234 567\nGamma;not an email;\nDelta;d@delta.pl;\n")
    dry = await run(uows, lambda r: r.import_csv(ImportCsv(org, None, text, "PL", True)))
    assert dry.created_count == 2
    report = await run(uows, lambda r: r.import_csv(ImportCsv(org, None, text, "PL")))
    assert (report.total_rows, [c.line for c in report.created]) == (5, [3, 6])
    assert [(d.line, d.matched_on, d.existing_lead_id is not None, d.duplicate_of_line)
            for d in report.duplicates] == [(2, ["email"], True, None), (4, ["phone"], False, 3)]
    assert [i.line for i in report.invalid] == [5]
    found = await run(uows, lambda r: r.get_leads(org, [c.lead_id for c in report.created]))
    assert sorted(x.company or "" for x in found) == ["Beta", "Delta"]
    assert {x.import_id for x in found} == {report.import_id}
    await run(uows, lambda r: r.refresh_lead_statistics())

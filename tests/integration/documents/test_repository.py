"""The repository contract (:class:`services.documents.ports.DocumentsRepository`), one suite
run against the in-memory repository the handler unit tests use and against PostgreSQL: the
fake behaves as the real one, so what the unit tests show holds for the service."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects.postgresql import insert

from crmkit.auth import Caller, Role
from crmkit.paging import PageRequest
from crmkit.uow import UnitOfWork
from services.documents import domain as d
from services.documents.ports import DocumentsRepository
from services.documents.tables import document_versions
from tests.unit.documents.fakes import fake_uow

from .conftest import Api

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
Uows = Callable[[], UnitOfWork[DocumentsRepository]]


@pytest.fixture(params=["memory", "postgresql"])
async def uows(request: pytest.FixtureRequest, api: Api) -> AsyncIterator[Uows]:
    if request.param == "memory":
        shared = fake_uow()
        yield lambda: shared
    else:
        yield api.runtime.uow


def someone(org: uuid.UUID, *, groups: tuple[str, ...] = (), role: str = "rep") -> Caller:
    return Caller(member_id=uuid.uuid4(), org_id=org, roles=frozenset({Role(role)}),
                  groups=frozenset(groups))


def a_folder(org: uuid.UUID, name: str, groups: tuple[str, ...] = (),
             at: datetime = T0) -> d.Folder:
    return d.Folder(id=uuid.uuid4(), org_id=org, name=name, allowed_groups=groups, version=1,
                    created_by=uuid.uuid4(), created_at=at, updated_at=at)


def a_document(folder: d.Folder, *, minutes: int = 0, groups: tuple[str, ...] = (),
               kind: d.DocumentKind = d.DocumentKind.OTHER) -> d.Document:
    at = T0 + timedelta(minutes=minutes)
    return d.Document(id=uuid.uuid4(), org_id=folder.org_id, folder_id=folder.id,
                      name=f"Doc {minutes}", kind=kind, allowed_groups=groups,
                      current_version=1, created_by=uuid.uuid4(), created_at=at, updated_at=at)


def content(data: bytes) -> d.Content:
    return d.Content(data=data, media_type="text/plain", sha256=hashlib.sha256(data).hexdigest())


async def run(uows: Uows, use: Callable[[DocumentsRepository], Any]) -> Any:
    async with uows() as uow:
        result = await use(uow.repo)
        await uow.commit()
    return result


async def test_folders_are_kept_per_org_with_unique_names(uows: Uows) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    offers = a_folder(org, "Offers")
    assert await run(uows, lambda r: r.add_folder(offers)) is True
    assert await run(uows, lambda r: r.add_folder(a_folder(org, "OFFERS"))) is False
    assert await run(uows, lambda r: r.add_folder(a_folder(other, "Offers"))) is True
    assert await run(uows, lambda r: r.folder(org, offers.id)) == offers
    assert await run(uows, lambda r: r.folder(other, offers.id)) is None
    assert await run(uows, lambda r: r.folders(org, [offers.id, uuid.uuid4()])) == [offers]
    assert await run(uows, lambda r: r.folder_name_taken(org, "offers")) is True
    assert await run(uows, lambda r: r.folder_name_taken(org, "Contracts")) is False


async def test_folder_groups_change_with_the_version(uows: Uows) -> None:
    org = uuid.uuid4()
    folder = a_folder(org, "Legal")
    await run(uows, lambda r: r.add_folder(folder))
    later = T0 + timedelta(hours=1)
    changed = await run(uows, lambda r: r.set_folder_groups(folder, ["legal"], later))
    assert (changed.allowed_groups, changed.version, changed.updated_at) == (
        ("legal",), 2, later)
    assert await run(uows, lambda r: r.folder(org, folder.id)) == changed


async def test_visible_folders_by_name_for_each_kind_of_caller(uows: Uows) -> None:
    org = uuid.uuid4()
    made = [a_folder(org, "beta"), a_folder(org, "Alpha", ("legal",)),
            a_folder(org, "gamma", ("sales", "legal"))]
    for folder in made:
        await run(uows, lambda r, f=folder: r.add_folder(f))

    async def names(caller: Caller) -> list[str]:
        return [f.name for f in await run(uows, lambda r: r.visible_folders(caller))]

    assert await names(someone(org)) == ["beta"]
    assert await names(someone(org, groups=("legal",))) == ["Alpha", "beta", "gamma"]
    assert await names(someone(org, groups=("sales",))) == ["beta", "gamma"]
    assert await names(someone(org, role="admin")) == ["Alpha", "beta", "gamma"]
    assert await names(someone(uuid.uuid4(), role="admin")) == []


async def test_documents_and_their_versions(uows: Uows) -> None:
    org = uuid.uuid4()
    folder = a_folder(org, "Templates")
    document = a_document(folder)
    await run(uows, lambda r: r.add_folder(folder))
    await run(uows, lambda r: r.add_document(document))
    author = uuid.uuid4()
    first = await run(uows, lambda r: r.add_version(document, 1, content(b"one"), author, T0))
    later = T0 + timedelta(days=1)
    second = await run(uows, lambda r: r.add_version(document, 2, content(b"two"), author, later))
    bumped = await run(uows, lambda r: r.bump_document_version(document, later))
    assert (bumped.current_version, bumped.updated_at) == (2, later)
    assert await run(uows, lambda r: r.versions(org, document.id)) == [second, first]
    assert await run(uows, lambda r: r.versions(uuid.uuid4(), document.id)) == []
    assert await run(uows, lambda r: r.version_content(org, document.id, 1)) == content(b"one")
    assert await run(uows, lambda r: r.version_content(org, document.id, 3)) is None
    regrouped = await run(uows, lambda r: r.set_document_groups(bumped, ["legal"], later))
    assert regrouped.allowed_groups == ("legal",) and regrouped.current_version == 2
    assert await run(uows, lambda r: r.documents(org, [document.id])) == [regrouped]
    assert await run(uows, lambda r: r.document(uuid.uuid4(), document.id)) is None


async def test_nested_archived_folders_and_deleted_documents(uows: Uows) -> None:
    org = uuid.uuid4()
    legal = a_folder(org, "Legal", ("legal",))
    inside = replace(a_folder(org, "Inside"), parent_id=legal.id, write_groups=("sales",))
    old = a_folder(org, "Old")
    for folder in (legal, inside, old):
        await run(uows, lambda r, f=folder: r.add_folder(f))
    assert await run(uows, lambda r: r.folder(org, inside.id)) == inside
    assert await run(uows, lambda r: r.has_subfolders(org, legal.id)) is True
    assert await run(uows, lambda r: r.has_subfolders(org, inside.id)) is False
    later = T0 + timedelta(hours=1)
    archived = await run(uows, lambda r: r.save_folder(
        replace(old, name="Archive", archived_at=later, archived_by=legal.created_by), later))
    assert (archived.name, archived.version, archived.archived_at) == ("Archive", 2, later)

    async def names(caller: Caller, include_archived: bool = False) -> list[str]:
        found = await run(uows, lambda r: r.visible_folders(
            caller, include_archived=include_archived))
        return [f.name for f in found]

    assert await names(someone(org, groups=("sales",))) == []
    assert await names(someone(org, groups=("legal",))) == ["Inside", "Legal"]
    assert await names(someone(org, groups=("legal",)), True) == ["Archive", "Inside", "Legal"]

    document = a_document(inside)
    await run(uows, lambda r: r.add_document(document))
    page = PageRequest(first=10)

    async def listed(caller: Caller, deleted: bool = False) -> list[uuid.UUID]:
        found = await run(uows, lambda r: r.visible_documents(
            caller, folder_id=None, kind=None, page=page, deleted=deleted))
        return [x.id for x in found]

    assert await listed(someone(org)) == []  # the parent hides it
    assert await listed(someone(org, groups=("legal",))) == [document.id]
    gone = await run(uows, lambda r: r.save_document(replace(
        document, name="Renamed", folder_id=legal.id, deleted_at=later,
        deleted_by=legal.created_by), later))
    assert (gone.name, gone.folder_id, gone.deleted_at, gone.updated_at) == (
        "Renamed", legal.id, later, later)
    assert await listed(someone(org, groups=("legal",))) == []
    assert await listed(someone(org, groups=("legal",)), deleted=True) == [document.id]


async def test_where_a_version_s_bytes_are(uows: Uows, tmp_path: Path) -> None:
    org = uuid.uuid4()
    folder = a_folder(org, "Files")
    document = a_document(folder)
    await run(uows, lambda r: r.add_folder(folder))
    await run(uows, lambda r: r.add_document(document))
    data = b"%PDF-1.7\n" + bytes(range(256)) * 4
    staged_path = tmp_path / "staged"
    staged_path.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    staged = d.StagedFile(staged_path, "application/pdf", sha256, len(data), data[:64])
    version = await run(uows, lambda r: r.add_version(document, 1, staged, uuid.uuid4(), T0))
    assert (version.size_bytes, version.sha256) == (len(data), sha256)
    found = await run(uows, lambda r: r.version_file(org, document.id, 1))
    assert (found.version, found.key) == (version, f"{org}/{sha256}")
    assert await run(uows, lambda r: r.version_content(org, document.id, 1)) == d.Content(
        data, "application/pdf", sha256)
    assert await run(uows, lambda r: r.version_file(uuid.uuid4(), document.id, 1)) is None
    assert await run(uows, lambda r: r.version_file(org, document.id, 2)) is None


async def test_a_version_written_before_the_blob_store_is_read_from_its_row(api: Api) -> None:
    """ADR 0015: rows that kept their bytes in bytea are read from there, not the store."""
    org = uuid.uuid4()
    folder = a_folder(org, "Old")
    document = a_document(folder)
    uows = api.runtime.uow
    await run(uows, lambda r: r.add_folder(folder))
    await run(uows, lambda r: r.add_document(document))
    data = b"kept in the row"
    async with api.runtime.sessions() as session, session.begin():
        await session.execute(insert(document_versions).values(
            document_id=document.id, number=1, org_id=org, content=data,
            media_type="text/plain", size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(), created_by=uuid.uuid4(), created_at=T0))
    found = await run(uows, lambda r: r.version_file(org, document.id, 1))
    assert found.inline == data
    assert await run(uows, lambda r: r.version_content(org, document.id, 1)) == content(data)


async def test_visible_documents_in_keyset_pages(uows: Uows) -> None:
    org = uuid.uuid4()
    public, legal = a_folder(org, "Public"), a_folder(org, "Legal", ("legal",))
    for folder in (public, legal):
        await run(uows, lambda r, f=folder: r.add_folder(f))
    docs = [a_document(public, minutes=1), a_document(public, minutes=2, groups=("legal",)),
            a_document(legal, minutes=3), a_document(public, minutes=4,
                                                     kind=d.DocumentKind.NDA)]
    for document in docs:
        await run(uows, lambda r, x=document: r.add_document(x))

    async def listed(caller: Caller, page: PageRequest, **filters: Any) -> list[d.Document]:
        return list(await run(uows, lambda r: r.visible_documents(
            caller, folder_id=filters.get("folder_id"), kind=filters.get("kind"), page=page)))

    everything = PageRequest(first=10)
    assert await listed(someone(org), everything) == [docs[0], docs[3]]
    lawyer = someone(org, groups=("legal",))
    assert await listed(lawyer, everything) == docs
    assert await listed(lawyer, PageRequest(first=1)) == docs[:2]  # first + 1 rows
    after = (docs[1].created_at, docs[1].id)
    assert await listed(lawyer, PageRequest(first=10, after=after)) == docs[2:]
    assert await listed(lawyer, everything, folder_id=legal.id) == [docs[2]]
    assert await listed(lawyer, everything, kind=d.DocumentKind.NDA) == [docs[3]]
    assert await listed(someone(uuid.uuid4(), role="admin"), everything) == []


async def test_offers_by_id_and_by_opportunity_newest_first(uows: Uows) -> None:
    org = uuid.uuid4()
    folder = a_folder(org, "Templates")
    template = a_document(folder, kind=d.DocumentKind.OFFER_TEMPLATE)
    await run(uows, lambda r: r.add_folder(folder))
    await run(uows, lambda r: r.add_document(template))
    await run(uows, lambda r: r.add_version(template, 1, content(b"x"), uuid.uuid4(), T0))
    deal, other_deal = uuid.uuid4(), uuid.uuid4()

    def offer(opportunity: uuid.UUID, minutes: int, money: bool = True) -> d.Offer:
        return d.Offer(
            id=uuid.uuid4(), org_id=org, opportunity_id=opportunity, template_id=template.id,
            template_version=1, title=f"Offer {minutes}", content="x", media_type="text/plain",
            amount=Decimal("1200.50") if money else None, currency="EUR" if money else None,
            issued_by=uuid.uuid4(), issued_at=T0 + timedelta(minutes=minutes))

    made = [offer(deal, 1), offer(deal, 5, money=False), offer(other_deal, 3)]
    for each in made:
        await run(uows, lambda r, o=each: r.add_offer(o))
    by_id = await run(uows, lambda r: r.offers(org, [made[0].id, made[2].id, uuid.uuid4()]))
    assert sorted(by_id, key=lambda o: o.title) == [made[0], made[2]]
    assert await run(uows, lambda r: r.offers(uuid.uuid4(), [made[0].id])) == []
    assert await run(uows, lambda r: r.offers_of(org, [deal])) == [made[1], made[0]]
    assert await run(uows, lambda r: r.offers_of(org, [deal, other_deal])) == [
        made[1], made[2], made[0]]


async def test_the_opportunity_read_model_keeps_the_newest_report(uows: Uows) -> None:
    org, deal, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first, second = d.OpportunityAccess(uuid.uuid4(), "alpha"), d.OpportunityAccess(
        uuid.uuid4(), None)
    await run(uows, lambda r: r.record_opportunity(org, deal, first, 2, T0))
    await run(uows, lambda r: r.record_opportunity(org, deal, second, 1, T0))  # older: ignored
    assert await run(uows, lambda r: r.opportunity_access(org, [deal, unknown])) == {deal: first}
    await run(uows, lambda r: r.record_opportunity(org, deal, second, 2, T0))  # same: replaces
    assert await run(uows, lambda r: r.opportunity_access(org, [deal])) == {deal: second}
    assert await run(uows, lambda r: r.opportunity_access(uuid.uuid4(), [deal])) == {}


async def test_offer_numbers_are_a_sequence_per_org_and_month(uows: Uows) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    december, january = datetime(2026, 12, 6).date(), datetime(2027, 1, 2).date()
    numbers = [await run(uows, lambda r: r.next_offer_number(org, december)) for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert await run(uows, lambda r: r.next_offer_number(other, december)) == 1
    assert await run(uows, lambda r: r.next_offer_number(org, january)) == 1
    assert d.offer_number(december, 7) == "OF/2026/12/0007"


async def test_revisions_files_states_and_what_has_expired(uows: Uows) -> None:
    org = uuid.uuid4()
    folder = a_folder(org, "Templates")
    template = a_document(folder, kind=d.DocumentKind.OFFER_TEMPLATE)
    await run(uows, lambda r: r.add_folder(folder))
    await run(uows, lambda r: r.add_document(template))
    await run(uows, lambda r: r.add_version(template, 1, content(b"x"), uuid.uuid4(), T0))
    author = uuid.uuid4()
    offer = d.Offer(
        id=uuid.uuid4(), org_id=org, opportunity_id=uuid.uuid4(), template_id=template.id,
        template_version=1, title="Oferta", content="tekst", media_type="application/pdf",
        amount=Decimal("100.00"), currency="PLN", issued_by=None, issued_at=None,
        number="OF/2026/03/0001", status=d.OfferStatus.DRAFT, revision=1,
        valid_until=T0.date(), created_by=author, created_at=T0)
    await run(uows, lambda r: r.add_offer(offer))
    revisions = [
        d.OfferRevision(offer_id=offer.id, number=n, org_id=org, template_id=template.id,
                        template_version=1, media_type="application/pdf", size_bytes=4,
                        sha256=f"{n:064d}", text=f"v{n}", merge_data={"client": {"name": "Ż"}},
                        amount=Decimal("100.00"), currency="PLN", created_by=author,
                        created_at=T0 + timedelta(minutes=n))
        for n in (1, 2)
    ]
    for revision in revisions:
        await run(uows, lambda r, x=revision: r.add_offer_revision(x, f"%PDF{x.number}".encode()))
    assert await run(uows, lambda r: r.offer_revisions(org, offer.id)) == revisions[::-1]
    assert await run(uows, lambda r: r.offer_revisions(uuid.uuid4(), offer.id)) == []
    found = await run(uows, lambda r: r.offer_file(org, offer.id, 2))
    assert (found.data, found.media_type) == (b"%PDF2", "application/pdf")
    assert await run(uows, lambda r: r.offer_file(uuid.uuid4(), offer.id, 2)) is None

    issued = replace(offer, status=d.OfferStatus.ISSUED, revision=2, issued_by=author,
                     issued_at=T0)
    await run(uows, lambda r: r.update_offer(issued, "oferta tekst"))
    assert await run(uows, lambda r: r.offer(org, offer.id)) == issued
    assert await run(uows, lambda r: r.offer(uuid.uuid4(), offer.id)) is None
    due = await run(uows, lambda r: r.issued_offers_until(T0.date() + timedelta(days=1), 100))
    assert offer.id in {o.id for o in due}
    assert offer.id not in {o.id for o in await run(
        uows, lambda r: r.issued_offers_until(T0.date(), 100))}


async def test_deal_facts_join_the_deal_its_client_first_contact_and_owner(uows: Uows) -> None:
    org, deal, account, owner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert await run(uows, lambda r: r.deal_facts(org, deal)) is None
    details = d.OpportunityDetails(name="Flota", amount=Decimal("5000.00"), currency="PLN",
                                   status="open", stage_name="Oferta", account_id=account)
    await run(uows, lambda r: r.record_opportunity(
        org, deal, d.OpportunityAccess(owner, "alpha"), 1, T0, details))
    await run(uows, lambda r: r.record_account(org, account, name="Żabka", nip="5260250274",
                                               address="Warszawa", aggregate_version=2))
    await run(uows, lambda r: r.record_account(org, account, name="Old", nip=None,
                                               address=None, aggregate_version=1))
    for minutes, name in ((5, "Later"), (1, "Anna Nowak")):
        await run(uows, lambda r, m=minutes, n=name: r.record_contact(org, d.ContactPerson(
            uuid.uuid4(), account, n, email="a@x.example"),
            created_at=T0 + timedelta(minutes=m), aggregate_version=1))
    await run(uows, lambda r: r.record_member(org, owner, "Jan Kowalski"))
    facts = await run(uows, lambda r: r.deal_facts(org, deal))
    assert (facts.name, facts.amount, facts.currency, facts.stage, facts.owner_id) == (
        "Flota", Decimal("5000.00"), "PLN", "Oferta", owner)
    assert (facts.client_name, facts.client_nip, facts.client_address) == (
        "Żabka", "5260250274", "Warszawa")
    assert (facts.contact.name, facts.contact.email, facts.owner.name) == (
        "Anna Nowak", "a@x.example", "Jan Kowalski")
    assert await run(uows, lambda r: r.deal_facts(uuid.uuid4(), deal)) is None


async def test_a_contact_changes_with_its_newest_event_and_a_removed_one_stays_gone(
    uows: Uows,
) -> None:
    org, deal, account, owner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await run(uows, lambda r: r.record_opportunity(
        org, deal, d.OpportunityAccess(owner, "alpha"), 1, T0,
        d.OpportunityDetails(name="Flota", amount=Decimal("1.00"), currency="PLN",
                             status="open", account_id=account)))
    anna, ben = uuid.uuid4(), uuid.uuid4()

    async def contact(person: uuid.UUID, name: str, version: int, minutes: int = 0) -> None:
        await run(uows, lambda r: r.record_contact(
            org, d.ContactPerson(person, account, name, phone="+48601234567"),
            created_at=T0 + timedelta(minutes=minutes), aggregate_version=version))

    async def first_contact() -> str:
        facts = await run(uows, lambda r: r.deal_facts(org, deal))
        return facts.contact.name

    await contact(anna, "Anna", 1)
    await contact(ben, "Ben", 1, minutes=1)
    await contact(anna, "Anna Nowak", 3)
    await contact(anna, "Anna (older)", 2)  # redelivered late: older than what is held
    assert await first_contact() == "Anna Nowak"
    await run(uows, lambda r: r.forget_contact(org, anna, account, at=T0,
                                               aggregate_version=4))
    assert await first_contact() == "Ben"
    await contact(anna, "Anna Nowak", 3)  # an older event cannot bring her back
    assert await first_contact() == "Ben"
    await run(uows, lambda r: r.forget_contact(org, ben, account, at=T0,
                                               aggregate_version=2))
    assert await first_contact() == ""


async def test_offer_settings_per_org_and_the_newest_announced_locale(uows: Uows) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    assert await run(uows, lambda r: r.offer_settings(org)) == d.OfferSettings(30, None)
    await run(uows, lambda r: r.set_offer_validity(org, 14, T0))
    await run(uows, lambda r: r.set_offer_validity(org, 21, T0))
    await run(uows, lambda r: r.record_locale(org, "en", T0))
    await run(uows, lambda r: r.record_locale(org, "pl", T0 - timedelta(seconds=1)))  # older
    assert await run(uows, lambda r: r.offer_settings(org)) == d.OfferSettings(21, "en")
    await run(uows, lambda r: r.record_locale(org, "pl", T0 + timedelta(seconds=1)))
    assert await run(uows, lambda r: r.offer_settings(org)) == d.OfferSettings(21, "pl")
    assert await run(uows, lambda r: r.offer_settings(other)) == d.OfferSettings(30, None)

"""Every documents use case's rules, on the in-memory repository (no IO): who may do it, what
it refuses (changing nothing), what it writes and which events it commits."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from crmkit.auth import Caller, Role
from crmkit.commands import ById
from crmkit.contracts import Envelope
from crmkit.contracts import documents as contract
from crmkit.contracts.leads import LeadConverted
from crmkit.contracts.pipeline import (
    OpportunityCreated,
    OpportunitySnapshot,
    OpportunityUpdated,
)
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError, VersionConflictError
from crmkit.paging import keyset_cursor
from crmkit.testing.fakes import FakeUnitOfWork
from services.documents import domain as d
from services.documents.handlers import library as lib
from services.documents.handlers import offers as off
from services.documents.handlers.opportunities import record_opportunity

from .fakes import FakeDocumentsRepository, fake_uow

ORG = uuid.uuid4()
TEMPLATE = b"Offer for ${client}: ${product}."
Uow = FakeUnitOfWork[FakeDocumentsRepository]


def person(role: str = "rep", *, team: str | None = "alpha", groups: tuple[str, ...] = (),
           org: uuid.UUID = ORG) -> Caller:
    return Caller(member_id=uuid.uuid4(), org_id=org, roles=frozenset({Role(role)}),
                  team=team, groups=frozenset(groups))


ADMIN = person("admin", team=None)
MANAGER = person("manager")


def paths(error: InvalidInput) -> set[str]:
    return {".".join(p.path) for p in error.problems}


async def folder(uow: Uow, groups: tuple[str, ...] = (), name: str | None = None) -> d.Folder:
    return await lib.create_folder(
        lib.CreateFolder(ADMIN, name or f"Folder {uuid.uuid4().hex[:6]}", groups), uow)


async def upload(uow: Uow, who: Caller, folder_id: uuid.UUID, *, content: bytes = TEMPLATE,
                 kind: d.DocumentKind = d.DocumentKind.OFFER_TEMPLATE,
                 groups: tuple[str, ...] = ()) -> d.Document:
    document, _ = await lib.upload_document(
        lib.UploadDocument(who, folder_id, "Template", kind, content, allowed_groups=groups), uow)
    return document


async def state(uow: Uow) -> FakeDocumentsRepository:
    async with uow:
        return uow.repo


# --- folders ------------------------------------------------------------------------------


async def test_a_manager_creates_a_folder_and_announces_it() -> None:
    uow = fake_uow()
    created = await lib.create_folder(
        lib.CreateFolder(MANAGER, "  Offers ", [" sales", "legal", "sales"]), uow)
    assert (created.name, created.allowed_groups, created.version) == (
        "Offers", ("legal", "sales"), 1)
    [event] = uow.committed
    assert event.parse(contract.FolderCreated) == contract.FolderCreated(
        folder_id=created.id, name="Offers", allowed_groups=["legal", "sales"])
    assert (event.aggregate_id, event.actor_id) == (created.id, MANAGER.member_id)


async def test_a_rep_may_not_create_folders() -> None:
    uow = fake_uow()
    with pytest.raises(ForbiddenError):
        await lib.create_folder(lib.CreateFolder(person(), "Offers"), uow)
    assert uow.commits == 0


async def test_a_folder_name_is_unique_in_the_org_ignoring_case_and_every_problem_is_named(
) -> None:
    uow = fake_uow()
    await folder(uow, name="Offers")
    with pytest.raises(InvalidInput) as taken:
        await lib.create_folder(lib.CreateFolder(ADMIN, "OFFERS"), uow)
    assert paths(taken.value) == {"name"}
    with pytest.raises(InvalidInput) as bad:
        await lib.create_folder(lib.CreateFolder(ADMIN, "a\x00b", ["ok", " "]), uow)
    assert paths(bad.value) == {"name", "allowedGroups.1"}
    assert len((await state(uow)).folder_rows) == 1 and uow.commits == 1
    other_org = person("admin", org=uuid.uuid4())
    assert await lib.create_folder(lib.CreateFolder(other_org, "Offers"), uow)


async def test_folder_access_changes_are_optimistically_concurrent() -> None:
    uow = fake_uow()
    created = await folder(uow)
    changed = await lib.set_folder_access(
        lib.SetFolderAccess(MANAGER, created.id, ["legal"], expected_version=1), uow)
    assert (changed.allowed_groups, changed.version) == (("legal",), 2)
    assert uow.committed[-1].parse(contract.FolderAccessChanged).allowed_groups == ["legal"]
    assert uow.committed[-1].aggregate_version == 2
    with pytest.raises(VersionConflictError):
        await lib.set_folder_access(
            lib.SetFolderAccess(ADMIN, created.id, [], expected_version=1), uow)
    with pytest.raises(ForbiddenError):
        await lib.set_folder_access(lib.SetFolderAccess(person(), created.id, []), uow)
    with pytest.raises(NotFoundError):
        await lib.set_folder_access(lib.SetFolderAccess(ADMIN, uuid.uuid4(), []), uow)
    assert (await state(uow)).folder_rows[created.id].version == 2


async def test_folders_are_listed_by_name_as_far_as_the_caller_sees_them() -> None:
    uow = fake_uow()
    legal = await folder(uow, ("legal",), name="b legal")
    public = await folder(uow, name="A public")
    await lib.create_folder(lib.CreateFolder(person("admin", org=uuid.uuid4()), "Theirs"), uow)
    assert await lib.list_folders(lib.ListFolders(person()), uow) == [public]
    lawyer = person(groups=("legal",))
    assert await lib.list_folders(lib.ListFolders(lawyer), uow) == [public, legal]
    assert await lib.list_folders(lib.ListFolders(ADMIN), uow) == [public, legal]
    found = await lib.folders_by_id(
        ById(person(), [legal.id, public.id, uuid.uuid4()]), uow)
    assert found == {public.id: public}


# --- documents ----------------------------------------------------------------------------


async def test_a_member_of_a_write_group_uploads_a_first_version() -> None:
    uow = fake_uow()
    created = await lib.create_folder(lib.CreateFolder(ADMIN, "Prices", write_groups=["sales"]),
                                      uow)
    with pytest.raises(ForbiddenError):  # sees the folder, may not write in it
        await lib.upload_document(lib.UploadDocument(
            person(), created.id, "Price list", d.DocumentKind.PRICE_LIST, b"EUR 10"), uow)
    rep = person(groups=("sales",))
    document, version = await lib.upload_document(lib.UploadDocument(
        rep, created.id, " Price list ", d.DocumentKind.PRICE_LIST, b"EUR 10", "Text/Plain"), uow)
    assert (document.name, document.current_version, version.number) == ("Price list", 1, 1)
    assert version.media_type == "text/plain" and version.size_bytes == 6
    event = uow.committed[-1].parse(contract.DocumentCreated)
    assert (event.kind, event.sha256, event.size_bytes) == ("PRICE_LIST", version.sha256, 6)


async def test_an_upload_is_refused_in_a_hidden_folder_or_with_groups_from_a_rep() -> None:
    uow = fake_uow()
    hidden = await folder(uow, ("legal",))
    with pytest.raises(NotFoundError):
        await upload(uow, person(), hidden.id)
    public = await folder(uow)
    with pytest.raises(ForbiddenError):
        await upload(uow, person(), public.id, groups=("sales",))
    with pytest.raises(InvalidInput) as bad:
        await upload(uow, ADMIN, public.id, content=b"price $")
    assert paths(bad.value) == {"content"}
    assert (await state(uow)).document_rows == {}


async def test_writers_and_managers_add_versions_readers_may_not() -> None:
    uow = fake_uow()
    created = await lib.create_folder(lib.CreateFolder(ADMIN, "Offers", write_groups=["sales"]),
                                      uow)
    uploader = person(groups=("sales",))
    document = await upload(uow, uploader, created.id)
    with pytest.raises(ForbiddenError):
        await lib.add_document_version(lib.AddDocumentVersion(person(), document.id, b"x"), uow)
    changed, version = await lib.add_document_version(
        lib.AddDocumentVersion(uploader, document.id, b"${a}", expected_version=1), uow)
    assert (changed.current_version, version.number, version.media_type) == (2, 2, "text/plain")
    assert uow.committed[-1].parse(contract.DocumentVersionAdded).version == 2
    with pytest.raises(VersionConflictError):
        await lib.add_document_version(
            lib.AddDocumentVersion(MANAGER, document.id, b"x", expected_version=1), uow)
    versions = await lib.document_versions(lib.DocumentVersions(uploader, document.id), uow)
    assert [v.number for v in versions] == [2, 1]
    content = await lib.version_content(lib.VersionContent(uploader, document.id, 1), uow)
    assert content is not None and content.data == TEMPLATE


async def test_document_access_is_managed_by_managers_and_hides_the_document() -> None:
    uow = fake_uow()
    created = await folder(uow)
    document = await upload(uow, ADMIN, created.id)
    with pytest.raises(ForbiddenError):
        await lib.set_document_access(lib.SetDocumentAccess(person(), document.id, []), uow)
    await lib.set_document_access(lib.SetDocumentAccess(MANAGER, document.id, ["legal"]), uow)
    assert uow.committed[-1].parse(contract.DocumentAccessChanged).allowed_groups == ["legal"]
    rep, lawyer = person(), person(groups=("legal",))
    assert await lib.documents_by_id(ById(rep, [document.id]), uow) == {}
    assert list(await lib.documents_by_id(ById(lawyer, [document.id]), uow)) == [
        document.id]
    assert await lib.document_versions(lib.DocumentVersions(rep, document.id), uow) == []
    assert await lib.version_content(lib.VersionContent(rep, document.id, 1), uow) is None


async def test_documents_are_paged_oldest_first_by_kind_and_folder() -> None:
    uow = fake_uow()
    first, second = await folder(uow), await folder(uow)
    made = [await upload(uow, ADMIN, first.id) for _ in range(3)]
    price = await upload(uow, ADMIN, second.id, kind=d.DocumentKind.PRICE_LIST, content=b"1")
    made.sort(key=lambda x: (x.created_at, x.id))  # the keyset order, whatever the clock did
    assert max((x.created_at, x.id) for x in made) < (price.created_at, price.id)
    page = await lib.list_documents(lib.ListDocuments(ADMIN, first=2), uow)
    assert page.items == made[:2] and page.has_next_page and not page.has_previous_page
    rest = await lib.list_documents(lib.ListDocuments(ADMIN, first=5, after=page.end_cursor), uow)
    assert rest.items == [made[2], price] and not rest.has_next_page and rest.has_previous_page
    kinds = await lib.list_documents(
        lib.ListDocuments(ADMIN, kind=d.DocumentKind.PRICE_LIST), uow)
    assert kinds.items == [price]
    in_first = await lib.list_documents(lib.ListDocuments(ADMIN, folder_id=first.id), uow)
    assert in_first.items == made
    with pytest.raises(InvalidInput) as bad:
        await lib.list_documents(lib.ListDocuments(ADMIN, first=201, after="x"), uow)
    assert paths(bad.value) == {"first", "after"}
    assert keyset_cursor((made[0].created_at, made[0].id)) == page.start_cursor


# --- offers -------------------------------------------------------------------------------


async def template(uow: Uow) -> d.Document:
    return await upload(uow, ADMIN, (await folder(uow)).id)


async def known_opportunity(uow: Uow, owner: Caller, version: int = 1) -> uuid.UUID:
    opportunity_id = uuid.uuid4()
    await record_opportunity(created_envelope(opportunity_id, owner, version), uow)
    return opportunity_id


def created_envelope(opportunity_id: uuid.UUID, owner: Caller, version: int = 1,
                     event_type: type[OpportunitySnapshot] = OpportunityCreated) -> Envelope:
    event = event_type(
        opportunity_id=opportunity_id, name="Deal", owner_id=owner.member_id, team=owner.team,
        pipeline_id=uuid.uuid4(), stage_id=uuid.uuid4(), status="open",
        amount=Decimal("1000.00"), currency="EUR", probability=10)
    return Envelope.wrap(event, org_id=owner.org_id, aggregate_id=opportunity_id,
                         aggregate_version=version)


async def test_an_offer_is_rendered_kept_and_announced() -> None:
    uow = fake_uow()
    document = await template(uow)
    owner = person()
    opportunity_id = await known_opportunity(uow, owner)
    offer = await off.issue_offer(off.IssueOffer(
        owner, opportunity_id, document.id, [("client", "ACME"), ("product", "CRM")],
        amount="1200.5", currency=" eur "), uow)
    assert (offer.content, offer.title, offer.template_version) == (
        "Offer for ACME: CRM.", "Template", 1)
    assert (offer.amount, offer.currency) == (Decimal("1200.50"), "EUR")
    issued = uow.committed[-1].parse(contract.OfferIssued)
    assert (issued.offer_id, issued.amount, issued.currency) == (offer.id, offer.amount, "EUR")


async def test_an_offer_needs_every_value_an_offer_template_and_valid_money() -> None:
    uow = fake_uow()
    document = await template(uow)
    commits = uow.commits
    with pytest.raises(InvalidInput) as missing:
        await off.issue_offer(off.IssueOffer(ADMIN, uuid.uuid4(), document.id), uow)
    assert paths(missing.value) == {"values.client", "values.product"}
    with pytest.raises(InvalidInput) as money:
        await off.issue_offer(off.IssueOffer(ADMIN, uuid.uuid4(), document.id,
                                             amount="10.005", currency="PLN"), uow)
    assert paths(money.value) == {"amount"}
    with pytest.raises(InvalidInput) as version:
        await off.issue_offer(off.IssueOffer(ADMIN, uuid.uuid4(), document.id,
                                             template_version=2), uow)
    assert paths(version.value) == {"templateVersion"}
    price = await upload(uow, ADMIN, document.folder_id, kind=d.DocumentKind.PRICE_LIST,
                         content=b"1")
    with pytest.raises(InvalidInput) as kind:
        await off.issue_offer(off.IssueOffer(ADMIN, uuid.uuid4(), price.id), uow)
    assert paths(kind.value) == {"templateId"}
    assert (await state(uow)).offer_rows == {} and uow.commits == commits + 1  # the price list


async def test_issuing_needs_a_visible_opportunity_once_it_is_known() -> None:
    uow = fake_uow()
    document = await template(uow)
    values = [("client", "A"), ("product", "B")]
    theirs = await known_opportunity(uow, person(team="beta"))
    with pytest.raises(ForbiddenError):
        await off.issue_offer(off.IssueOffer(person(), theirs, document.id, values), uow)
    unknown = uuid.uuid4()  # the pipeline's event may lag behind the request
    assert await off.issue_offer(off.IssueOffer(person(), unknown, document.id, values), uow)


async def test_offers_are_seen_by_the_opportunity_s_owner_team_manager_and_admins() -> None:
    uow = fake_uow()
    document = await template(uow)
    values = [("client", "A"), ("product", "B")]
    owner, teammate, beta_manager = person(), person(), person("manager", team="beta")
    opportunity_id = await known_opportunity(uow, owner)
    offer = await off.issue_offer(off.IssueOffer(owner, opportunity_id, document.id, values), uow)
    unknown = uuid.uuid4()
    pending = await off.issue_offer(off.IssueOffer(teammate, unknown, document.id, values), uow)

    async def seen(who: Caller) -> tuple[set[uuid.UUID], list[uuid.UUID]]:
        by_id = await off.offers_by_id(ById(who, [offer.id, pending.id]), uow)
        of = await off.offers_of_opportunities(
            off.OffersOfOpportunities(who, [opportunity_id, unknown]), uow)
        return set(by_id), [o.id for o in of[opportunity_id] + of[unknown]]

    assert await seen(owner) == ({offer.id}, [offer.id])
    assert await seen(teammate) == ({pending.id}, [pending.id])  # the issuer of the pending one
    assert await seen(MANAGER) == ({offer.id, pending.id}, [offer.id, pending.id])
    assert await seen(beta_manager) == ({pending.id}, [pending.id])
    assert await seen(ADMIN) == ({offer.id, pending.id}, [offer.id, pending.id])


async def test_the_read_model_keeps_the_latest_owner_and_ignores_other_events() -> None:
    uow = fake_uow()
    first, second = person(), person(team="beta")
    opportunity_id = uuid.uuid4()
    assert await record_opportunity(
        created_envelope(opportunity_id, second, 3, OpportunityUpdated), uow)
    assert await record_opportunity(created_envelope(opportunity_id, first, 2), uow)  # older
    async with uow:
        held = await uow.repo.opportunity_access(ORG, [opportunity_id])
    assert held == {opportunity_id: d.OpportunityAccess(second.member_id, "beta")}
    converted = Envelope.wrap(LeadConverted(
        lead_id=uuid.uuid4(), opportunity_id=opportunity_id, name="Deal", amount=Decimal(1),
        currency="EUR", account_id=uuid.uuid4(), owner_id=first.member_id),
        org_id=ORG, aggregate_id=uuid.uuid4())
    assert not await record_opportunity(converted, uow)

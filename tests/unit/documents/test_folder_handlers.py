"""Folder and document management on the fake unit of work: rename, one level of nesting,
archive, write groups apart from read groups, documents renamed, moved and soft-deleted."""

from __future__ import annotations

import uuid

import pytest

from crmkit.auth import Caller, Role
from crmkit.commands import ById
from crmkit.contracts import documents as contract
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError, VersionConflictError
from crmkit.testing.fakes import FakeUnitOfWork
from services.documents import domain as d
from services.documents.handlers import library as lib

from .fakes import FakeDocumentsRepository, fake_uow

ORG = uuid.uuid4()
Uow = FakeUnitOfWork[FakeDocumentsRepository]


def person(role: str = "rep", *groups: str) -> Caller:
    return Caller(member_id=uuid.uuid4(), org_id=ORG, roles=frozenset({Role(role)}),
                  groups=frozenset(groups))


ADMIN = person("admin")


async def folder(uow: Uow, *, read: tuple[str, ...] = (), write: tuple[str, ...] = ("sales",),
                 parent: uuid.UUID | None = None) -> d.Folder:
    return await lib.create_folder(
        lib.CreateFolder(ADMIN, f"F {uuid.uuid4().hex[:6]}", read, write, parent), uow)


async def document(uow: Uow, folder_id: uuid.UUID) -> d.Document:
    made, _ = await lib.upload_document(lib.UploadDocument(
        ADMIN, folder_id, "Price list", d.DocumentKind.PRICE_LIST, b"EUR 10"), uow)
    return made


async def test_write_groups_are_apart_from_read_groups() -> None:
    uow = fake_uow()
    shared = await folder(uow)
    assert shared.write_groups == ("sales",)
    assert d.writes_in(person("rep", "sales"), shared)
    assert not d.writes_in(person("rep"), shared)
    assert d.writes_in(person("manager"), shared)
    changed = await lib.set_folder_access(
        lib.SetFolderAccess(ADMIN, shared.id, ["legal"], 1, write_groups=["legal"]), uow)
    assert (changed.allowed_groups, changed.write_groups, changed.version) == (
        ("legal",), ("legal",), 2)
    event = uow.committed[-1].parse(contract.FolderAccessChanged)
    assert (event.allowed_groups, event.write_groups) == (["legal"], ["legal"])
    kept = await lib.set_folder_access(lib.SetFolderAccess(ADMIN, shared.id, []), uow)
    assert kept.write_groups == ("legal",)


async def test_a_subfolder_is_seen_only_with_its_parent_and_nests_one_level() -> None:
    uow = fake_uow()
    legal = await folder(uow, read=("legal",))
    inside = await folder(uow, parent=legal.id)
    with pytest.raises(NotFoundError):
        await lib.upload_document(lib.UploadDocument(
            person("rep", "sales"), inside.id, "x", d.DocumentKind.OTHER, b"x"), uow)
    assert [f.id for f in await lib.list_folders(lib.ListFolders(person("rep", "sales")), uow)
            if f.id in (legal.id, inside.id)] == []
    seen = await lib.folders_by_id(ById(person("rep", "legal"), [inside.id]), uow)
    assert list(seen) == [inside.id]
    with pytest.raises(InvalidInput, match="the parent is a subfolder"):
        await folder(uow, parent=inside.id)
    other = await folder(uow)
    with pytest.raises(InvalidInput, match="has subfolders"):
        await lib.change_folder(lib.ChangeFolder(ADMIN, legal.id, parent_id=other.id), uow)
    created = uow.committed[1].parse(contract.FolderCreated)
    assert (created.parent_id, created.write_groups) == (legal.id, ["sales"])
    top = await lib.change_folder(lib.ChangeFolder(ADMIN, inside.id, unnest=True), uow)
    assert top.parent_id is None and top.version == 2
    changed = uow.committed[-1].parse(contract.FolderChanged)
    assert (changed.folder_id, changed.parent_id, changed.archived) == (inside.id, None, False)


async def test_folders_are_renamed_by_managers_with_their_version() -> None:
    uow = fake_uow()
    first, second = await folder(uow), await folder(uow)
    with pytest.raises(ForbiddenError):
        await lib.change_folder(lib.ChangeFolder(person("rep", "sales"), first.id, "x"), uow)
    with pytest.raises(InvalidInput, match="exists"):
        await lib.change_folder(lib.ChangeFolder(ADMIN, first.id, second.name.upper()), uow)
    renamed = await lib.change_folder(lib.ChangeFolder(ADMIN, first.id, " Offers ",
                                                       expected_version=1), uow)
    assert (renamed.name, renamed.version) == ("Offers", 2)
    same_case = await lib.change_folder(lib.ChangeFolder(ADMIN, first.id, "OFFERS"), uow)
    assert same_case.name == "OFFERS"
    with pytest.raises(VersionConflictError):
        await lib.change_folder(lib.ChangeFolder(ADMIN, first.id, "y", expected_version=1), uow)


async def test_an_archived_folder_is_read_only_and_left_out_of_the_list() -> None:
    uow = fake_uow()
    archived = await folder(uow)
    inside = await folder(uow, parent=archived.id)
    kept = await document(uow, archived.id)
    done = await lib.change_folder(lib.ChangeFolder(ADMIN, archived.id, archived=True), uow)
    assert done.archived_at is not None and done.archived_by == ADMIN.member_id
    assert uow.committed[-1].parse(contract.FolderChanged).archived is True
    listed = {f.id for f in await lib.list_folders(lib.ListFolders(ADMIN), uow)}
    assert archived.id not in listed and inside.id in listed
    everything = await lib.list_folders(lib.ListFolders(ADMIN, include_archived=True), uow)
    assert archived.id in {f.id for f in everything}
    for target in (archived.id, inside.id):  # a subfolder of an archived folder too
        with pytest.raises(ForbiddenError, match="archived"):
            await lib.prepare_upload(lib.UploadDocument(
                ADMIN, target, "x", d.DocumentKind.OTHER, b"", "text/plain"), uow)
    with pytest.raises(ForbiddenError, match="archived"):
        await lib.delete_document(lib.DeleteDocument(ADMIN, kept.id), uow)
    with pytest.raises(InvalidInput, match="archived"):
        await lib.change_folder(lib.ChangeFolder(ADMIN, (await folder(uow)).id,
                                                 parent_id=archived.id), uow)
    back = await lib.change_folder(lib.ChangeFolder(ADMIN, archived.id, archived=False), uow)
    assert (back.archived_at, back.archived_by) == (None, None)


async def test_documents_are_renamed_moved_and_soft_deleted_by_writers() -> None:
    uow = fake_uow()
    source, target, closed = await folder(uow), await folder(uow), await folder(uow, write=())
    made = await document(uow, source.id)
    writer, reader = person("rep", "sales"), person("rep")
    with pytest.raises(ForbiddenError):
        await lib.change_document(lib.ChangeDocument(reader, made.id, "x"), uow)
    with pytest.raises(ForbiddenError):
        await lib.change_document(lib.ChangeDocument(writer, made.id, folder_id=closed.id), uow)
    with pytest.raises(InvalidInput):
        await lib.change_document(lib.ChangeDocument(writer, made.id, " "), uow)
    moved = await lib.change_document(
        lib.ChangeDocument(writer, made.id, " Cennik ", folder_id=target.id), uow)
    assert (moved.name, moved.folder_id, moved.current_version) == ("Cennik", target.id, 1)
    event = uow.committed[-1].parse(contract.DocumentChanged)
    assert (event.name, event.folder_id) == ("Cennik", target.id)
    with pytest.raises(ForbiddenError):
        await lib.delete_document(lib.DeleteDocument(reader, made.id), uow)
    deleted = await lib.delete_document(lib.DeleteDocument(writer, made.id), uow)
    assert deleted.deleted_by == writer.member_id and deleted.deleted_at is not None
    gone = uow.committed[-1]
    assert gone.parse(contract.DocumentDeleted).document_id == made.id
    assert gone.actor_id == writer.member_id
    with pytest.raises(NotFoundError):
        await lib.version_file(lib.VersionFile(ADMIN, made.id), uow)
    assert await lib.documents_by_id(ById(ADMIN, [made.id]), uow) == {}
    listed = await lib.list_documents(lib.ListDocuments(ADMIN, target.id), uow)
    assert listed.items == []
    trash = await lib.list_documents(lib.ListDocuments(ADMIN, target.id, deleted=True), uow)
    assert [x.id for x in trash.items] == [made.id]
    with pytest.raises(ForbiddenError):
        await lib.list_documents(lib.ListDocuments(reader, deleted=True), uow)

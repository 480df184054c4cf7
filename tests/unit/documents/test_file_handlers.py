"""The file use cases on the fake unit of work: checks before the bytes arrive (what a signed
URL is granted for), staged uploads, sniffing refusals that change nothing, and the version a
download streams."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from crmkit.auth import Caller, Role
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError, VersionConflictError
from crmkit.testing.fakes import FakeUnitOfWork
from services.documents import domain as d
from services.documents.handlers import library as lib
from services.documents.sniffing import ContentRefused, Refusal

from .fakes import FakeDocumentsRepository, fake_uow

ORG = uuid.uuid4()
PDF = b"%PDF-1.7\n" + bytes(range(256))
EXE = b"MZ" + bytes(100)
Uow = FakeUnitOfWork[FakeDocumentsRepository]


def person(role: str = "rep", *, groups: tuple[str, ...] = ("sales",),
           org: uuid.UUID = ORG) -> Caller:
    return Caller(member_id=uuid.uuid4(), org_id=org, roles=frozenset({Role(role)}),
                  groups=frozenset(groups))


ADMIN = person("admin")


async def rows(uow: Uow) -> dict[uuid.UUID, d.Document]:
    async with uow:
        return dict(uow.repo.document_rows)


async def folder(uow: Uow, groups: tuple[str, ...] = ()) -> d.Folder:
    """A folder the sales group writes in."""
    return await lib.create_folder(
        lib.CreateFolder(ADMIN, f"F {uuid.uuid4().hex[:6]}", groups, write_groups=("sales",)),
        uow)


def upload_cmd(who: Caller, folder_id: uuid.UUID, content: bytes | d.StagedFile = PDF,
               media: str = "application/pdf", **rest: object) -> lib.UploadDocument:
    return lib.UploadDocument(who, folder_id, "Price list", d.DocumentKind.PRICE_LIST, content,
                              media, **rest)  # type: ignore[arg-type]


async def test_an_upload_is_prepared_with_every_check_that_needs_no_bytes() -> None:
    uow = fake_uow()
    shared = await folder(uow)
    ready = await lib.prepare_upload(upload_cmd(person(), shared.id, b"", " Application/PDF "),
                                     uow)
    assert ready == lib.PreparedUpload(shared.id, "Price list", d.DocumentKind.PRICE_LIST,
                                       "application/pdf", ())
    with pytest.raises(InvalidInput) as bad:
        await lib.prepare_upload(
            lib.UploadDocument(person(), shared.id, " ", d.DocumentKind.OTHER, b"", "nonsense"),
            uow)
    assert {".".join(p.path) for p in bad.value.problems} == {"name", "mediaType"}
    hidden = await folder(uow, ("legal",))
    with pytest.raises(NotFoundError):
        await lib.prepare_upload(upload_cmd(person(), hidden.id), uow)
    with pytest.raises(ForbiddenError):  # reads, may not write
        await lib.prepare_upload(upload_cmd(person(groups=()), shared.id), uow)
    with pytest.raises(ForbiddenError):
        await lib.prepare_upload(upload_cmd(person(), shared.id, allowed_groups=("x",)), uow)
    with pytest.raises(NotFoundError):
        await lib.prepare_upload(upload_cmd(person(org=uuid.uuid4()), shared.id), uow)
    assert await rows(uow) == {}


async def test_a_staged_file_is_stored_with_its_facts(tmp_path: Path) -> None:
    uow = fake_uow()
    shared = await folder(uow)
    data = PDF * 1000
    path = tmp_path / "staged"
    path.write_bytes(data)
    staged = d.StagedFile(path, "application/pdf", hashlib.sha256(data).hexdigest(), len(data),
                          data[:1024])
    document, version = await lib.upload_document(upload_cmd(person(), shared.id, staged), uow)
    assert (version.size_bytes, version.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    _, stored = await lib.version_file(lib.VersionFile(ADMIN, document.id), uow)
    assert stored.version == version
    assert stored.inline == data
    assert stored.key == f"{ORG}/{version.sha256}"


async def test_executables_and_mismatches_are_refused_and_change_nothing(
    tmp_path: Path,
) -> None:
    uow = fake_uow()
    shared = await folder(uow)
    announced = len(uow.committed)
    with pytest.raises(ContentRefused) as refused:
        await lib.upload_document(upload_cmd(person(), shared.id, EXE), uow)
    assert refused.value.reason is Refusal.EXECUTABLE
    path = tmp_path / "staged"
    path.write_bytes(EXE)
    staged = d.StagedFile(path, "application/pdf", hashlib.sha256(EXE).hexdigest(), len(EXE),
                          EXE)
    with pytest.raises(ContentRefused):
        await lib.upload_document(upload_cmd(person(), shared.id, staged), uow)
    with pytest.raises(ContentRefused) as mismatch:
        await lib.upload_document(upload_cmd(person(), shared.id, b"plain text"), uow)
    assert mismatch.value.reason is Refusal.TYPE_MISMATCH
    assert await rows(uow) == {}
    assert len(uow.committed) == announced
    document, _ = await lib.upload_document(upload_cmd(person(), shared.id), uow)
    with pytest.raises(ContentRefused):
        await lib.add_document_version(lib.AddDocumentVersion(ADMIN, document.id, EXE), uow)
    assert (await rows(uow))[document.id].current_version == 1


async def test_a_version_upload_is_prepared_for_the_uploader_and_managers() -> None:
    uow = fake_uow()
    shared = await folder(uow)
    uploader = person()
    document, _ = await lib.upload_document(upload_cmd(uploader, shared.id), uow)
    cmd = lib.AddDocumentVersion(uploader, document.id, b"", expected_version=1)
    assert await lib.prepare_version_upload(cmd, uow) == "application/pdf"
    manager = lib.AddDocumentVersion(person("manager"), document.id, b"", "text/plain")
    assert await lib.prepare_version_upload(manager, uow) == "text/plain"
    reader = person(groups=())
    with pytest.raises(ForbiddenError):
        await lib.prepare_version_upload(lib.AddDocumentVersion(reader, document.id, b""), uow)
    with pytest.raises(VersionConflictError):
        await lib.prepare_version_upload(
            lib.AddDocumentVersion(uploader, document.id, b"", expected_version=2), uow)


async def test_a_download_is_of_a_visible_document_and_an_existing_version() -> None:
    uow = fake_uow()
    shared = await folder(uow)
    document, _ = await lib.upload_document(upload_cmd(person(), shared.id), uow)
    await lib.add_document_version(lib.AddDocumentVersion(ADMIN, document.id, PDF + b"2"), uow)
    _, latest = await lib.version_file(lib.VersionFile(person(), document.id), uow)
    assert latest.version.number == 2
    _, first = await lib.version_file(lib.VersionFile(person(), document.id, 1), uow)
    assert first.inline == PDF
    with pytest.raises(InvalidInput):
        await lib.version_file(lib.VersionFile(person(), document.id, 3), uow)
    with pytest.raises(NotFoundError):
        await lib.version_file(lib.VersionFile(person(org=uuid.uuid4()), document.id), uow)
    await lib.set_document_access(lib.SetDocumentAccess(ADMIN, document.id, ("legal",)), uow)
    with pytest.raises(NotFoundError):
        await lib.version_file(lib.VersionFile(person(), document.id), uow)

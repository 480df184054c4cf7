"""The document library: folders and documents, their versions and access rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from crmkit.auth import Caller
from crmkit.contracts import documents as contract
from crmkit.errors import ForbiddenError, InvalidInput, ProblemCollector, VersionConflictError
from crmkit.paging import Page, page_of, page_request
from services.documents import domain as d
from services.documents.handlers.common import (
    Work,
    now,
    visible_document,
    visible_documents,
    visible_folder,
    wrap,
)

# --- folders ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateFolder:
    caller: Caller
    name: str
    allowed_groups: Sequence[str] = ()


async def create_folder(cmd: CreateFolder, uow: Work) -> d.Folder:
    d.require_library_manager(cmd.caller, "create folders")
    problems = ProblemCollector()
    name = d.clean_name(cmd.name, "name", problems, d.MAX_NAME_LENGTH)
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    problems.raise_if_any()
    at = now()
    folder = d.Folder(
        id=uuid.uuid4(),
        org_id=cmd.caller.org_id,
        name=name,
        allowed_groups=tuple(groups),
        version=1,
        created_by=cmd.caller.member_id,
        created_at=at,
        updated_at=at,
    )
    async with uow:
        # The lookup answers the common case; add_folder the race of two creates.
        if await uow.repo.folder_name_taken(folder.org_id, name) or not (
            await uow.repo.add_folder(folder)
        ):
            raise InvalidInput.field("name", "a folder with this name exists")
        uow.emit(
            wrap(
                contract.FolderCreated(folder_id=folder.id, name=name, allowed_groups=groups),
                cmd.caller,
                folder.id,
                folder.version,
            )
        )
        await uow.commit()
    return folder


@dataclass(frozen=True)
class SetFolderAccess:
    caller: Caller
    folder_id: uuid.UUID
    allowed_groups: Sequence[str]
    expected_version: int | None = None


async def set_folder_access(cmd: SetFolderAccess, uow: Work) -> d.Folder:
    d.require_library_manager(cmd.caller, "change folder access")
    problems = ProblemCollector()
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    problems.raise_if_any()
    async with uow:
        folder = await visible_folder(uow.repo, cmd.caller, cmd.folder_id, lock=True)
        if cmd.expected_version is not None and cmd.expected_version != folder.version:
            raise VersionConflictError("Folder", cmd.expected_version, folder.version)
        folder = await uow.repo.set_folder_groups(folder, groups, now())
        uow.emit(
            wrap(
                contract.FolderAccessChanged(folder_id=folder.id, allowed_groups=groups),
                cmd.caller,
                folder.id,
                folder.version,
            )
        )
        await uow.commit()
    return folder


@dataclass(frozen=True)
class ListFolders:
    caller: Caller


async def list_folders(query: ListFolders, uow: Work) -> list[d.Folder]:
    async with uow:
        return await uow.repo.visible_folders(query.caller)


@dataclass(frozen=True)
class FoldersById:
    caller: Caller
    ids: Sequence[uuid.UUID]


async def folders_by_id(query: FoldersById, uow: Work) -> dict[uuid.UUID, d.Folder]:
    """The folders among ``ids`` the caller sees."""
    async with uow:
        found = await uow.repo.folders(query.caller.org_id, query.ids)
    return {f.id: f for f in found if d.sees(query.caller, f.allowed_groups)}


# --- documents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadDocument:
    caller: Caller
    folder_id: uuid.UUID
    name: str
    kind: d.DocumentKind
    content: bytes
    media_type: str = "text/plain"
    allowed_groups: Sequence[str] = ()


async def upload_document(
    cmd: UploadDocument, uow: Work
) -> tuple[d.Document, d.DocumentVersion]:
    """Anyone who sees the folder may upload; restricting a document to groups is access
    management, so only managers may pass ``allowed_groups``."""
    problems = ProblemCollector()
    name = d.clean_name(cmd.name, "name", problems, d.MAX_NAME_LENGTH)
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    content = d.check_content(cmd.content, cmd.media_type, cmd.kind, problems)
    problems.raise_if_any()
    if groups:
        d.require_library_manager(cmd.caller, "restrict a document to groups")
    at = now()
    async with uow:
        folder = await visible_folder(uow.repo, cmd.caller, cmd.folder_id, lock=True)
        document = d.Document(
            id=uuid.uuid4(),
            org_id=cmd.caller.org_id,
            folder_id=folder.id,
            name=name,
            kind=cmd.kind,
            allowed_groups=tuple(groups),
            current_version=1,
            created_by=cmd.caller.member_id,
            created_at=at,
            updated_at=at,
        )
        await uow.repo.add_document(document)
        version = await uow.repo.add_version(document, 1, content, cmd.caller.member_id, at)
        uow.emit(
            wrap(
                contract.DocumentCreated(
                    document_id=document.id,
                    folder_id=folder.id,
                    name=name,
                    kind=cmd.kind.value,
                    allowed_groups=groups,
                    version=1,
                    media_type=content.media_type,
                    size_bytes=content.size,
                    sha256=content.sha256,
                ),
                cmd.caller,
                document.id,
                1,
            )
        )
        await uow.commit()
    return document, version


@dataclass(frozen=True)
class AddDocumentVersion:
    caller: Caller
    document_id: uuid.UUID
    content: bytes
    media_type: str | None = None
    expected_version: int | None = None


async def add_document_version(
    cmd: AddDocumentVersion, uow: Work
) -> tuple[d.Document, d.DocumentVersion]:
    """Managers, and the member who uploaded the document, add versions to it."""
    async with uow:
        document = await visible_document(uow.repo, cmd.caller, cmd.document_id, lock=True)
        if not cmd.caller.is_manager and document.created_by != cmd.caller.member_id:
            raise ForbiddenError("only managers and the uploader may add versions")
        if cmd.expected_version is not None and cmd.expected_version != document.current_version:
            raise VersionConflictError("Document", cmd.expected_version, document.current_version)
        media_type = cmd.media_type
        if media_type is None:
            latest = await uow.repo.versions(document.org_id, document.id)
            media_type = latest[0].media_type
        problems = ProblemCollector()
        content = d.check_content(cmd.content, media_type, document.kind, problems)
        problems.raise_if_any()
        at = now()
        number = document.current_version + 1
        version = await uow.repo.add_version(document, number, content, cmd.caller.member_id, at)
        document = await uow.repo.bump_document_version(document, at)
        uow.emit(
            wrap(
                contract.DocumentVersionAdded(
                    document_id=document.id,
                    folder_id=document.folder_id,
                    version=number,
                    media_type=content.media_type,
                    size_bytes=content.size,
                    sha256=content.sha256,
                ),
                cmd.caller,
                document.id,
                number,
            )
        )
        await uow.commit()
    return document, version


@dataclass(frozen=True)
class SetDocumentAccess:
    caller: Caller
    document_id: uuid.UUID
    allowed_groups: Sequence[str]


async def set_document_access(cmd: SetDocumentAccess, uow: Work) -> d.Document:
    d.require_library_manager(cmd.caller, "change document access")
    problems = ProblemCollector()
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    problems.raise_if_any()
    async with uow:
        document = await visible_document(uow.repo, cmd.caller, cmd.document_id, lock=True)
        document = await uow.repo.set_document_groups(document, groups, now())
        uow.emit(
            wrap(
                contract.DocumentAccessChanged(
                    document_id=document.id, folder_id=document.folder_id, allowed_groups=groups
                ),
                cmd.caller,
                document.id,
                document.current_version,
            )
        )
        await uow.commit()
    return document


@dataclass(frozen=True)
class ListDocuments:
    caller: Caller
    folder_id: uuid.UUID | None = None
    kind: d.DocumentKind | None = None
    first: int | None = None
    after: str | None = None


async def list_documents(query: ListDocuments, uow: Work) -> Page[d.Document]:
    """Documents the caller sees, oldest first, a keyset page at a time."""
    page = page_request(query.first, query.after)
    async with uow:
        rows = await uow.repo.visible_documents(
            query.caller, folder_id=query.folder_id, kind=query.kind, page=page
        )
    return page_of(rows, page, key=lambda document: (document.created_at, document.id))


@dataclass(frozen=True)
class DocumentsById:
    caller: Caller
    ids: Sequence[uuid.UUID]


async def documents_by_id(query: DocumentsById, uow: Work) -> dict[uuid.UUID, d.Document]:
    """The documents among ``ids`` the caller sees."""
    async with uow:
        return await visible_documents(uow.repo, query.caller, query.ids)


@dataclass(frozen=True)
class DocumentVersions:
    caller: Caller
    document_id: uuid.UUID


async def document_versions(query: DocumentVersions, uow: Work) -> list[d.DocumentVersion]:
    """Every version of a document the caller sees, newest first (none of a hidden one)."""
    async with uow:
        if not await visible_documents(uow.repo, query.caller, [query.document_id]):
            return []
        return await uow.repo.versions(query.caller.org_id, query.document_id)


@dataclass(frozen=True)
class VersionContent:
    caller: Caller
    document_id: uuid.UUID
    number: int


async def version_content(query: VersionContent, uow: Work) -> d.Content | None:
    """The bytes of one version of a document the caller sees."""
    async with uow:
        if not await visible_documents(uow.repo, query.caller, [query.document_id]):
            return None
        return await uow.repo.version_content(
            query.caller.org_id, query.document_id, query.number
        )

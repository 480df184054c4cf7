"""The document library: folders and documents, their versions and access rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from crmkit.auth import Caller
from crmkit.commands import ById, Command
from crmkit.contracts import documents as contract
from crmkit.errors import InvalidInput, ProblemCollector, VersionConflictError
from crmkit.paging import Page, page_of, page_request
from services.documents import domain as d
from services.documents.handlers.common import (
    Work,
    now,
    visible_document,
    visible_documents,
    visible_folder,
    visible_folders_by_id,
    wrap,
    writable_folder,
)

# --- folders ------------------------------------------------------------------------------


class CreateFolder(Command):
    name: str
    allowed_groups: Sequence[str] = ()
    write_groups: Sequence[str] = ()
    parent_id: uuid.UUID | None = None


async def create_folder(cmd: CreateFolder, uow: Work) -> d.Folder:
    d.require_library_manager(cmd.caller, "create folders")
    problems = ProblemCollector()
    name = d.clean_name(cmd.name, "name", problems, d.MAX_NAME_LENGTH)
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    writers = d.clean_groups(cmd.write_groups, "writeGroups", problems)
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
        parent_id=cmd.parent_id,
        write_groups=tuple(writers),
    )
    async with uow:
        if cmd.parent_id is not None:
            await _parent(uow, cmd.caller, cmd.parent_id, folder)
        # The lookup answers the common case; add_folder the race of two creates.
        if await uow.repo.folder_name_taken(folder.org_id, name) or not (
            await uow.repo.add_folder(folder)
        ):
            raise InvalidInput.field("name", "a folder with this name exists")
        uow.emit(
            wrap(
                contract.FolderCreated(folder_id=folder.id, name=name, allowed_groups=groups,
                                       write_groups=writers, parent_id=folder.parent_id),
                cmd.caller,
                folder.id,
                folder.version,
            )
        )
        await uow.commit()
    return folder


async def _parent(uow: Work, caller: Caller, parent_id: uuid.UUID, child: d.Folder) -> d.Folder:
    """The folder ``child`` may be nested in: a top-level folder the caller sees, not the
    child itself, not archived; and the child must have no subfolders (one level only)."""
    if parent_id == child.id:
        raise InvalidInput.field("parentId", "a folder cannot be its own parent")
    parent = await visible_folder(uow.repo, caller, parent_id)
    if parent.parent_id is not None:
        raise InvalidInput.field("parentId", "folders nest one level: the parent is a subfolder")
    if parent.archived_at is not None:
        raise InvalidInput.field("parentId", "the parent folder is archived")
    if await uow.repo.has_subfolders(child.org_id, child.id):
        raise InvalidInput.field("parentId", "folders nest one level: this folder has subfolders")
    return parent


def _expect(folder: d.Folder, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != folder.version:
        raise VersionConflictError("Folder", expected_version, folder.version)


class SetFolderAccess(Command):
    folder_id: uuid.UUID
    allowed_groups: Sequence[str]
    expected_version: int | None = None
    write_groups: Sequence[str] | None = None  # None: unchanged


async def set_folder_access(cmd: SetFolderAccess, uow: Work) -> d.Folder:
    d.require_library_manager(cmd.caller, "change folder access")
    problems = ProblemCollector()
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    writers = (
        None if cmd.write_groups is None
        else d.clean_groups(cmd.write_groups, "writeGroups", problems)
    )
    problems.raise_if_any()
    async with uow:
        folder = await visible_folder(uow.repo, cmd.caller, cmd.folder_id, lock=True)
        _expect(folder, cmd.expected_version)
        folder = await uow.repo.save_folder(
            replace(
                folder,
                allowed_groups=tuple(groups),
                write_groups=folder.write_groups if writers is None else tuple(writers),
            ),
            now(),
        )
        uow.emit(
            wrap(
                contract.FolderAccessChanged(folder_id=folder.id, allowed_groups=groups,
                                             write_groups=list(folder.write_groups)),
                cmd.caller,
                folder.id,
                folder.version,
            )
        )
        await uow.commit()
    return folder


class ChangeFolder(Command):
    """Rename, nest (``parent_id``; ``unnest`` makes it top-level) or archive a folder; what
    is None stays as it is."""

    folder_id: uuid.UUID
    name: str | None = None
    parent_id: uuid.UUID | None = None
    unnest: bool = False
    archived: bool | None = None
    expected_version: int | None = None


async def change_folder(cmd: ChangeFolder, uow: Work) -> d.Folder:
    d.require_library_manager(cmd.caller, "change folders")
    problems = ProblemCollector()
    name = None if cmd.name is None else d.clean_name(cmd.name, "name", problems,
                                                      d.MAX_NAME_LENGTH)
    if cmd.unnest and cmd.parent_id is not None:
        problems.add("parentId", "give a parent or make the folder top-level, not both")
    problems.raise_if_any()
    at = now()
    async with uow:
        folder = await visible_folder(uow.repo, cmd.caller, cmd.folder_id, lock=True)
        _expect(folder, cmd.expected_version)
        changed = folder
        if name is not None and name != folder.name:
            if name.lower() != folder.name.lower() and await uow.repo.folder_name_taken(
                folder.org_id, name
            ):
                raise InvalidInput.field("name", "a folder with this name exists")
            changed = replace(changed, name=name)
        if cmd.parent_id is not None and cmd.parent_id != folder.parent_id:
            await _parent(uow, cmd.caller, cmd.parent_id, folder)
            changed = replace(changed, parent_id=cmd.parent_id)
        if cmd.unnest:
            changed = replace(changed, parent_id=None)
        if cmd.archived is not None and cmd.archived != (folder.archived_at is not None):
            changed = replace(
                changed,
                archived_at=at if cmd.archived else None,
                archived_by=cmd.caller.member_id if cmd.archived else None,
            )
        if changed == folder:
            return folder
        folder = await uow.repo.save_folder(changed, at)
        uow.emit(
            wrap(
                contract.FolderChanged(folder_id=folder.id, name=folder.name,
                                       parent_id=folder.parent_id,
                                       archived=folder.archived_at is not None),
                cmd.caller,
                folder.id,
                folder.version,
            )
        )
        await uow.commit()
    return folder


class ListFolders(Command):
    include_archived: bool = False


async def list_folders(query: ListFolders, uow: Work) -> list[d.Folder]:
    async with uow:
        return await uow.repo.visible_folders(
            query.caller, include_archived=query.include_archived
        )


async def folders_by_id(query: ById, uow: Work) -> dict[uuid.UUID, d.Folder]:
    """The folders among ``ids`` the caller sees."""
    async with uow:
        return await visible_folders_by_id(uow.repo, query.caller, query.ids)


# --- documents ----------------------------------------------------------------------------


class UploadDocument(Command):
    folder_id: uuid.UUID
    name: str
    kind: d.DocumentKind
    content: bytes | d.StagedFile
    media_type: str = "text/plain"
    allowed_groups: Sequence[str] = ()


@dataclass(frozen=True)
class PreparedUpload:
    """An upload's checked fields, before its bytes arrive (what a signed URL carries)."""

    folder_id: uuid.UUID
    name: str
    kind: d.DocumentKind
    media_type: str
    allowed_groups: tuple[str, ...]


def _check_upload(cmd: UploadDocument, problems: ProblemCollector) -> tuple[str, list[str]]:
    name = d.clean_name(cmd.name, "name", problems, d.MAX_NAME_LENGTH)
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    return name, groups


async def prepare_upload(cmd: UploadDocument, uow: Work) -> PreparedUpload:
    """Every check of :func:`upload_document` that needs no bytes (``cmd.content`` is
    ignored), so a signed upload URL is refused now rather than after 50 MB arrive."""
    problems = ProblemCollector()
    name, groups = _check_upload(cmd, problems)
    media = cmd.media_type.strip().lower()
    if not d.MEDIA_TYPE.match(media.split(";", 1)[0].strip()):
        problems.add("mediaType", "must be a media type such as text/markdown")
    problems.raise_if_any()
    if groups:
        d.require_library_manager(cmd.caller, "restrict a document to groups")
    async with uow:
        await writable_folder(uow.repo, cmd.caller, cmd.folder_id)
    return PreparedUpload(cmd.folder_id, name, cmd.kind, media, tuple(groups))


async def upload_document(
    cmd: UploadDocument, uow: Work
) -> tuple[d.Document, d.DocumentVersion]:
    """Those who may write in the folder upload into it; restricting a document to groups is
    access management, so only managers may pass ``allowed_groups``. The content's real type
    must be the declared one (:func:`services.documents.domain.check_sniffed`)."""
    problems = ProblemCollector()
    name, groups = _check_upload(cmd, problems)
    content = d.check_content(cmd.content, cmd.media_type, cmd.kind, problems)
    problems.raise_if_any()
    if groups:
        d.require_library_manager(cmd.caller, "restrict a document to groups")
    content = d.check_sniffed(content)
    at = now()
    async with uow:
        folder = await writable_folder(uow.repo, cmd.caller, cmd.folder_id, lock=True)
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


class AddDocumentVersion(Command):
    document_id: uuid.UUID
    content: bytes | d.StagedFile
    media_type: str | None = None
    expected_version: int | None = None


async def _versioned_document(cmd: AddDocumentVersion, uow: Work, *, lock: bool) -> d.Document:
    document = await visible_document(uow.repo, cmd.caller, cmd.document_id, lock=lock)
    await writable_folder(uow.repo, cmd.caller, document.folder_id)
    if cmd.expected_version is not None and cmd.expected_version != document.current_version:
        raise VersionConflictError("Document", cmd.expected_version, document.current_version)
    return document


async def _media_type(cmd: AddDocumentVersion, document: d.Document, uow: Work) -> str:
    if cmd.media_type is not None:
        return cmd.media_type
    latest = await uow.repo.versions(document.org_id, document.id)
    return latest[0].media_type


async def prepare_version_upload(cmd: AddDocumentVersion, uow: Work) -> str:
    """Every check of :func:`add_document_version` that needs no bytes; the media type the
    new version is declared as."""
    async with uow:
        document = await _versioned_document(cmd, uow, lock=False)
        media = (await _media_type(cmd, document, uow)).strip().lower()
    if not d.MEDIA_TYPE.match(media.split(";", 1)[0].strip()):
        raise InvalidInput.field("mediaType", "must be a media type such as text/markdown")
    return media


async def add_document_version(
    cmd: AddDocumentVersion, uow: Work
) -> tuple[d.Document, d.DocumentVersion]:
    """Those who may write in the document's folder add versions to it."""
    async with uow:
        document = await _versioned_document(cmd, uow, lock=True)
        media_type = await _media_type(cmd, document, uow)
        problems = ProblemCollector()
        content = d.check_content(cmd.content, media_type, document.kind, problems)
        problems.raise_if_any()
        content = d.check_sniffed(content)
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


class SetDocumentAccess(Command):
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


class ChangeDocument(Command):
    """Rename a document or move it to another folder (what is None stays as it is): those
    who may write in its folder, and in the folder it moves to."""

    document_id: uuid.UUID
    name: str | None = None
    folder_id: uuid.UUID | None = None


async def change_document(cmd: ChangeDocument, uow: Work) -> d.Document:
    problems = ProblemCollector()
    name = None if cmd.name is None else d.clean_name(cmd.name, "name", problems,
                                                      d.MAX_NAME_LENGTH)
    problems.raise_if_any()
    async with uow:
        document = await visible_document(uow.repo, cmd.caller, cmd.document_id, lock=True)
        await writable_folder(uow.repo, cmd.caller, document.folder_id)
        changed = document
        if name is not None:
            changed = replace(changed, name=name)
        if cmd.folder_id is not None and cmd.folder_id != document.folder_id:
            target = await writable_folder(uow.repo, cmd.caller, cmd.folder_id)
            changed = replace(changed, folder_id=target.id)
        if changed == document:
            return document
        document = await uow.repo.save_document(changed, now())
        uow.emit(
            wrap(
                contract.DocumentChanged(document_id=document.id, folder_id=document.folder_id,
                                         name=document.name),
                cmd.caller,
                document.id,
                document.current_version,
            )
        )
        await uow.commit()
    return document


class DeleteDocument(Command):
    document_id: uuid.UUID


async def delete_document(cmd: DeleteDocument, uow: Work) -> d.Document:
    """Soft: the document and its versions stay, marked with who deleted it and when, and no
    one finds it any more (managers list what was deleted)."""
    at = now()
    async with uow:
        document = await visible_document(uow.repo, cmd.caller, cmd.document_id, lock=True)
        await writable_folder(uow.repo, cmd.caller, document.folder_id)
        document = await uow.repo.save_document(
            replace(document, deleted_at=at, deleted_by=cmd.caller.member_id), at
        )
        uow.emit(
            wrap(
                contract.DocumentDeleted(document_id=document.id, folder_id=document.folder_id),
                cmd.caller,
                document.id,
                document.current_version,
            )
        )
        await uow.commit()
    return document


class ListDocuments(Command):
    folder_id: uuid.UUID | None = None
    kind: d.DocumentKind | None = None
    first: int | None = None
    after: str | None = None
    deleted: bool = False


async def list_documents(query: ListDocuments, uow: Work) -> Page[d.Document]:
    """Documents the caller sees, oldest first, a keyset page at a time; ``deleted``: the
    deleted ones instead (managers only)."""
    if query.deleted:
        d.require_library_manager(query.caller, "list deleted documents")
    page = page_request(query.first, query.after)
    async with uow:
        rows = await uow.repo.visible_documents(
            query.caller, folder_id=query.folder_id, kind=query.kind, page=page,
            deleted=query.deleted,
        )
    return page_of(rows, page, key=lambda document: (document.created_at, document.id))


async def documents_by_id(query: ById, uow: Work) -> dict[uuid.UUID, d.Document]:
    """The documents among ``ids`` the caller sees."""
    async with uow:
        return await visible_documents(uow.repo, query.caller, query.ids)


class DocumentVersions(Command):
    document_id: uuid.UUID


async def document_versions(query: DocumentVersions, uow: Work) -> list[d.DocumentVersion]:
    """Every version of a document the caller sees, newest first (none of a hidden one)."""
    async with uow:
        if not await visible_documents(uow.repo, query.caller, [query.document_id]):
            return []
        return await uow.repo.versions(query.caller.org_id, query.document_id)


class VersionContent(Command):
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


class VersionFile(Command):
    document_id: uuid.UUID
    number: int | None = None  # None: the latest


async def version_file(query: VersionFile, uow: Work) -> tuple[d.Document, d.StoredFile]:
    """A version of a document the caller sees, and where its bytes are (to stream them)."""
    async with uow:
        document = await visible_document(uow.repo, query.caller, query.document_id)
        number = document.current_version if query.number is None else query.number
        found = await uow.repo.version_file(document.org_id, document.id, number)
    if found is None:
        raise InvalidInput.field("version", f"the document has no version {number}")
    return document, found

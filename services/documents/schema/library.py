"""The document library in GraphQL: the queries and mutations that read and change folders
(:mod:`.folders`), documents with their versions (:mod:`.documents`) and their files
(:mod:`.files`). Thin: resolvers call the handlers."""

from __future__ import annotations

import strawberry

from crmkit.graphql import Connection, parse_uuid
from crmkit.references import load_entity
from crmkit.results import answer_mutation, answer_query
from services.documents import domain as d
from services.documents.handlers import library as h
from services.documents.handlers.common import now
from services.documents.schema.context import Info, caller, signer, uow
from services.documents.schema.documents import (
    UPLOAD_ERRORS,
    AddDocumentVersionPayload,
    AddDocumentVersionResult,
    ChangeDocumentPayload,
    ChangeDocumentResult,
    ContentEncoding,
    Document,
    DocumentVersion,
    SetDocumentAccessPayload,
    SetDocumentAccessResult,
    UploadDocumentPayload,
    UploadDocumentResult,
    content_bytes,
)
from services.documents.schema.files import (
    FileDownload,
    RequestDownloadPayload,
    RequestDownloadResult,
    RequestUploadPayload,
    RequestUploadResult,
    upload_of,
)
from services.documents.schema.folders import (
    ChangeFolderPayload,
    ChangeFolderResult,
    CreateFolderPayload,
    CreateFolderResult,
    Folder,
    SetFolderAccessPayload,
    SetFolderAccessResult,
    folders_by_id,
)
from services.documents.signing import Action


@strawberry.type
class LibraryQuery:
    @strawberry.field(description="Folders the caller may see, by name.")  # type: ignore[untyped-decorator]
    async def folders(self, info: Info, include_archived: bool = False) -> list[Folder]:
        query = h.ListFolders(caller(info), include_archived)
        return [Folder.of(f) for f in await h.list_folders(query, uow(info))]

    @strawberry.field
    async def folder(self, info: Info, id: strawberry.ID) -> Folder | None:
        folder = await load_entity(info, folders_by_id, id)
        return Folder.of(folder) if folder else None

    @strawberry.field(description="Documents the caller may see, oldest first.")  # type: ignore[untyped-decorator]
    async def documents(
        self,
        info: Info,
        folder_id: strawberry.ID | None = None,
        kind: d.DocumentKind | None = None,
        first: int | None = None,
        after: str | None = None,
        deleted: bool = False,
    ) -> Connection[Document]:
        async def run() -> Connection[Document]:
            query = h.ListDocuments(
                caller=caller(info),
                folder_id=None if folder_id is None else parse_uuid(folder_id, "folderId"),
                kind=kind,
                first=first,
                after=after,
                deleted=deleted,
            )
            return Connection.of(await h.list_documents(query, uow(info)), Document.of)

        return await answer_query(run())

    @strawberry.field
    async def document(self, info: Info, id: strawberry.ID) -> Document | None:
        return await Document.resolve_reference(info, id)


REQUEST_UPLOAD = (
    "A signed URL to PUT a new document's bytes to: at most 50 MB, whose real type must be "
    "mediaType (an executable never is)."
)
MOVE_FOLDER = "Nest a folder in a top-level one (one level), or make it top-level (parentId null)."
ARCHIVE_FOLDER = "Archive a folder (read only, left out of the list) or bring it back."
DELETE_DOCUMENT = "Soft: the document is kept, with who deleted it and when, and found by no one."
REQUEST_VERSION_UPLOAD = "A signed URL to PUT a document's next version to."
REQUEST_DOWNLOAD = "A signed URL to GET a version's bytes from (the latest without version)."


@strawberry.type
class LibraryMutation:
    @strawberry.mutation
    async def create_folder(
        self,
        info: Info,
        name: str,
        allowed_groups: list[str] | None = None,
        write_groups: list[str] | None = None,
        parent_id: strawberry.ID | None = None,
    ) -> CreateFolderResult:
        async def run() -> CreateFolderPayload:
            cmd = h.CreateFolder(
                caller(info), name, tuple(allowed_groups or ()), tuple(write_groups or ()),
                None if parent_id is None else parse_uuid(parent_id, "parentId"),
            )
            return CreateFolderPayload(folder=Folder.of(await h.create_folder(cmd, uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation
    async def set_folder_access(
        self,
        info: Info,
        folder_id: strawberry.ID,
        allowed_groups: list[str],
        expected_version: int | None = None,
        write_groups: list[str] | None = None,
    ) -> SetFolderAccessResult:
        async def run() -> SetFolderAccessPayload:
            cmd = h.SetFolderAccess(
                caller(info),
                parse_uuid(folder_id, "folderId"),
                tuple(allowed_groups),
                expected_version,
                None if write_groups is None else tuple(write_groups),
            )
            folder = await h.set_folder_access(cmd, uow(info))
            return SetFolderAccessPayload(folder=Folder.of(folder))

        return await answer_mutation(run())

    @strawberry.mutation(description="Upload a document with its first version.")  # type: ignore[untyped-decorator]
    async def upload_document(
        self,
        info: Info,
        folder_id: strawberry.ID,
        name: str,
        kind: d.DocumentKind,
        content: str,
        content_encoding: ContentEncoding = ContentEncoding.TEXT,
        media_type: str = "text/plain",
        allowed_groups: list[str] | None = None,
    ) -> UploadDocumentResult:
        async def run() -> UploadDocumentPayload:
            cmd = h.UploadDocument(
                caller=caller(info),
                folder_id=parse_uuid(folder_id, "folderId"),
                name=name,
                kind=kind,
                content=content_bytes(content, content_encoding),
                media_type=media_type,
                allowed_groups=tuple(allowed_groups or ()),
            )
            document, version = await h.upload_document(cmd, uow(info))
            return UploadDocumentPayload(
                document=Document.of(document), version=DocumentVersion.of(version)
            )

        return await UPLOAD_ERRORS.answer(run())

    @strawberry.mutation(description="Store new content as the document's next version.")  # type: ignore[untyped-decorator]
    async def add_document_version(
        self,
        info: Info,
        document_id: strawberry.ID,
        content: str,
        content_encoding: ContentEncoding = ContentEncoding.TEXT,
        media_type: str | None = None,
        expected_version: int | None = None,
    ) -> AddDocumentVersionResult:
        async def run() -> AddDocumentVersionPayload:
            cmd = h.AddDocumentVersion(
                caller=caller(info),
                document_id=parse_uuid(document_id, "documentId"),
                content=content_bytes(content, content_encoding),
                media_type=media_type,
                expected_version=expected_version,
            )
            document, version = await h.add_document_version(cmd, uow(info))
            return AddDocumentVersionPayload(
                document=Document.of(document), version=DocumentVersion.of(version)
            )

        return await UPLOAD_ERRORS.answer(run())

    @strawberry.mutation
    async def set_document_access(
        self, info: Info, document_id: strawberry.ID, allowed_groups: list[str]
    ) -> SetDocumentAccessResult:
        async def run() -> SetDocumentAccessPayload:
            cmd = h.SetDocumentAccess(
                caller(info), parse_uuid(document_id, "documentId"), tuple(allowed_groups)
            )
            document = await h.set_document_access(cmd, uow(info))
            return SetDocumentAccessPayload(document=Document.of(document))

        return await answer_mutation(run())

    @strawberry.mutation(description=REQUEST_UPLOAD)  # type: ignore[untyped-decorator]
    async def request_document_upload(
        self,
        info: Info,
        folder_id: strawberry.ID,
        name: str,
        kind: d.DocumentKind,
        media_type: str,
        allowed_groups: list[str] | None = None,
    ) -> RequestUploadResult:
        async def run() -> RequestUploadPayload:
            who = caller(info)
            cmd = h.UploadDocument(
                caller=who,
                folder_id=parse_uuid(folder_id, "folderId"),
                name=name,
                kind=kind,
                content=b"",
                media_type=media_type,
                allowed_groups=tuple(allowed_groups or ()),
            )
            ready = await h.prepare_upload(cmd, uow(info))
            grant = signer(info).grant(
                Action.UPLOAD, who, now(), folderId=str(ready.folder_id), name=ready.name,
                kind=ready.kind.value, mediaType=ready.media_type,
                allowedGroups=list(ready.allowed_groups),
            )
            return RequestUploadPayload(upload=upload_of(info, grant))

        return await answer_mutation(run())

    @strawberry.mutation(description=REQUEST_VERSION_UPLOAD)  # type: ignore[untyped-decorator]
    async def request_document_version_upload(
        self,
        info: Info,
        document_id: strawberry.ID,
        media_type: str | None = None,
        expected_version: int | None = None,
    ) -> RequestUploadResult:
        async def run() -> RequestUploadPayload:
            who = caller(info)
            cmd = h.AddDocumentVersion(
                caller=who,
                document_id=parse_uuid(document_id, "documentId"),
                content=b"",
                media_type=media_type,
                expected_version=expected_version,
            )
            media = await h.prepare_version_upload(cmd, uow(info))
            grant = signer(info).grant(
                Action.ADD_VERSION, who, now(), documentId=str(cmd.document_id),
                mediaType=media, expectedVersion=expected_version,
            )
            return RequestUploadPayload(upload=upload_of(info, grant))

        return await answer_mutation(run())

    @strawberry.mutation(description=REQUEST_DOWNLOAD)  # type: ignore[untyped-decorator]
    async def request_document_download(
        self, info: Info, document_id: strawberry.ID, version: int | None = None
    ) -> RequestDownloadResult:
        async def run() -> RequestDownloadPayload:
            who = caller(info)
            query = h.VersionFile(who, parse_uuid(document_id, "documentId"), version)
            _, stored = await h.version_file(query, uow(info))
            found = stored.version
            grant = signer(info).grant(
                Action.DOWNLOAD, who, now(), documentId=str(found.document_id),
                version=found.number,
            )
            return RequestDownloadPayload(
                download=FileDownload(
                    url=signer(info).sign(grant),
                    expires_at=grant.expires_at,
                    version=found.number,
                    media_type=found.media_type,
                    size_bytes=found.size_bytes,
                    sha256=found.sha256,
                )
            )

        return await answer_mutation(run())

    @strawberry.mutation
    async def rename_folder(
        self, info: Info, folder_id: strawberry.ID, name: str, expected_version: int | None = None
    ) -> ChangeFolderResult:
        async def run() -> ChangeFolderPayload:
            return await change_folder(info, h.ChangeFolder(
                caller(info), parse_uuid(folder_id, "folderId"), name=name,
                expected_version=expected_version))

        return await answer_mutation(run())

    @strawberry.mutation(description=MOVE_FOLDER)  # type: ignore[untyped-decorator]
    async def move_folder(
        self,
        info: Info,
        folder_id: strawberry.ID,
        parent_id: strawberry.ID | None,
        expected_version: int | None = None,
    ) -> ChangeFolderResult:
        async def run() -> ChangeFolderPayload:
            return await change_folder(info, h.ChangeFolder(
                caller(info), parse_uuid(folder_id, "folderId"),
                parent_id=None if parent_id is None else parse_uuid(parent_id, "parentId"),
                unnest=parent_id is None, expected_version=expected_version))

        return await answer_mutation(run())

    @strawberry.mutation(description=ARCHIVE_FOLDER)  # type: ignore[untyped-decorator]
    async def archive_folder(
        self,
        info: Info,
        folder_id: strawberry.ID,
        archived: bool = True,
        expected_version: int | None = None,
    ) -> ChangeFolderResult:
        async def run() -> ChangeFolderPayload:
            return await change_folder(info, h.ChangeFolder(
                caller(info), parse_uuid(folder_id, "folderId"), archived=archived,
                expected_version=expected_version))

        return await answer_mutation(run())

    @strawberry.mutation
    async def rename_document(
        self, info: Info, document_id: strawberry.ID, name: str
    ) -> ChangeDocumentResult:
        async def run() -> ChangeDocumentPayload:
            cmd = h.ChangeDocument(caller(info), parse_uuid(document_id, "documentId"), name=name)
            return ChangeDocumentPayload(document=Document.of(await h.change_document(cmd,
                                                                                     uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation
    async def move_document(
        self, info: Info, document_id: strawberry.ID, folder_id: strawberry.ID
    ) -> ChangeDocumentResult:
        async def run() -> ChangeDocumentPayload:
            cmd = h.ChangeDocument(caller(info), parse_uuid(document_id, "documentId"),
                                   folder_id=parse_uuid(folder_id, "folderId"))
            return ChangeDocumentPayload(document=Document.of(await h.change_document(cmd,
                                                                                     uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation(description=DELETE_DOCUMENT)  # type: ignore[untyped-decorator]
    async def delete_document(self, info: Info, document_id: strawberry.ID) -> ChangeDocumentResult:
        async def run() -> ChangeDocumentPayload:
            cmd = h.DeleteDocument(caller(info), parse_uuid(document_id, "documentId"))
            return ChangeDocumentPayload(document=Document.of(await h.delete_document(cmd,
                                                                                     uow(info))))

        return await answer_mutation(run())


async def change_folder(info: Info, cmd: h.ChangeFolder) -> ChangeFolderPayload:
    return ChangeFolderPayload(folder=Folder.of(await h.change_folder(cmd, uow(info))))

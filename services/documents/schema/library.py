"""The document library in GraphQL: folders, documents and their versions, with the queries
and mutations that read and change them. Thin: resolvers call the handlers."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from graphql import GraphQLError

from crmkit.errors import DomainError, InvalidInput
from crmkit.graphql import (
    CommonError,
    Forbidden,
    GraphQLContext,
    NotFound,
    PageInfo,
    ValidationError,
    VersionConflict,
    parse_uuid,
)
from crmkit.references import load_entity
from crmkit.results import ErrorUnion, answer_mutation, answer_query
from services.documents import domain as d
from services.documents import sniffing
from services.documents.handlers import library as h
from services.documents.handlers.common import now
from services.documents.schema.context import Info, caller, caller_of, signer, uow, uow_of
from services.documents.signing import Action, Grant

# The domain's enums are GraphQL's: no copy to keep in step.
strawberry.enum(d.DocumentKind)
strawberry.enum(sniffing.Refusal, name="ContentRefusal")


@strawberry.type(description="The content is not of its declared type, or is a program.")  # type: ignore[untyped-decorator]
class ContentRefused:
    message: str
    reason: sniffing.Refusal
    declared_type: str
    detected_type: str | None


def content_refused(error: DomainError) -> ContentRefused | None:
    if isinstance(error, sniffing.ContentRefused):
        return ContentRefused(message=error.message, reason=error.reason,
                              declared_type=error.declared, detected_type=error.detected)
    return None


UploadError = ValidationError | NotFound | Forbidden | VersionConflict | ContentRefused
UPLOAD_ERRORS: ErrorUnion[UploadError] = ErrorUnion(
    ValidationError, NotFound, Forbidden, VersionConflict, ContentRefused, own=content_refused
)


@strawberry.enum
class ContentEncoding(Enum):
    """How ``content`` is written in a mutation: plain text (stored as UTF-8) or base64."""

    TEXT = "TEXT"
    BASE64 = "BASE64"


def content_bytes(content: str, encoding: ContentEncoding) -> bytes:
    """Inline content: small files only (larger ones go over /files/, requestDocumentUpload)."""
    too_big = InvalidInput.field(
        "content", f"must be at most {d.MAX_CONTENT_BYTES} bytes (larger files: "
        "requestDocumentUpload)"
    )
    if len(content) > d.MAX_CONTENT_BYTES * 4 // 3 + 4:
        raise too_big
    if encoding is ContentEncoding.BASE64:
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput.field("content", "is not valid base64") from None
    else:
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput.field("content", "is not valid text") from None
    if len(data) > d.MAX_CONTENT_BYTES:
        raise too_big
    return data


async def folders_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Folder]:
    return await h.folders_by_id(h.FoldersById(caller_of(context), ids), uow_of(context))


async def documents_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Document]:
    return await h.documents_by_id(h.DocumentsById(caller_of(context), ids), uow_of(context))


# --- types --------------------------------------------------------------------------------


def optional_id(value: uuid.UUID | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type
class Folder:
    id: strawberry.ID
    name: str
    allowed_groups: list[str]
    version: int
    created_by: strawberry.ID
    created_at: datetime
    updated_at: datetime
    parent_id: strawberry.ID | None
    write_groups: list[str] = strawberry.field(
        description="Who writes in it besides managers (upload, versions, rename, move, delete)."
    )
    archived_at: datetime | None
    archived_by: strawberry.ID | None
    folder: strawberry.Private[d.Folder]

    @classmethod
    def of(cls, folder: d.Folder) -> Folder:
        return cls(
            id=strawberry.ID(str(folder.id)),
            name=folder.name,
            allowed_groups=list(folder.allowed_groups),
            version=folder.version,
            created_by=strawberry.ID(str(folder.created_by)),
            created_at=folder.created_at,
            updated_at=folder.updated_at,
            parent_id=optional_id(folder.parent_id),
            write_groups=list(folder.write_groups),
            archived_at=folder.archived_at,
            archived_by=optional_id(folder.archived_by),
            folder=folder,
        )

    @strawberry.field(description="Whether the caller may write in it (not archived).")  # type: ignore[untyped-decorator]
    def can_write(self, info: Info) -> bool:
        return self.folder.archived_at is None and d.writes_in(caller(info), self.folder)

    @strawberry.field
    async def parent(self, info: Info) -> Folder | None:
        if self.folder.parent_id is None:
            return None
        parent = await load_entity(info, folders_by_id, strawberry.ID(str(self.folder.parent_id)))
        return Folder.of(parent) if parent else None


@strawberry.type
class DocumentVersion:
    number: int
    media_type: str
    size_bytes: int
    sha256: str
    created_by: strawberry.ID
    created_at: datetime
    document_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, version: d.DocumentVersion) -> DocumentVersion:
        return cls(
            number=version.number,
            media_type=version.media_type,
            size_bytes=version.size_bytes,
            sha256=version.sha256,
            created_by=strawberry.ID(str(version.created_by)),
            created_at=version.created_at,
            document_id=version.document_id,
        )

    async def _content(self, info: Info) -> d.Content:
        query = h.VersionContent(caller(info), self.document_id, self.number)
        content = await h.version_content(query, uow(info))
        if content is None:  # only reachable through a visible document of the caller's org
            raise GraphQLError("document version not found", extensions={"code": "NOT_FOUND"})
        return content

    @strawberry.field(description="The content as text; null when it is not UTF-8.")  # type: ignore[untyped-decorator]
    async def text(self, info: Info) -> str | None:
        return (await self._content(info)).text()

    @strawberry.field(description="The content, base64-encoded.")  # type: ignore[untyped-decorator]
    async def base64(self, info: Info) -> str:
        return base64.b64encode((await self._content(info)).data).decode()


@strawberry.federation.type(keys=["id"])
class Document:
    id: strawberry.ID
    folder_id: strawberry.ID
    name: str
    kind: d.DocumentKind
    allowed_groups: list[str]
    current_version: int
    created_by: strawberry.ID
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    deleted_by: strawberry.ID | None

    @classmethod
    def of(cls, document: d.Document) -> Document:
        return cls(
            id=strawberry.ID(str(document.id)),
            folder_id=strawberry.ID(str(document.folder_id)),
            name=document.name,
            kind=document.kind,
            allowed_groups=list(document.allowed_groups),
            current_version=document.current_version,
            created_by=strawberry.ID(str(document.created_by)),
            created_at=document.created_at,
            updated_at=document.updated_at,
            deleted_at=document.deleted_at,
            deleted_by=optional_id(document.deleted_by),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Document | None:
        document = await load_entity(info, documents_by_id, id)
        return cls.of(document) if document else None

    @strawberry.field
    async def folder(self, info: Info) -> Folder | None:
        folder = await load_entity(info, folders_by_id, self.folder_id)
        return Folder.of(folder) if folder else None

    @strawberry.field(description="Every version, newest first.")  # type: ignore[untyped-decorator]
    async def versions(self, info: Info) -> list[DocumentVersion]:
        query = h.DocumentVersions(caller(info), uuid.UUID(self.id))
        return [DocumentVersion.of(v) for v in await h.document_versions(query, uow(info))]

    @strawberry.field(description="The latest version.")  # type: ignore[untyped-decorator]
    async def latest_version(self, info: Info) -> DocumentVersion:
        query = h.DocumentVersions(caller(info), uuid.UUID(self.id))
        return DocumentVersion.of((await h.document_versions(query, uow(info)))[0])


@strawberry.type
class DocumentEdge:
    cursor: str
    node: Document


@strawberry.type
class DocumentConnection:
    edges: list[DocumentEdge]
    page_info: PageInfo


@strawberry.type(description="Where to PUT a file's bytes (a path on the API's origin), "
                 "until when, and at most how many.")  # type: ignore[untyped-decorator]
class FileUpload:
    url: str
    method: str
    expires_at: datetime
    max_bytes: int


@strawberry.type(description="Where to GET a version's bytes (a path on the API's origin) "
                 "until the URL expires.")  # type: ignore[untyped-decorator]
class FileDownload:
    url: str
    expires_at: datetime
    version: int
    media_type: str
    size_bytes: int
    sha256: str


# --- payloads and results -------------------------------------------------------------------


@strawberry.type
class CreateFolderPayload:
    folder: Folder


@strawberry.type
class SetFolderAccessPayload:
    folder: Folder


@strawberry.type
class UploadDocumentPayload:
    document: Document
    version: DocumentVersion


@strawberry.type
class AddDocumentVersionPayload:
    document: Document
    version: DocumentVersion


@strawberry.type
class SetDocumentAccessPayload:
    document: Document


@strawberry.type
class ChangeFolderPayload:
    folder: Folder


@strawberry.type
class ChangeDocumentPayload:
    document: Document


@strawberry.type
class RequestUploadPayload:
    upload: FileUpload


@strawberry.type
class RequestDownloadPayload:
    download: FileDownload


CreateFolderResult = Annotated[
    CreateFolderPayload | CommonError, strawberry.union("CreateFolderResult")
]
SetFolderAccessResult = Annotated[
    SetFolderAccessPayload | CommonError, strawberry.union("SetFolderAccessResult")
]
UploadDocumentResult = Annotated[
    UploadDocumentPayload | UploadError, strawberry.union("UploadDocumentResult")
]
AddDocumentVersionResult = Annotated[
    AddDocumentVersionPayload | UploadError, strawberry.union("AddDocumentVersionResult")
]
ChangeFolderResult = Annotated[
    ChangeFolderPayload | CommonError, strawberry.union("ChangeFolderResult")
]
ChangeDocumentResult = Annotated[
    ChangeDocumentPayload | CommonError, strawberry.union("ChangeDocumentResult")
]
RequestUploadResult = Annotated[
    RequestUploadPayload | CommonError, strawberry.union("RequestUploadResult")
]
RequestDownloadResult = Annotated[
    RequestDownloadPayload | CommonError, strawberry.union("RequestDownloadResult")
]
SetDocumentAccessResult = Annotated[
    SetDocumentAccessPayload | CommonError, strawberry.union("SetDocumentAccessResult")
]


# --- operations -----------------------------------------------------------------------------


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
    ) -> DocumentConnection:
        async def run() -> DocumentConnection:
            query = h.ListDocuments(
                caller=caller(info),
                folder_id=None if folder_id is None else parse_uuid(folder_id, "folderId"),
                kind=kind,
                first=first,
                after=after,
                deleted=deleted,
            )
            page = await h.list_documents(query, uow(info))
            return DocumentConnection(
                edges=page.edges(lambda cursor, x: DocumentEdge(cursor=cursor,
                                                                node=Document.of(x))),
                page_info=PageInfo.of(page),
            )

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


def upload_of(info: Info, grant: Grant) -> FileUpload:
    return FileUpload(
        url=signer(info).sign(grant),
        method="PUT",
        expires_at=grant.expires_at,
        max_bytes=d.MAX_FILE_BYTES,
    )

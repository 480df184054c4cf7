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

from crmkit.errors import InvalidInput
from crmkit.graphql import CommonError, GraphQLContext, PageInfo, parse_uuid
from crmkit.references import load_entity
from crmkit.results import answer_mutation, answer_query
from services.documents import domain as d
from services.documents.handlers import library as h
from services.documents.schema.context import Info, caller, caller_of, uow, uow_of

# The domain's enum is GraphQL's: no copy to keep in step.
strawberry.enum(d.DocumentKind)


@strawberry.enum
class ContentEncoding(Enum):
    """How ``content`` is written in a mutation: plain text (stored as UTF-8) or base64."""

    TEXT = "TEXT"
    BASE64 = "BASE64"


def content_bytes(content: str, encoding: ContentEncoding) -> bytes:
    if len(content) > d.MAX_CONTENT_BYTES * 4 // 3 + 4:
        raise InvalidInput.field("content", f"must be at most {d.MAX_CONTENT_BYTES} bytes")
    if encoding is ContentEncoding.BASE64:
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput.field("content", "is not valid base64") from None
    try:
        return content.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput.field("content", "is not valid text") from None


async def folders_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Folder]:
    return await h.folders_by_id(h.FoldersById(caller_of(context), ids), uow_of(context))


async def documents_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Document]:
    return await h.documents_by_id(h.DocumentsById(caller_of(context), ids), uow_of(context))


# --- types --------------------------------------------------------------------------------


@strawberry.type
class Folder:
    id: strawberry.ID
    name: str
    allowed_groups: list[str]
    version: int
    created_by: strawberry.ID
    created_at: datetime
    updated_at: datetime

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
        )


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


CreateFolderResult = Annotated[
    CreateFolderPayload | CommonError, strawberry.union("CreateFolderResult")
]
SetFolderAccessResult = Annotated[
    SetFolderAccessPayload | CommonError, strawberry.union("SetFolderAccessResult")
]
UploadDocumentResult = Annotated[
    UploadDocumentPayload | CommonError, strawberry.union("UploadDocumentResult")
]
AddDocumentVersionResult = Annotated[
    AddDocumentVersionPayload | CommonError, strawberry.union("AddDocumentVersionResult")
]
SetDocumentAccessResult = Annotated[
    SetDocumentAccessPayload | CommonError, strawberry.union("SetDocumentAccessResult")
]


# --- operations -----------------------------------------------------------------------------


@strawberry.type
class LibraryQuery:
    @strawberry.field(description="Folders the caller may see, by name.")  # type: ignore[untyped-decorator]
    async def folders(self, info: Info) -> list[Folder]:
        found = await h.list_folders(h.ListFolders(caller(info)), uow(info))
        return [Folder.of(f) for f in found]

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
    ) -> DocumentConnection:
        async def run() -> DocumentConnection:
            query = h.ListDocuments(
                caller=caller(info),
                folder_id=None if folder_id is None else parse_uuid(folder_id, "folderId"),
                kind=kind,
                first=first,
                after=after,
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


@strawberry.type
class LibraryMutation:
    @strawberry.mutation
    async def create_folder(
        self, info: Info, name: str, allowed_groups: list[str] | None = None
    ) -> CreateFolderResult:
        async def run() -> CreateFolderPayload:
            cmd = h.CreateFolder(caller(info), name, tuple(allowed_groups or ()))
            return CreateFolderPayload(folder=Folder.of(await h.create_folder(cmd, uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation
    async def set_folder_access(
        self,
        info: Info,
        folder_id: strawberry.ID,
        allowed_groups: list[str],
        expected_version: int | None = None,
    ) -> SetFolderAccessResult:
        async def run() -> SetFolderAccessPayload:
            cmd = h.SetFolderAccess(
                caller(info),
                parse_uuid(folder_id, "folderId"),
                tuple(allowed_groups),
                expected_version,
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

        return await answer_mutation(run())

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

        return await answer_mutation(run())

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

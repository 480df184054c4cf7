"""Documents of the library in GraphQL: a document with its versions and the payloads of the
mutations that upload or change one (:mod:`.library` has the operations). Inline content is for
small files; larger ones go over the signed ``/files/`` URLs of :mod:`.files`."""

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

from crmkit.commands import ById
from crmkit.errors import DomainError, InvalidInput
from crmkit.graphql import CommonError, GraphQLContext
from crmkit.references import load_entity
from crmkit.results import common_errors_and
from crmkit.rows import build
from crmkit.schema_context import gid, optional_gid
from services.documents import domain as d
from services.documents import sniffing
from services.documents.handlers import library as h
from services.documents.schema.context import Info, caller, caller_of, uow, uow_of
from services.documents.schema.folders import Folder, folders_by_id

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


UploadError = CommonError | ContentRefused
UPLOAD_ERRORS = common_errors_and(ContentRefused, content_refused)


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


async def documents_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Document]:
    return await h.documents_by_id(ById(caller_of(context), ids), uow_of(context))


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
        return build(cls, version, created_by=gid(version.created_by))

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
        return build(
            cls, document, id=gid(document.id), folder_id=gid(document.folder_id),
            allowed_groups=list(document.allowed_groups), created_by=gid(document.created_by),
            deleted_by=optional_gid(document.deleted_by),
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
class UploadDocumentPayload:
    document: Document
    version: DocumentVersion


UploadDocumentResult = Annotated[
    UploadDocumentPayload | UploadError, strawberry.union("UploadDocumentResult")
]


@strawberry.type
class AddDocumentVersionPayload:
    document: Document
    version: DocumentVersion


AddDocumentVersionResult = Annotated[
    AddDocumentVersionPayload | UploadError, strawberry.union("AddDocumentVersionResult")
]


@strawberry.type
class SetDocumentAccessPayload:
    document: Document


SetDocumentAccessResult = Annotated[
    SetDocumentAccessPayload | CommonError, strawberry.union("SetDocumentAccessResult")
]


@strawberry.type
class ChangeDocumentPayload:
    document: Document


ChangeDocumentResult = Annotated[
    ChangeDocumentPayload | CommonError, strawberry.union("ChangeDocumentResult")
]

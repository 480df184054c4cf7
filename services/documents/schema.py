"""The documents subgraph: the document library, offers, and ``Opportunity.offers``.

Resolvers are thin: they parse arguments, call a handler and map its result; every domain
error becomes a typed member of the mutation's result union.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.federation import Schema

from crmkit.auth import Caller
from crmkit.errors import DomainError, InvalidInput
from crmkit.graphql import (
    Forbidden,
    GraphQLContext,
    NotFound,
    PageInfo,
    ValidationError,
    VersionConflict,
    build_schema,
    error_result,
    parse_uuid,
)
from crmkit.paging import page_size
from services.documents import domain as d
from services.documents import handlers as h
from services.documents.repository import DocumentsRepository, DocumentsUnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class DocumentsState:
    """What resolvers reach through ``info.context.state``."""

    sessions: async_sessionmaker[AsyncSession]
    outbox: Table

    def uow(self) -> DocumentsUnitOfWork:
        return DocumentsUnitOfWork(self.sessions, self.outbox)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[DocumentsRepository]:
        async with self.sessions() as session:
            yield DocumentsRepository(session)


Info = strawberry.Info[GraphQLContext, None]


def _state(info: Info) -> DocumentsState:
    state: DocumentsState = info.context.state
    return state


def _caller(info: Info) -> Caller:
    return info.context.caller


async def _read(info: Info, use: Callable[[DocumentsRepository], Awaitable[T]]) -> T:
    async with _state(info).reader() as repo:
        return await use(repo)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _query_error(error: DomainError) -> GraphQLError:
    """Queries have no result unions: bad arguments become a GraphQL error, never a 500."""
    return GraphQLError(error.message, extensions={"code": "BAD_USER_INPUT"})


@strawberry.enum
class DocumentKind(Enum):
    OFFER_TEMPLATE = "OFFER_TEMPLATE"
    PRICE_LIST = "PRICE_LIST"
    NDA = "NDA"
    CONTRACT = "CONTRACT"
    OTHER = "OTHER"


@strawberry.enum
class ContentEncoding(Enum):
    """How ``content`` is written in a mutation: plain text (stored as UTF-8) or base64."""

    TEXT = "TEXT"
    BASE64 = "BASE64"


def _content_bytes(content: str, encoding: ContentEncoding) -> bytes:
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
        caller = _caller(info)
        content = await _read(
            info, lambda repo: repo.version_content(caller.org_id, self.document_id, self.number)
        )
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
    kind: DocumentKind
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
            kind=DocumentKind(document.kind.value),
            allowed_groups=list(document.allowed_groups),
            current_version=document.current_version,
            created_by=strawberry.ID(str(document.created_by)),
            created_at=document.created_at,
            updated_at=document.updated_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Document | None:
        document_id = _uuid_or_none(id)
        if document_id is None:
            return None
        caller = _caller(info)
        document = await _read(info, lambda repo: h.get_document(caller, document_id, repo))
        return cls.of(document) if document else None

    @strawberry.field
    async def folder(self, info: Info) -> Folder | None:
        caller = _caller(info)
        folder_id = uuid.UUID(self.folder_id)
        folder = await _read(info, lambda repo: h.get_folder(caller, folder_id, repo))
        return Folder.of(folder) if folder else None

    @strawberry.field(description="Every version, newest first.")  # type: ignore[untyped-decorator]
    async def versions(self, info: Info) -> list[DocumentVersion]:
        org_id = _caller(info).org_id
        document_id = uuid.UUID(self.id)
        versions = await _read(info, lambda repo: repo.versions(org_id, document_id))
        return [DocumentVersion.of(v) for v in versions]

    @strawberry.field(description="The latest version.")  # type: ignore[untyped-decorator]
    async def latest_version(self, info: Info) -> DocumentVersion:
        versions = await self.versions(info)  # type: ignore[misc]
        latest: DocumentVersion = versions[0]
        return latest


@strawberry.federation.type(keys=["id"])
class Offer:
    id: strawberry.ID
    opportunity_id: strawberry.ID
    template_id: strawberry.ID
    template_version: int
    title: str
    content: str
    media_type: str
    amount: Decimal | None
    currency: str | None
    issued_by: strawberry.ID
    issued_at: datetime

    @classmethod
    def of(cls, offer: d.Offer) -> Offer:
        return cls(
            id=strawberry.ID(str(offer.id)),
            opportunity_id=strawberry.ID(str(offer.opportunity_id)),
            template_id=strawberry.ID(str(offer.template_id)),
            template_version=offer.template_version,
            title=offer.title,
            content=offer.content,
            media_type=offer.media_type,
            amount=offer.amount,
            currency=offer.currency,
            issued_by=strawberry.ID(str(offer.issued_by)),
            issued_at=offer.issued_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Offer | None:
        offer_id = _uuid_or_none(id)
        if offer_id is None:
            return None
        caller = _caller(info)
        offer = await _read(info, lambda repo: h.get_offer(caller, offer_id, repo))
        return cls.of(offer) if offer else None

    @strawberry.field(description="The template it was rendered from, when the caller sees it.")  # type: ignore[untyped-decorator]
    async def template(self, info: Info) -> Document | None:
        return await Document.resolve_reference(info, self.template_id)


async def _offers(info: Info, opportunity_id: uuid.UUID) -> list[Offer]:
    caller = _caller(info)
    offers = await _read(info, lambda repo: h.offers_of_opportunity(caller, opportunity_id, repo))
    return [Offer.of(o) for o in offers]


@strawberry.federation.type(keys=["id"])
class Opportunity:
    """The pipeline's opportunity; this subgraph contributes its offers."""

    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Opportunity:
        return cls(id=id)

    @strawberry.field(description="Offers issued for this opportunity, newest first.")  # type: ignore[untyped-decorator]
    async def offers(self, info: Info) -> list[Offer]:
        opportunity_id = _uuid_or_none(self.id)
        return [] if opportunity_id is None else await _offers(info, opportunity_id)


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


@strawberry.type
class IssueOfferPayload:
    offer: Offer


Errors = ValidationError | NotFound | Forbidden | VersionConflict
CreateFolderResult = Annotated[CreateFolderPayload | Errors, strawberry.union("CreateFolderResult")]
SetFolderAccessResult = Annotated[
    SetFolderAccessPayload | Errors, strawberry.union("SetFolderAccessResult")
]
UploadDocumentResult = Annotated[
    UploadDocumentPayload | Errors, strawberry.union("UploadDocumentResult")
]
AddDocumentVersionResult = Annotated[
    AddDocumentVersionPayload | Errors, strawberry.union("AddDocumentVersionResult")
]
SetDocumentAccessResult = Annotated[
    SetDocumentAccessPayload | Errors, strawberry.union("SetDocumentAccessResult")
]
IssueOfferResult = Annotated[IssueOfferPayload | Errors, strawberry.union("IssueOfferResult")]


@strawberry.input
class OfferValueInput:
    """One placeholder value: ``${name}`` in the template becomes ``value``."""

    name: str
    value: str


async def _mutate(run: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await run()
    except DomainError as error:
        return error_result(error)


# --- operations -----------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="Folders the caller may see, by name.")  # type: ignore[untyped-decorator]
    async def folders(self, info: Info) -> list[Folder]:
        caller = _caller(info)
        return [Folder.of(f) for f in await _read(info, lambda r: h.list_folders(caller, r))]

    @strawberry.field
    async def folder(self, info: Info, id: strawberry.ID) -> Folder | None:
        folder_id = _uuid_or_none(id)
        if folder_id is None:
            return None
        caller = _caller(info)
        folder = await _read(info, lambda r: h.get_folder(caller, folder_id, r))
        return Folder.of(folder) if folder else None

    @strawberry.field(description="Documents the caller may see, oldest first.")  # type: ignore[untyped-decorator]
    async def documents(
        self,
        info: Info,
        folder_id: strawberry.ID | None = None,
        kind: DocumentKind | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> DocumentConnection:
        try:
            query = h.ListDocuments(
                caller=_caller(info),
                folder_id=None if folder_id is None else parse_uuid(folder_id, "folderId"),
                kind=None if kind is None else d.DocumentKind(kind.value),
                first=page_size(first),
                after=after,
            )
            page = await _read(info, lambda r: h.list_documents(query, r))
        except DomainError as error:
            raise _query_error(error) from None
        edges = [
            DocumentEdge(cursor=page.cursor(doc), node=Document.of(doc)) for doc in page.documents
        ]
        return DocumentConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field
    async def document(self, info: Info, id: strawberry.ID) -> Document | None:
        return await Document.resolve_reference(info, id)

    @strawberry.field
    async def offer(self, info: Info, id: strawberry.ID) -> Offer | None:
        return await Offer.resolve_reference(info, id)

    @strawberry.field(description="Offers of an opportunity the caller may see, newest first.")  # type: ignore[untyped-decorator]
    async def offers(self, info: Info, opportunity_id: strawberry.ID) -> list[Offer]:
        opportunity = _uuid_or_none(opportunity_id)
        return [] if opportunity is None else await _offers(info, opportunity)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_folder(
        self, info: Info, name: str, allowed_groups: list[str] | None = None
    ) -> CreateFolderResult:
        async def run() -> CreateFolderPayload:
            cmd = h.CreateFolder(_caller(info), name, tuple(allowed_groups or ()))
            return CreateFolderPayload(
                folder=Folder.of(await h.create_folder(cmd, _state(info).uow()))
            )

        result: CreateFolderResult = await _mutate(run)
        return result

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
                _caller(info),
                parse_uuid(folder_id, "folderId"),
                tuple(allowed_groups),
                expected_version,
            )
            folder = await h.set_folder_access(cmd, _state(info).uow())
            return SetFolderAccessPayload(folder=Folder.of(folder))

        result: SetFolderAccessResult = await _mutate(run)
        return result

    @strawberry.mutation(description="Upload a document with its first version.")  # type: ignore[untyped-decorator]
    async def upload_document(
        self,
        info: Info,
        folder_id: strawberry.ID,
        name: str,
        kind: DocumentKind,
        content: str,
        content_encoding: ContentEncoding = ContentEncoding.TEXT,
        media_type: str = "text/plain",
        allowed_groups: list[str] | None = None,
    ) -> UploadDocumentResult:
        async def run() -> UploadDocumentPayload:
            cmd = h.UploadDocument(
                caller=_caller(info),
                folder_id=parse_uuid(folder_id, "folderId"),
                name=name,
                kind=d.DocumentKind(kind.value),
                content=_content_bytes(content, content_encoding),
                media_type=media_type,
                allowed_groups=tuple(allowed_groups or ()),
            )
            document, version = await h.upload_document(cmd, _state(info).uow())
            return UploadDocumentPayload(
                document=Document.of(document), version=DocumentVersion.of(version)
            )

        result: UploadDocumentResult = await _mutate(run)
        return result

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
                caller=_caller(info),
                document_id=parse_uuid(document_id, "documentId"),
                content=_content_bytes(content, content_encoding),
                media_type=media_type,
                expected_version=expected_version,
            )
            document, version = await h.add_document_version(cmd, _state(info).uow())
            return AddDocumentVersionPayload(
                document=Document.of(document), version=DocumentVersion.of(version)
            )

        result: AddDocumentVersionResult = await _mutate(run)
        return result

    @strawberry.mutation
    async def set_document_access(
        self, info: Info, document_id: strawberry.ID, allowed_groups: list[str]
    ) -> SetDocumentAccessResult:
        async def run() -> SetDocumentAccessPayload:
            cmd = h.SetDocumentAccess(
                _caller(info), parse_uuid(document_id, "documentId"), tuple(allowed_groups)
            )
            document = await h.set_document_access(cmd, _state(info).uow())
            return SetDocumentAccessPayload(document=Document.of(document))

        result: SetDocumentAccessResult = await _mutate(run)
        return result

    @strawberry.mutation(description="Render an offer template and keep it with the opportunity.")  # type: ignore[untyped-decorator]
    async def issue_offer(
        self,
        info: Info,
        opportunity_id: strawberry.ID,
        template_id: strawberry.ID,
        values: list[OfferValueInput] | None = None,
        title: str | None = None,
        template_version: int | None = None,
        amount: Decimal | None = None,
        currency: str | None = None,
    ) -> IssueOfferResult:
        async def run() -> IssueOfferPayload:
            problems: list[InvalidInput] = []
            ids: list[uuid.UUID] = []
            for value, path in ((opportunity_id, "opportunityId"), (template_id, "templateId")):
                try:
                    ids.append(parse_uuid(value, path))
                except InvalidInput as error:
                    problems.append(error)
            if problems:
                raise InvalidInput([p for error in problems for p in error.problems])
            cmd = h.IssueOffer(
                caller=_caller(info),
                opportunity_id=ids[0],
                template_id=ids[1],
                values=tuple((v.name, v.value) for v in values or ()),
                title=title,
                template_version=template_version,
                amount=amount,
                currency=currency,
            )
            return IssueOfferPayload(offer=Offer.of(await h.issue_offer(cmd, _state(info).uow())))

        result: IssueOfferResult = await _mutate(run)
        return result


def create_schema() -> Schema:
    return build_schema(query=Query, mutation=Mutation, types=[Opportunity])

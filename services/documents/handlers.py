"""Use cases of the documents service: ``async def x(cmd, uow)`` for changes (state and
events committed together), ``async def x(query, repo)`` for reads.

A folder or document the caller may not see answers NotFound, exactly like one that does not
exist, so ids never reveal what is hidden. A missing role answers Forbidden.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from crmkit.auth import Caller
from crmkit.contracts import REGISTRY, Envelope, Event
from crmkit.contracts import documents as contract
from crmkit.contracts import pipeline as pipeline_contract
from crmkit.errors import (
    ForbiddenError,
    InvalidInput,
    NotFoundError,
    ProblemCollector,
    VersionConflictError,
)
from crmkit.paging import decode_cursor, encode_cursor
from services.documents import domain as d
from services.documents.repository import DocumentsRepository, DocumentsUnitOfWork


def _now() -> datetime:
    return datetime.now(UTC)


def _wrap(event: Event, caller: Caller, aggregate_id: uuid.UUID, version: int) -> Envelope:
    return Envelope.wrap(
        event,
        org_id=caller.org_id,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        actor_id=caller.member_id,
    )


async def _visible_folder(
    repo: DocumentsRepository, caller: Caller, folder_id: uuid.UUID, *, lock: bool = False
) -> d.Folder:
    folder = await repo.folder(caller.org_id, folder_id, lock=lock)
    if folder is None or not d.sees(caller, folder.allowed_groups):
        raise NotFoundError("Folder", folder_id)
    return folder


async def visible_document(
    repo: DocumentsRepository, caller: Caller, document_id: uuid.UUID, *, lock: bool = False
) -> tuple[d.Document, d.Folder]:
    document = await repo.document(caller.org_id, document_id, lock=lock)
    if document is not None:
        folder = await repo.folder(caller.org_id, document.folder_id)
        if folder is not None and d.sees_document(
            caller, folder.allowed_groups, document.allowed_groups
        ):
            return document, folder
    raise NotFoundError("Document", document_id)


# --- folders ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateFolder:
    caller: Caller
    name: str
    allowed_groups: Sequence[str] = ()


async def create_folder(cmd: CreateFolder, uow: DocumentsUnitOfWork) -> d.Folder:
    d.require_library_manager(cmd.caller, "create folders")
    problems = ProblemCollector()
    name = d.clean_name(cmd.name, "name", problems, d.MAX_NAME_LENGTH)
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    problems.raise_if_any()
    now = _now()
    folder = d.Folder(
        id=uuid.uuid4(),
        org_id=cmd.caller.org_id,
        name=name,
        allowed_groups=tuple(groups),
        version=1,
        created_by=cmd.caller.member_id,
        created_at=now,
        updated_at=now,
    )
    taken = InvalidInput.field("name", "a folder with this name exists")
    async with uow:
        if await uow.repo.folder_name_taken(folder.org_id, name):
            raise taken
        try:
            await uow.repo.add_folder(folder)
        except IntegrityError:  # a concurrent create of the same name won the race
            raise taken from None
        uow.emit(
            _wrap(
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


async def set_folder_access(cmd: SetFolderAccess, uow: DocumentsUnitOfWork) -> d.Folder:
    d.require_library_manager(cmd.caller, "change folder access")
    problems = ProblemCollector()
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    problems.raise_if_any()
    async with uow:
        folder = await _visible_folder(uow.repo, cmd.caller, cmd.folder_id, lock=True)
        if cmd.expected_version is not None and cmd.expected_version != folder.version:
            raise VersionConflictError("Folder", cmd.expected_version, folder.version)
        folder = await uow.repo.set_folder_groups(folder, groups, _now())
        uow.emit(
            _wrap(
                contract.FolderAccessChanged(folder_id=folder.id, allowed_groups=groups),
                cmd.caller,
                folder.id,
                folder.version,
            )
        )
        await uow.commit()
    return folder


async def list_folders(caller: Caller, repo: DocumentsRepository) -> list[d.Folder]:
    return await repo.visible_folders(caller)


async def get_folder(
    caller: Caller, folder_id: uuid.UUID, repo: DocumentsRepository
) -> d.Folder | None:
    folder = await repo.folder(caller.org_id, folder_id)
    return folder if folder is not None and d.sees(caller, folder.allowed_groups) else None


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
    cmd: UploadDocument, uow: DocumentsUnitOfWork
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
    now = _now()
    async with uow:
        folder = await _visible_folder(uow.repo, cmd.caller, cmd.folder_id, lock=True)
        document = d.Document(
            id=uuid.uuid4(),
            org_id=cmd.caller.org_id,
            folder_id=folder.id,
            name=name,
            kind=cmd.kind,
            allowed_groups=tuple(groups),
            current_version=1,
            created_by=cmd.caller.member_id,
            created_at=now,
            updated_at=now,
        )
        await uow.repo.add_document(document)
        version = await uow.repo.add_version(document, 1, content, cmd.caller.member_id, now)
        uow.emit(
            _wrap(
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
    cmd: AddDocumentVersion, uow: DocumentsUnitOfWork
) -> tuple[d.Document, d.DocumentVersion]:
    """Managers, and the member who uploaded the document, add versions to it."""
    async with uow:
        document, _ = await visible_document(uow.repo, cmd.caller, cmd.document_id, lock=True)
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
        now = _now()
        number = document.current_version + 1
        version = await uow.repo.add_version(document, number, content, cmd.caller.member_id, now)
        document = await uow.repo.bump_document_version(document, now)
        uow.emit(
            _wrap(
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


async def set_document_access(cmd: SetDocumentAccess, uow: DocumentsUnitOfWork) -> d.Document:
    d.require_library_manager(cmd.caller, "change document access")
    problems = ProblemCollector()
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    problems.raise_if_any()
    async with uow:
        document, _ = await visible_document(uow.repo, cmd.caller, cmd.document_id, lock=True)
        document = await uow.repo.set_document_groups(document, groups, _now())
        uow.emit(
            _wrap(
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
    first: int = 50
    after: str | None = None


@dataclass(frozen=True)
class DocumentPage:
    documents: list[d.Document]
    has_next_page: bool

    def cursor(self, document: d.Document) -> str:
        return encode_cursor(document.created_at.isoformat(), document.id)


def _parse_after(after: str | None) -> tuple[datetime, uuid.UUID] | None:
    if after is None:
        return None
    created_at, document_id = decode_cursor(after, 2)
    try:
        return datetime.fromisoformat(created_at), uuid.UUID(document_id)
    except ValueError:
        raise InvalidInput.field("after", "is not a valid cursor") from None


async def list_documents(query: ListDocuments, repo: DocumentsRepository) -> DocumentPage:
    after = _parse_after(query.after)
    rows = await repo.visible_documents(
        query.caller,
        folder_id=query.folder_id,
        kind=query.kind,
        after=after,
        limit=query.first + 1,
    )
    return DocumentPage(documents=rows[: query.first], has_next_page=len(rows) > query.first)


async def get_document(
    caller: Caller, document_id: uuid.UUID, repo: DocumentsRepository
) -> d.Document | None:
    try:
        document, _ = await visible_document(repo, caller, document_id)
    except NotFoundError:
        return None
    return document


# --- offers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueOffer:
    caller: Caller
    opportunity_id: uuid.UUID
    template_id: uuid.UUID
    values: Sequence[tuple[str, str]] = ()
    title: str | None = None
    template_version: int | None = None
    amount: Decimal | str | None = None
    currency: str | None = None


async def issue_offer(cmd: IssueOffer, uow: DocumentsUnitOfWork) -> d.Offer:
    """Render the template's chosen (default: latest) version with ``values``, keep the
    offer with the opportunity and announce it, in one transaction."""
    problems = ProblemCollector()
    title, values, money = d.check_offer_input(
        title=cmd.title,
        values=cmd.values,
        amount=cmd.amount,
        currency=cmd.currency,
        problems=problems,
    )
    if cmd.template_version is not None and cmd.template_version < 1:
        problems.add("templateVersion", "must be at least 1")
    problems.raise_if_any()
    caller = cmd.caller
    async with uow:
        template, _ = await visible_document(uow.repo, caller, cmd.template_id)
        if template.kind is not d.DocumentKind.OFFER_TEMPLATE:
            raise InvalidInput.field("templateId", "is not an offer template")
        number = cmd.template_version or template.current_version
        if number > template.current_version:
            raise InvalidInput.field(
                "templateVersion", f"the template has {template.current_version} versions"
            )
        access = await uow.repo.opportunity_access(caller.org_id, cmd.opportunity_id)
        if not d.may_issue_offer(caller, access):
            raise ForbiddenError("you may not issue offers on this opportunity")
        content = await uow.repo.version_content(caller.org_id, template.id, number)
        text = content.text() if content is not None else None
        if content is None or text is None:
            raise InvalidInput.field("templateId", "the template version is not text")
        rendered = d.render_template(text, values)
        offer = d.Offer(
            id=uuid.uuid4(),
            org_id=caller.org_id,
            opportunity_id=cmd.opportunity_id,
            template_id=template.id,
            template_version=number,
            title=title or template.name,
            content=rendered,
            media_type=content.media_type,
            amount=money.amount if money else None,
            currency=money.currency if money else None,
            issued_by=caller.member_id,
            issued_at=_now(),
        )
        await uow.repo.add_offer(offer)
        uow.emit(
            _wrap(
                contract.OfferIssued(
                    offer_id=offer.id,
                    opportunity_id=offer.opportunity_id,
                    document_id=template.id,
                    title=offer.title,
                    issued_at=offer.issued_at,
                    template_version=number,
                    amount=offer.amount,
                    currency=offer.currency,
                    issued_by=caller.member_id,
                ),
                caller,
                offer.id,
                1,
            )
        )
        await uow.commit()
    return offer


async def get_offer(
    caller: Caller, offer_id: uuid.UUID, repo: DocumentsRepository
) -> d.Offer | None:
    offer = await repo.offer(caller.org_id, offer_id)
    if offer is None:
        return None
    access = await repo.opportunity_access(caller.org_id, offer.opportunity_id)
    return offer if d.sees_opportunity(caller, access, issued_by=[offer.issued_by]) else None


async def offers_of_opportunity(
    caller: Caller, opportunity_id: uuid.UUID, repo: DocumentsRepository
) -> list[d.Offer]:
    access = await repo.opportunity_access(caller.org_id, opportunity_id)
    if access is not None and not d.sees_opportunity(caller, access):
        return []
    return [
        offer
        for offer in await repo.offers_of(caller.org_id, opportunity_id)
        if d.sees_opportunity(caller, access, issued_by=[offer.issued_by])
    ]


# --- the local read model of opportunities --------------------------------------------------


async def record_opportunity(envelope: Envelope, repo: DocumentsRepository) -> bool:
    """Keep the owner and team of an opportunity from any pipeline opportunity event (they
    all carry the snapshot); False when the event is not one of them."""
    event_cls = REGISTRY.get(envelope.type)
    if event_cls is None or not issubclass(event_cls, pipeline_contract.OpportunitySnapshot):
        return False
    snapshot = envelope.parse(event_cls)
    await repo.record_opportunity(
        envelope.org_id,
        snapshot.opportunity_id,
        d.OpportunityAccess(owner_id=snapshot.owner_id, team=snapshot.team),
        envelope.aggregate_version,
        _now(),
    )
    return True

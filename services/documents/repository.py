"""The documents repository on PostgreSQL (:class:`services.documents.ports.
DocumentsRepository`). Every method takes the org id and filters on it; visibility by group is
applied in SQL so pages are never short."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Caller
from crmkit.paging import PageRequest
from services.documents.domain import (
    Content,
    Document,
    DocumentKind,
    DocumentVersion,
    Folder,
    NewContent,
    Offer,
    OpportunityAccess,
    StoredFile,
    blob_key,
)
from services.documents.ports import BlobStore
from services.documents.tables import (
    document_versions,
    documents,
    folders,
    offers,
    opportunity_access,
)


def _visible(column: Any, caller: Caller) -> ColumnElement[bool]:
    """SQL form of :func:`services.documents.domain.sees`."""
    if caller.is_admin:
        return and_(True)
    allowed: ColumnElement[bool] = func.cardinality(column) == 0
    if caller.groups:
        return or_(allowed, column.overlap(sorted(caller.groups)))
    return allowed


def _folder(row: Row[Any]) -> Folder:
    return Folder(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        allowed_groups=tuple(row.allowed_groups),
        version=row.version,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _document(row: Row[Any]) -> Document:
    return Document(
        id=row.id,
        org_id=row.org_id,
        folder_id=row.folder_id,
        name=row.name,
        kind=DocumentKind(row.kind),
        allowed_groups=tuple(row.allowed_groups),
        current_version=row.current_version,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _version(row: Row[Any]) -> DocumentVersion:
    return DocumentVersion(
        document_id=row.document_id,
        number=row.number,
        media_type=row.media_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _offer(row: Row[Any]) -> Offer:
    return Offer(
        id=row.id,
        org_id=row.org_id,
        opportunity_id=row.opportunity_id,
        template_id=row.template_id,
        template_version=row.template_version,
        title=row.title,
        content=row.content,
        media_type=row.media_type,
        amount=row.amount,
        currency=row.currency,
        issued_by=row.issued_by,
        issued_at=row.issued_at,
    )


VERSION_COLUMNS = [c for c in document_versions.c if c.name != "content"]


@dataclass(frozen=True)
class SqlRepositories:
    """Builds each unit of work's repository over its session and the service's one blob
    store."""

    store: BlobStore

    def __call__(self, session: AsyncSession) -> SqlDocumentsRepository:
        return SqlDocumentsRepository(session, self.store)


class SqlDocumentsRepository:
    def __init__(self, session: AsyncSession, store: BlobStore) -> None:
        self.session = session
        self.store = store

    # --- folders ----------------------------------------------------------------------

    async def folder(
        self, org_id: uuid.UUID, folder_id: uuid.UUID, *, lock: bool = False
    ) -> Folder | None:
        query = select(folders).where(folders.c.org_id == org_id, folders.c.id == folder_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _folder(row) if row else None

    async def folders(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Folder]:
        query = select(folders).where(folders.c.org_id == org_id, folders.c.id.in_(ids))
        return [_folder(r) for r in await self.session.execute(query)]

    async def folder_name_taken(self, org_id: uuid.UUID, name: str) -> bool:
        query = select(folders.c.id).where(
            folders.c.org_id == org_id, func.lower(folders.c.name) == name.lower()
        )
        return (await self.session.execute(query)).first() is not None

    async def visible_folders(self, caller: Caller) -> list[Folder]:
        query = (
            select(folders)
            .where(folders.c.org_id == caller.org_id, _visible(folders.c.allowed_groups, caller))
            .order_by(func.lower(folders.c.name), folders.c.id)
        )
        return [_folder(r) for r in await self.session.execute(query)]

    async def add_folder(self, folder: Folder) -> bool:
        result = await self.session.execute(
            insert(folders).values(
                id=folder.id,
                org_id=folder.org_id,
                name=folder.name,
                allowed_groups=list(folder.allowed_groups),
                version=folder.version,
                created_by=folder.created_by,
                created_at=folder.created_at,
                updated_at=folder.updated_at,
            )
            # A concurrent create of the same name (the unique index on lower(name)).
            .on_conflict_do_nothing()
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def set_folder_groups(
        self, folder: Folder, groups: Sequence[str], now: datetime
    ) -> Folder:
        row = (
            await self.session.execute(
                update(folders)
                .where(folders.c.org_id == folder.org_id, folders.c.id == folder.id)
                .values(allowed_groups=list(groups), version=folders.c.version + 1, updated_at=now)
                .returning(*folders.c)
            )
        ).one()
        return _folder(row)

    # --- documents --------------------------------------------------------------------

    async def document(
        self, org_id: uuid.UUID, document_id: uuid.UUID, *, lock: bool = False
    ) -> Document | None:
        query = select(documents).where(documents.c.org_id == org_id, documents.c.id == document_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _document(row) if row else None

    async def documents(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Document]:
        query = select(documents).where(documents.c.org_id == org_id, documents.c.id.in_(ids))
        return [_document(r) for r in await self.session.execute(query)]

    async def visible_documents(
        self,
        caller: Caller,
        *,
        folder_id: uuid.UUID | None,
        kind: DocumentKind | None,
        page: PageRequest,
    ) -> list[Document]:
        query = (
            select(documents)
            .join(
                folders,
                and_(folders.c.id == documents.c.folder_id, folders.c.org_id == caller.org_id),
            )
            .where(
                documents.c.org_id == caller.org_id,
                _visible(folders.c.allowed_groups, caller),
                _visible(documents.c.allowed_groups, caller),
            )
            .order_by(documents.c.created_at, documents.c.id)
            .limit(page.fetch)
        )
        if folder_id is not None:
            query = query.where(documents.c.folder_id == folder_id)
        if kind is not None:
            query = query.where(documents.c.kind == kind.value)
        if page.after is not None:
            query = query.where(
                tuple_(documents.c.created_at, documents.c.id) > tuple_(*page.after)
            )
        return [_document(r) for r in await self.session.execute(query)]

    async def add_document(self, document: Document) -> None:
        await self.session.execute(
            insert(documents).values(
                id=document.id,
                org_id=document.org_id,
                folder_id=document.folder_id,
                name=document.name,
                kind=document.kind.value,
                allowed_groups=list(document.allowed_groups),
                current_version=document.current_version,
                created_by=document.created_by,
                created_at=document.created_at,
                updated_at=document.updated_at,
            )
        )

    async def bump_document_version(self, document: Document, now: datetime) -> Document:
        row = (
            await self.session.execute(
                update(documents)
                .where(documents.c.org_id == document.org_id, documents.c.id == document.id)
                .values(current_version=documents.c.current_version + 1, updated_at=now)
                .returning(*documents.c)
            )
        ).one()
        return _document(row)

    async def set_document_groups(
        self, document: Document, groups: Sequence[str], now: datetime
    ) -> Document:
        row = (
            await self.session.execute(
                update(documents)
                .where(documents.c.org_id == document.org_id, documents.c.id == document.id)
                .values(allowed_groups=list(groups), updated_at=now)
                .returning(*documents.c)
            )
        ).one()
        return _document(row)

    async def add_version(
        self,
        document: Document,
        number: int,
        content: NewContent,
        created_by: uuid.UUID,
        now: datetime,
    ) -> DocumentVersion:
        source = content.data if isinstance(content, Content) else Path(content.path)
        await self.store.put(blob_key(document.org_id, content.sha256), source)
        await self.session.execute(
            insert(document_versions).values(
                document_id=document.id,
                number=number,
                org_id=document.org_id,
                content=None,
                media_type=content.media_type,
                size_bytes=content.size,
                sha256=content.sha256,
                created_by=created_by,
                created_at=now,
            )
        )
        return DocumentVersion(
            document_id=document.id,
            number=number,
            media_type=content.media_type,
            size_bytes=content.size,
            sha256=content.sha256,
            created_by=created_by,
            created_at=now,
        )

    async def versions(self, org_id: uuid.UUID, document_id: uuid.UUID) -> list[DocumentVersion]:
        query = (
            select(*VERSION_COLUMNS)
            .where(
                document_versions.c.org_id == org_id,
                document_versions.c.document_id == document_id,
            )
            .order_by(document_versions.c.number.desc())
        )
        return [_version(r) for r in await self.session.execute(query)]

    async def version_content(
        self, org_id: uuid.UUID, document_id: uuid.UUID, number: int
    ) -> Content | None:
        found = await self.version_file(org_id, document_id, number)
        if found is None:
            return None
        data = found.inline if found.inline is not None else await self.store.read(found.key)
        return Content(data=data, media_type=found.version.media_type, sha256=found.version.sha256)

    async def version_file(
        self, org_id: uuid.UUID, document_id: uuid.UUID, number: int
    ) -> StoredFile | None:
        query = select(*VERSION_COLUMNS, document_versions.c.content).where(
            document_versions.c.org_id == org_id,
            document_versions.c.document_id == document_id,
            document_versions.c.number == number,
        )
        row = cast("Row[Any] | None", (await self.session.execute(query)).first())
        if row is None:
            return None
        return StoredFile(
            version=_version(row),
            key=blob_key(org_id, row.sha256),
            inline=None if row.content is None else bytes(row.content),
        )

    # --- offers -----------------------------------------------------------------------

    async def add_offer(self, offer: Offer) -> None:
        await self.session.execute(
            insert(offers).values(
                id=offer.id,
                org_id=offer.org_id,
                opportunity_id=offer.opportunity_id,
                template_id=offer.template_id,
                template_version=offer.template_version,
                title=offer.title,
                content=offer.content,
                media_type=offer.media_type,
                amount=offer.amount,
                currency=offer.currency,
                issued_by=offer.issued_by,
                issued_at=offer.issued_at,
            )
        )

    async def offers(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Offer]:
        query = select(offers).where(offers.c.org_id == org_id, offers.c.id.in_(ids))
        return [_offer(r) for r in await self.session.execute(query)]

    async def offers_of(
        self, org_id: uuid.UUID, opportunity_ids: Sequence[uuid.UUID]
    ) -> list[Offer]:
        query = (
            select(offers)
            .where(offers.c.org_id == org_id, offers.c.opportunity_id.in_(opportunity_ids))
            .order_by(offers.c.issued_at.desc(), offers.c.id)
        )
        return [_offer(r) for r in await self.session.execute(query)]

    # --- the local read model of opportunities ------------------------------------------

    async def opportunity_access(
        self, org_id: uuid.UUID, opportunity_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, OpportunityAccess]:
        a = opportunity_access.c
        query = select(a.opportunity_id, a.owner_id, a.team).where(
            a.org_id == org_id, a.opportunity_id.in_(opportunity_ids)
        )
        return {
            row.opportunity_id: OpportunityAccess(owner_id=row.owner_id, team=row.team)
            for row in await self.session.execute(query)
        }

    async def record_opportunity(
        self,
        org_id: uuid.UUID,
        opportunity_id: uuid.UUID,
        access: OpportunityAccess,
        aggregate_version: int,
        now: datetime,
    ) -> None:
        """Upsert the owner and team; an event older than what we hold changes nothing
        (events of one opportunity may arrive out of order after a redelivery)."""
        statement = insert(opportunity_access).values(
            org_id=org_id,
            opportunity_id=opportunity_id,
            owner_id=access.owner_id,
            team=access.team,
            aggregate_version=aggregate_version,
            updated_at=now,
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[opportunity_access.c.org_id, opportunity_access.c.opportunity_id],
                set_={
                    "owner_id": statement.excluded.owner_id,
                    "team": statement.excluded.team,
                    "aggregate_version": statement.excluded.aggregate_version,
                    "updated_at": statement.excluded.updated_at,
                },
                where=opportunity_access.c.aggregate_version
                <= statement.excluded.aggregate_version,
            )
        )

"""The library's folders and documents, in SQL; visibility by group is applied in SQL so pages
are never short."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult

from crmkit.auth import Caller
from crmkit.paging import PageRequest
from crmkit.rows import build
from crmkit.tables import org_row, org_rows
from services.documents.domain import Document, DocumentKind, Folder
from services.documents.repository.base import SqlBase
from services.documents.tables import documents, folders


def _visible(column: Any, caller: Caller) -> ColumnElement[bool]:
    """SQL form of :func:`services.documents.domain.sees`."""
    if caller.is_admin:
        return and_(True)
    allowed: ColumnElement[bool] = func.cardinality(column) == 0
    if caller.groups:
        return or_(allowed, column.overlap(sorted(caller.groups)))
    return allowed


def _folder(row: Row[Any]) -> Folder:
    return build(Folder, row, allowed_groups=tuple(row.allowed_groups),
                 write_groups=tuple(row.write_groups))


def _document(row: Row[Any]) -> Document:
    return build(Document, row, kind=DocumentKind(row.kind),
                 allowed_groups=tuple(row.allowed_groups))


class SqlFolders(SqlBase):
    # --- folders ----------------------------------------------------------------------

    async def folder(
        self, org_id: uuid.UUID, folder_id: uuid.UUID, *, lock: bool = False
    ) -> Folder | None:
        row = (await self.session.execute(org_row(folders, org_id, folder_id, lock=lock))).first()
        return _folder(row) if row else None

    async def folders(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Folder]:
        query = org_rows(folders, org_id, ids)
        return [_folder(r) for r in await self.session.execute(query)]

    async def folder_name_taken(self, org_id: uuid.UUID, name: str) -> bool:
        query = select(folders.c.id).where(
            folders.c.org_id == org_id, func.lower(folders.c.name) == name.lower()
        )
        return (await self.session.execute(query)).first() is not None

    async def visible_folders(
        self, caller: Caller, *, include_archived: bool = False
    ) -> list[Folder]:
        parent = folders.alias("parent")
        query = (
            select(folders)
            .outerjoin(parent, and_(parent.c.id == folders.c.parent_id,
                                    parent.c.org_id == caller.org_id))
            .where(
                folders.c.org_id == caller.org_id,
                _visible(folders.c.allowed_groups, caller),
                or_(folders.c.parent_id.is_(None), _visible(parent.c.allowed_groups, caller)),
            )
            .order_by(func.lower(folders.c.name), folders.c.id)
        )
        if not include_archived:
            query = query.where(folders.c.archived_at.is_(None))
        return [_folder(r) for r in await self.session.execute(query)]

    async def has_subfolders(self, org_id: uuid.UUID, folder_id: uuid.UUID) -> bool:
        query = select(folders.c.id).where(
            folders.c.org_id == org_id, folders.c.parent_id == folder_id
        ).limit(1)
        return (await self.session.execute(query)).first() is not None

    async def save_folder(self, folder: Folder, now: datetime) -> Folder:
        row = (
            await self.session.execute(
                update(folders)
                .where(folders.c.org_id == folder.org_id, folders.c.id == folder.id)
                .values(
                    name=folder.name,
                    parent_id=folder.parent_id,
                    allowed_groups=list(folder.allowed_groups),
                    write_groups=list(folder.write_groups),
                    archived_at=folder.archived_at,
                    archived_by=folder.archived_by,
                    version=folders.c.version + 1,
                    updated_at=now,
                )
                .returning(*folders.c)
            )
        ).one()
        return _folder(row)

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
                parent_id=folder.parent_id,
                write_groups=list(folder.write_groups),
                archived_at=folder.archived_at,
                archived_by=folder.archived_by,
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
        query = org_row(documents, org_id, document_id, lock=lock)
        row = (await self.session.execute(query)).first()
        return _document(row) if row else None

    async def documents(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Document]:
        query = org_rows(documents, org_id, ids)
        return [_document(r) for r in await self.session.execute(query)]

    async def visible_documents(
        self,
        caller: Caller,
        *,
        folder_id: uuid.UUID | None,
        kind: DocumentKind | None,
        page: PageRequest,
        deleted: bool = False,
    ) -> list[Document]:
        parent = folders.alias("parent")
        query = (
            select(documents)
            .join(
                folders,
                and_(folders.c.id == documents.c.folder_id, folders.c.org_id == caller.org_id),
            )
            .outerjoin(parent, and_(parent.c.id == folders.c.parent_id,
                                    parent.c.org_id == caller.org_id))
            .where(
                documents.c.org_id == caller.org_id,
                _visible(folders.c.allowed_groups, caller),
                or_(folders.c.parent_id.is_(None), _visible(parent.c.allowed_groups, caller)),
                _visible(documents.c.allowed_groups, caller),
                documents.c.deleted_at.is_not(None) if deleted
                else documents.c.deleted_at.is_(None),
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

    async def save_document(self, document: Document, now: datetime) -> Document:
        row = (
            await self.session.execute(
                update(documents)
                .where(documents.c.org_id == document.org_id, documents.c.id == document.id)
                .values(
                    name=document.name,
                    folder_id=document.folder_id,
                    deleted_at=document.deleted_at,
                    deleted_by=document.deleted_by,
                    updated_at=now,
                )
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

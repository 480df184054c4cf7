"""What the documents use cases share: the unit of work they run in, event envelopes, the
clock and the visibility lookups."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from crmkit.auth import Caller
from crmkit.contracts import Envelope, Event
from crmkit.errors import ForbiddenError, NotFoundError
from crmkit.uow import UnitOfWork
from services.documents import domain as d
from services.documents.ports import DocumentsRepository

Work = UnitOfWork[DocumentsRepository]


def now() -> datetime:
    return datetime.now(UTC)


def wrap(event: Event, caller: Caller, aggregate_id: uuid.UUID, version: int) -> Envelope:
    return Envelope.wrap(
        event,
        org_id=caller.org_id,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        actor_id=caller.member_id,
    )


async def parent_of(repo: DocumentsRepository, folder: d.Folder) -> d.Folder | None:
    if folder.parent_id is None:
        return None
    return await repo.folder(folder.org_id, folder.parent_id)


async def visible_folder(
    repo: DocumentsRepository, caller: Caller, folder_id: uuid.UUID, *, lock: bool = False
) -> d.Folder:
    folder = await repo.folder(caller.org_id, folder_id, lock=lock)
    if folder is None or not d.sees_folder(caller, folder, await parent_of(repo, folder)):
        raise NotFoundError("Folder", folder_id)
    return folder


async def writable_folder(
    repo: DocumentsRepository, caller: Caller, folder_id: uuid.UUID, *, lock: bool = False
) -> d.Folder:
    """A folder the caller sees and may write in (neither it nor its parent archived)."""
    folder = await visible_folder(repo, caller, folder_id, lock=lock)
    d.require_writable(caller, folder)
    parent = await parent_of(repo, folder)
    if parent is not None and parent.archived_at is not None:
        raise ForbiddenError(f"folder '{parent.name}' is archived")
    return folder


async def visible_document(
    repo: DocumentsRepository, caller: Caller, document_id: uuid.UUID, *, lock: bool = False
) -> d.Document:
    document = await repo.document(caller.org_id, document_id, lock=lock)
    if document is not None and document.deleted_at is None:
        folder = await repo.folder(caller.org_id, document.folder_id)
        if (
            folder is not None
            and d.sees_folder(caller, folder, await parent_of(repo, folder))
            and d.sees(caller, document.allowed_groups)
        ):
            return document
    raise NotFoundError("Document", document_id)


async def visible_folders_by_id(
    repo: DocumentsRepository, caller: Caller, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, d.Folder]:
    """The folders among ``ids`` the caller sees (two queries, however many ids)."""
    folders = await repo.folders(caller.org_id, ids)
    parent_ids = list({f.parent_id for f in folders if f.parent_id is not None})
    parents = {p.id: p for p in await repo.folders(caller.org_id, parent_ids)} if parent_ids else {}
    return {
        f.id: f
        for f in folders
        if d.sees_folder(caller, f, None if f.parent_id is None else parents.get(f.parent_id))
        and (f.parent_id is None or f.parent_id in parents)
    }


async def visible_documents(
    repo: DocumentsRepository, caller: Caller, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, d.Document]:
    """The documents among ``ids`` the caller sees (three queries, however many ids)."""
    documents = [x for x in await repo.documents(caller.org_id, ids) if x.deleted_at is None]
    folders = await visible_folders_by_id(repo, caller, list({x.folder_id for x in documents}))
    return {
        x.id: x
        for x in documents
        if x.folder_id in folders and d.sees(caller, x.allowed_groups)
    }

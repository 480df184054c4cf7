"""What the documents use cases share: the unit of work they run in, event envelopes, the
clock and the visibility lookups."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from crmkit.auth import Caller
from crmkit.contracts import Envelope, Event
from crmkit.errors import NotFoundError
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


async def visible_folder(
    repo: DocumentsRepository, caller: Caller, folder_id: uuid.UUID, *, lock: bool = False
) -> d.Folder:
    folder = await repo.folder(caller.org_id, folder_id, lock=lock)
    if folder is None or not d.sees(caller, folder.allowed_groups):
        raise NotFoundError("Folder", folder_id)
    return folder


async def visible_document(
    repo: DocumentsRepository, caller: Caller, document_id: uuid.UUID, *, lock: bool = False
) -> d.Document:
    document = await repo.document(caller.org_id, document_id, lock=lock)
    if document is not None:
        folder = await repo.folder(caller.org_id, document.folder_id)
        if folder is not None and d.sees_document(
            caller, folder.allowed_groups, document.allowed_groups
        ):
            return document
    raise NotFoundError("Document", document_id)


async def visible_documents(
    repo: DocumentsRepository, caller: Caller, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, d.Document]:
    """The documents among ``ids`` the caller sees (two queries, however many ids)."""
    documents = await repo.documents(caller.org_id, ids)
    folders = {
        f.id: f for f in await repo.folders(caller.org_id, list({x.folder_id for x in documents}))
    }
    return {
        x.id: x
        for x in documents
        if x.folder_id in folders
        and d.sees_document(caller, folders[x.folder_id].allowed_groups, x.allowed_groups)
    }

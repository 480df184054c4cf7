"""Folders of the document library in GraphQL: the type and the payloads of the mutations
that change one (:mod:`.library` has the operations)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

import strawberry

from crmkit.commands import ById
from crmkit.graphql import CommonError, GraphQLContext
from crmkit.references import load_entity
from crmkit.rows import build
from crmkit.schema_context import gid, optional_gid
from services.documents import domain as d
from services.documents.handlers import library as h
from services.documents.schema.context import Info, caller, caller_of, uow_of


async def folders_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Folder]:
    return await h.folders_by_id(ById(caller_of(context), ids), uow_of(context))


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
        return build(
            cls, folder, id=gid(folder.id), allowed_groups=list(folder.allowed_groups),
            created_by=gid(folder.created_by), parent_id=optional_gid(folder.parent_id),
            write_groups=list(folder.write_groups), archived_by=optional_gid(folder.archived_by),
            folder=folder,
        )

    @strawberry.field(description="Whether the caller may write in it (not archived).")  # type: ignore[untyped-decorator]
    def can_write(self, info: Info) -> bool:
        return self.folder.archived_at is None and d.writes_in(caller(info), self.folder)

    @strawberry.field
    async def parent(self, info: Info) -> Folder | None:
        if self.folder.parent_id is None:
            return None
        parent = await load_entity(info, folders_by_id, gid(self.folder.parent_id))
        return Folder.of(parent) if parent else None


@strawberry.type
class CreateFolderPayload:
    folder: Folder


CreateFolderResult = Annotated[
    CreateFolderPayload | CommonError, strawberry.union("CreateFolderResult")
]


@strawberry.type
class SetFolderAccessPayload:
    folder: Folder


SetFolderAccessResult = Annotated[
    SetFolderAccessPayload | CommonError, strawberry.union("SetFolderAccessResult")
]


@strawberry.type
class ChangeFolderPayload:
    folder: Folder


ChangeFolderResult = Annotated[
    ChangeFolderPayload | CommonError, strawberry.union("ChangeFolderResult")
]

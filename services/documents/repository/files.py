"""The documents' versions and their files (bytes in the blob store, ADR 0015), in SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert

from crmkit.rows import build, values_of
from services.documents.domain import (
    Content,
    Document,
    DocumentVersion,
    NewContent,
    StoredFile,
    blob_key,
)
from services.documents.repository.base import SqlBase
from services.documents.tables import document_versions


def _version(row: Row[Any]) -> DocumentVersion:
    return build(DocumentVersion, row)


VERSION_COLUMNS = [c for c in document_versions.c if c.name != "content"]


class SqlFiles(SqlBase):
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
        version = build(DocumentVersion, content, document_id=document.id, number=number,
                        size_bytes=content.size, created_by=created_by, created_at=now)
        # The bytes are in the blob store (ADR 0015), none in the row.
        await self.session.execute(insert(document_versions).values(
            values_of(version, org_id=document.org_id, content=None)))
        return version

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

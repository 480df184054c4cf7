"""What every part of the SQL repository holds: the unit of work's session and the service's
one blob store."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.documents.ports import BlobStore


class SqlBase:
    def __init__(self, session: AsyncSession, store: BlobStore) -> None:
        self.session = session
        self.store = store

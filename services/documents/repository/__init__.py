"""The documents repository on PostgreSQL (:class:`services.documents.ports.
DocumentsRepository`), one module per concept: the library's folders and documents
(:mod:`.folders`), versions and their files (:mod:`.files`), offers and the offer library
(:mod:`.offers`), the read models of other services' events (:mod:`.projections`). Every method
takes the org id and filters on it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.documents.ports import BlobStore
from services.documents.repository.files import SqlFiles
from services.documents.repository.folders import SqlFolders
from services.documents.repository.offers import SqlOffers
from services.documents.repository.projections import SqlProjections

__all__ = ["SqlDocumentsRepository", "SqlRepositories"]


class SqlDocumentsRepository(SqlFolders, SqlFiles, SqlOffers, SqlProjections):
    """Over one unit of work's session, with the service's blob store."""


@dataclass(frozen=True)
class SqlRepositories:
    """Builds each unit of work's repository over its session and the service's one blob
    store."""

    store: BlobStore

    def __call__(self, session: AsyncSession) -> SqlDocumentsRepository:
        return SqlDocumentsRepository(session, self.store)


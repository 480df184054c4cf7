"""What the documents handlers need from storage: the repository protocol. The SQL repository
(:mod:`services.documents.repository`) and the in-memory one of the unit tests implement it;
one contract suite runs against both (``tests/integration/documents/test_repository.py``).

Every method takes the org id (or the caller, who carries it) and sees that org's rows only.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from crmkit.auth import Caller
from crmkit.paging import PageRequest
from services.documents.domain import (
    ContactPerson,
    Content,
    Document,
    DocumentKind,
    DocumentVersion,
    Folder,
    LibraryEntry,
    NewContent,
    Offer,
    OfferFile,
    OfferRevision,
    OfferSettings,
    OpportunityAccess,
    OpportunityDetails,
    Outcome,
    StoredFile,
)
from services.documents.merge import DealFacts


class BlobStore(Protocol):
    """Where the bytes of versions live, each under a key that names its content
    (:func:`services.documents.domain.blob_key`: the org and the sha256), so identical content
    is stored once and a stored blob never changes. Local files or an S3-compatible object
    store (:mod:`services.documents.storage`); one contract suite runs against both."""

    async def exists(self, key: str) -> bool: ...

    async def put(self, key: str, source: bytes | Path) -> None:
        """Store the bytes (in memory or a staged file) under ``key``; a key already stored
        is left as it is (same key, same content)."""
        ...

    async def read(self, key: str) -> bytes:
        """The whole blob (for small ones: templates); ``KeyError`` when it is missing."""
        ...

    def stream(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``start..end`` (inclusive; None: to the end) in chunks, never the whole
        blob in memory; ``KeyError`` when it is missing."""
        ...

    async def close(self) -> None: ...


class DocumentsRepository(Protocol):
    # --- folders ------------------------------------------------------------------------------

    async def folder(
        self, org_id: uuid.UUID, folder_id: uuid.UUID, *, lock: bool = False
    ) -> Folder | None:
        """One folder; ``lock`` holds it until the unit of work ends."""
        ...

    async def folders(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Folder]:
        """The folders among ``ids`` (any order)."""
        ...

    async def folder_name_taken(self, org_id: uuid.UUID, name: str) -> bool:
        """Whether a folder of the org has this name, ignoring case."""
        ...

    async def visible_folders(
        self, caller: Caller, *, include_archived: bool = False
    ) -> list[Folder]:
        """The folders the caller sees (a subfolder only with its parent), by name (ignoring
        case), then id; archived ones only with ``include_archived``."""
        ...

    async def has_subfolders(self, org_id: uuid.UUID, folder_id: uuid.UUID) -> bool: ...

    async def save_folder(self, folder: Folder, now: datetime) -> Folder:
        """Write the folder's name, parent, groups and archive mark; its version one up."""
        ...

    async def add_folder(self, folder: Folder) -> bool:
        """False, adding nothing, when a folder of the org has its name (ignoring case)."""
        ...

    async def set_folder_groups(
        self, folder: Folder, groups: Sequence[str], now: datetime
    ) -> Folder:
        """The folder with these groups, its version one up."""
        ...

    # --- documents ----------------------------------------------------------------------------

    async def document(
        self, org_id: uuid.UUID, document_id: uuid.UUID, *, lock: bool = False
    ) -> Document | None: ...

    async def documents(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Document]:
        """The documents among ``ids`` (any order)."""
        ...

    async def visible_documents(
        self,
        caller: Caller,
        *,
        folder_id: uuid.UUID | None,
        kind: DocumentKind | None,
        page: PageRequest,
        deleted: bool = False,
    ) -> list[Document]:
        """Up to ``page.fetch`` documents the caller sees (their folder, its parent and
        themselves), in ``(created_at, id)`` order after ``page.after``; not deleted ones, or
        only deleted ones with ``deleted``."""
        ...

    async def add_document(self, document: Document) -> None: ...

    async def add_version(
        self,
        document: Document,
        number: int,
        content: NewContent,
        created_by: uuid.UUID,
        now: datetime,
    ) -> DocumentVersion:
        """The version's row; its bytes put in the blob store first (a failed commit leaves
        an unreferenced blob, never a row without its bytes)."""
        ...

    async def bump_document_version(self, document: Document, now: datetime) -> Document:
        """The document with its current version one up."""
        ...

    async def save_document(self, document: Document, now: datetime) -> Document:
        """Write the document's name, folder and deletion mark (its content version stays)."""
        ...

    async def set_document_groups(
        self, document: Document, groups: Sequence[str], now: datetime
    ) -> Document: ...

    async def versions(self, org_id: uuid.UUID, document_id: uuid.UUID) -> list[DocumentVersion]:
        """Every version of the document, newest first."""
        ...

    async def version_content(
        self, org_id: uuid.UUID, document_id: uuid.UUID, number: int
    ) -> Content | None:
        """The bytes of a version, read whole (small ones: templates, GraphQL's base64)."""
        ...

    async def version_file(
        self, org_id: uuid.UUID, document_id: uuid.UUID, number: int
    ) -> StoredFile | None:
        """Where a version's bytes are, to stream them: the row's own (versions written
        before the blob store) or the store's key."""
        ...

    # --- offers -------------------------------------------------------------------------------

    async def add_offer(self, offer: Offer) -> None: ...

    async def offer(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, *, lock: bool = False
    ) -> Offer | None:
        """One offer; ``lock`` holds it until the unit of work ends."""
        ...

    async def update_offer(self, offer: Offer, search_text: str | None = None) -> None:
        """Store the offer's state (and its search text when given)."""
        ...

    async def offers(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Offer]:
        """The offers among ``ids`` (any order)."""
        ...

    async def offers_of(
        self, org_id: uuid.UUID, opportunity_ids: Sequence[uuid.UUID]
    ) -> list[Offer]:
        """The offers of these opportunities, newest first (then by id)."""
        ...

    async def next_offer_number(self, org_id: uuid.UUID, period: date) -> int:
        """The org's next offer sequence number in ``period``'s month (1, 2, ...); concurrent
        callers get distinct numbers."""
        ...

    async def add_offer_revision(self, revision: OfferRevision, data: bytes) -> None: ...

    async def offer_revisions(
        self, org_id: uuid.UUID, offer_id: uuid.UUID
    ) -> list[OfferRevision]:
        """Every revision of the offer, newest first."""
        ...

    async def offer_file(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, number: int
    ) -> OfferFile | None: ...

    async def issued_offers_until(self, day: date, limit: int) -> list[Offer]:
        """Offers of any org still issued whose validity ended before ``day``."""
        ...

    async def offer_library(
        self,
        org_id: uuid.UUID,
        *,
        terms: Sequence[str],
        outcome: Outcome | None,
        limit: int,
        offset: int,
    ) -> list[LibraryEntry]:
        """The org's offers of won or lost deals (not drafts), matching every search term as a
        word prefix of the offer's text or the deal's comment and lessons, newest first."""
        ...

    async def library_groups(self, org_id: uuid.UUID) -> tuple[str, ...]:
        """The groups that may read the org's offer library (empty: every member)."""
        ...

    async def set_library_groups(
        self, org_id: uuid.UUID, groups: Sequence[str], now: datetime
    ) -> None: ...

    # --- the local read models of deals, clients and members ----------------------------------

    async def opportunity_access(
        self, org_id: uuid.UUID, opportunity_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, OpportunityAccess]:
        """The owner and team of the opportunities among ``ids`` the pipeline reported."""
        ...

    async def record_opportunity(
        self,
        org_id: uuid.UUID,
        opportunity_id: uuid.UUID,
        access: OpportunityAccess,
        aggregate_version: int,
        now: datetime,
        details: OpportunityDetails | None = None,
    ) -> None:
        """Keep the owner and team (and the details); an event older than the one held
        changes nothing."""
        ...

    async def deal_facts(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> DealFacts | None:
        """What is known of the deal, its client (with its first contact person) and owner."""
        ...

    async def record_account(
        self,
        org_id: uuid.UUID,
        account_id: uuid.UUID,
        *,
        name: str,
        nip: str | None,
        address: str | None,
        aggregate_version: int,
    ) -> None:
        """Keep a client company; an older event changes nothing."""
        ...

    async def record_contact(self, org_id: uuid.UUID, contact: ContactPerson, *,
                             created_at: datetime, aggregate_version: int) -> None:
        """Keep a contact person as announced; an older event changes nothing."""
        ...

    async def forget_contact(self, org_id: uuid.UUID, contact_id: uuid.UUID,
                             account_id: uuid.UUID, *, at: datetime,
                             aggregate_version: int) -> None:
        """Drop a removed contact's details for good; an older event of theirs changes
        nothing afterwards."""
        ...

    async def record_member(self, org_id: uuid.UUID, member_id: uuid.UUID, name: str) -> None: ...

    async def offer_settings(self, org_id: uuid.UUID) -> OfferSettings:
        """The org's validity period (the default without a setting) and locale (None until
        the pipeline announced it)."""
        ...

    async def set_offer_validity(self, org_id: uuid.UUID, days: int, now: datetime) -> None: ...

    async def record_locale(self, org_id: uuid.UUID, locale: str, occurred_at: datetime) -> None:
        """Keep the org's locale unless a newer one (by ``occurred_at``) is already kept."""
        ...

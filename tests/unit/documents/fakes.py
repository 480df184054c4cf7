"""The documents repository in memory: what the handler unit tests run on. The repository
contract suite (``tests/integration/documents/test_repository.py``) holds it to the same
behaviour as the SQL repository."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from crmkit.auth import Caller
from crmkit.paging import PageRequest
from crmkit.testing.fakes import FakeUnitOfWork
from crmkit.testing.paging import keyset_page
from services.documents.domain import (
    VALIDITY_DAYS,
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
    OfferStatus,
    OpportunityAccess,
    OpportunityDetails,
    Outcome,
    StagedFile,
    StoredFile,
    blob_key,
    search_form,
    sees,
    sees_folder,
)
from services.documents.merge import DealFacts, Party


@dataclass
class FakeDocumentsRepository:
    folder_rows: dict[uuid.UUID, Folder] = field(default_factory=dict)
    document_rows: dict[uuid.UUID, Document] = field(default_factory=dict)
    version_rows: dict[tuple[uuid.UUID, int], tuple[DocumentVersion, Content]] = field(
        default_factory=dict
    )
    offer_rows: dict[uuid.UUID, Offer] = field(default_factory=dict)
    access_rows: dict[tuple[uuid.UUID, uuid.UUID], tuple[OpportunityAccess, int]] = field(
        default_factory=dict
    )
    detail_rows: dict[tuple[uuid.UUID, uuid.UUID], OpportunityDetails] = field(
        default_factory=dict)
    search_rows: dict[uuid.UUID, str] = field(default_factory=dict)
    revision_rows: dict[tuple[uuid.UUID, int], tuple[OfferRevision, bytes]] = field(
        default_factory=dict)
    number_rows: dict[tuple[uuid.UUID, date], int] = field(default_factory=dict)
    account_rows: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, str | None, str | None, int]] = (
        field(default_factory=dict))
    # (org, contact) -> the contact (None once removed), its creation, the newest version
    contact_rows: dict[tuple[uuid.UUID, uuid.UUID],
                       tuple[ContactPerson | None, datetime, int]] = field(
        default_factory=dict)
    member_rows: dict[tuple[uuid.UUID, uuid.UUID], str] = field(default_factory=dict)
    library_rows: dict[uuid.UUID, tuple[str, ...]] = field(default_factory=dict)
    validity_rows: dict[uuid.UUID, int] = field(default_factory=dict)
    locale_rows: dict[uuid.UUID, tuple[str, datetime]] = field(default_factory=dict)

    # --- folders ------------------------------------------------------------------------------

    async def folder(
        self, org_id: uuid.UUID, folder_id: uuid.UUID, *, lock: bool = False
    ) -> Folder | None:
        found = self.folder_rows.get(folder_id)
        return found if found is not None and found.org_id == org_id else None

    async def folders(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Folder]:
        return [f for i in set(ids) if (f := await self.folder(org_id, i)) is not None]

    async def folder_name_taken(self, org_id: uuid.UUID, name: str) -> bool:
        return any(
            f.org_id == org_id and f.name.lower() == name.lower()
            for f in self.folder_rows.values()
        )

    def _sees_folder(self, caller: Caller, folder: Folder) -> bool:
        parent = None if folder.parent_id is None else self.folder_rows.get(folder.parent_id)
        return folder.org_id == caller.org_id and sees_folder(caller, folder, parent)

    async def visible_folders(
        self, caller: Caller, *, include_archived: bool = False
    ) -> list[Folder]:
        return sorted(
            (f for f in self.folder_rows.values()
             if self._sees_folder(caller, f) and (include_archived or f.archived_at is None)),
            key=lambda f: (f.name.lower(), f.id),
        )

    async def has_subfolders(self, org_id: uuid.UUID, folder_id: uuid.UUID) -> bool:
        return any(f.org_id == org_id and f.parent_id == folder_id
                   for f in self.folder_rows.values())

    async def save_folder(self, folder: Folder, now: datetime) -> Folder:
        stored = self.folder_rows[folder.id]
        changed = replace(folder, version=stored.version + 1, updated_at=now)
        self.folder_rows[folder.id] = changed
        return changed

    async def add_folder(self, folder: Folder) -> bool:
        if await self.folder_name_taken(folder.org_id, folder.name):
            return False
        self.folder_rows[folder.id] = folder
        return True

    async def set_folder_groups(
        self, folder: Folder, groups: Sequence[str], now: datetime
    ) -> Folder:
        stored = self.folder_rows[folder.id]
        changed = replace(stored, allowed_groups=tuple(groups), version=stored.version + 1,
                          updated_at=now)
        self.folder_rows[folder.id] = changed
        return changed

    # --- documents ----------------------------------------------------------------------------

    async def document(
        self, org_id: uuid.UUID, document_id: uuid.UUID, *, lock: bool = False
    ) -> Document | None:
        found = self.document_rows.get(document_id)
        return found if found is not None and found.org_id == org_id else None

    async def documents(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Document]:
        return [x for i in set(ids) if (x := await self.document(org_id, i)) is not None]

    async def visible_documents(
        self,
        caller: Caller,
        *,
        folder_id: uuid.UUID | None,
        kind: DocumentKind | None,
        page: PageRequest,
        deleted: bool = False,
    ) -> list[Document]:
        def visible(x: Document) -> bool:
            folder = self.folder_rows.get(x.folder_id)
            return (
                x.org_id == caller.org_id
                and folder is not None
                and self._sees_folder(caller, folder)
                and sees(caller, x.allowed_groups)
                and (x.deleted_at is not None) == deleted
                and (folder_id is None or x.folder_id == folder_id)
                and (kind is None or x.kind is kind)
            )

        return keyset_page(filter(visible, self.document_rows.values()),
                           lambda x: (x.created_at, x.id), page)

    async def add_document(self, document: Document) -> None:
        self.document_rows[document.id] = document

    async def add_version(
        self,
        document: Document,
        number: int,
        content: NewContent,
        created_by: uuid.UUID,
        now: datetime,
    ) -> DocumentVersion:
        if isinstance(content, StagedFile):  # the test's own staged file, read whole here
            data = await asyncio.to_thread(Path(content.path).read_bytes)
            content = Content(data=data, media_type=content.media_type, sha256=content.sha256)
        version = DocumentVersion(
            document_id=document.id, number=number, media_type=content.media_type,
            size_bytes=content.size, sha256=content.sha256, created_by=created_by,
            created_at=now,
        )
        self.version_rows[(document.id, number)] = (version, content)
        return version

    async def bump_document_version(self, document: Document, now: datetime) -> Document:
        stored = self.document_rows[document.id]
        changed = replace(stored, current_version=stored.current_version + 1, updated_at=now)
        self.document_rows[document.id] = changed
        return changed

    async def save_document(self, document: Document, now: datetime) -> Document:
        stored = self.document_rows[document.id]
        changed = replace(stored, name=document.name, folder_id=document.folder_id,
                          deleted_at=document.deleted_at, deleted_by=document.deleted_by,
                          updated_at=now)
        self.document_rows[document.id] = changed
        return changed

    async def set_document_groups(
        self, document: Document, groups: Sequence[str], now: datetime
    ) -> Document:
        changed = replace(self.document_rows[document.id], allowed_groups=tuple(groups),
                          updated_at=now)
        self.document_rows[document.id] = changed
        return changed

    async def versions(self, org_id: uuid.UUID, document_id: uuid.UUID) -> list[DocumentVersion]:
        if await self.document(org_id, document_id) is None:
            return []
        found = [v for (doc, _), (v, _) in self.version_rows.items() if doc == document_id]
        return sorted(found, key=lambda v: v.number, reverse=True)

    async def version_content(
        self, org_id: uuid.UUID, document_id: uuid.UUID, number: int
    ) -> Content | None:
        if await self.document(org_id, document_id) is None:
            return None
        found = self.version_rows.get((document_id, number))
        return found[1] if found else None

    async def version_file(
        self, org_id: uuid.UUID, document_id: uuid.UUID, number: int
    ) -> StoredFile | None:
        if await self.document(org_id, document_id) is None:
            return None
        found = self.version_rows.get((document_id, number))
        if found is None:
            return None
        version, content = found
        return StoredFile(version, blob_key(org_id, version.sha256), inline=content.data)

    # --- offers -------------------------------------------------------------------------------

    async def add_offer(self, offer: Offer) -> None:
        self.offer_rows[offer.id] = offer

    async def offer(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, *, lock: bool = False
    ) -> Offer | None:
        found = self.offer_rows.get(offer_id)
        return found if found is not None and found.org_id == org_id else None

    async def update_offer(self, offer: Offer, search_text: str | None = None) -> None:
        self.offer_rows[offer.id] = offer
        if search_text is not None:
            self.search_rows[offer.id] = search_text

    async def offers(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Offer]:
        return [o for i in set(ids)
                if (o := self.offer_rows.get(i)) is not None and o.org_id == org_id]

    async def offers_of(
        self, org_id: uuid.UUID, opportunity_ids: Sequence[uuid.UUID]
    ) -> list[Offer]:
        wanted = set(opportunity_ids)
        found = [o for o in self.offer_rows.values()
                 if o.org_id == org_id and o.opportunity_id in wanted]
        found.sort(key=lambda o: o.id)
        found.sort(key=lambda o: o.issued_at or o.created_at or datetime.min, reverse=True)
        return found

    async def next_offer_number(self, org_id: uuid.UUID, period: date) -> int:
        key = (org_id, period.replace(day=1))
        self.number_rows[key] = self.number_rows.get(key, 0) + 1
        return self.number_rows[key]

    async def add_offer_revision(self, revision: OfferRevision, data: bytes) -> None:
        self.revision_rows[(revision.offer_id, revision.number)] = (revision, data)

    async def offer_revisions(
        self, org_id: uuid.UUID, offer_id: uuid.UUID
    ) -> list[OfferRevision]:
        found = [r for (o, _), (r, _) in self.revision_rows.items()
                 if o == offer_id and r.org_id == org_id]
        return sorted(found, key=lambda r: r.number, reverse=True)

    async def offer_file(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, number: int
    ) -> OfferFile | None:
        found = self.revision_rows.get((offer_id, number))
        if found is None or found[0].org_id != org_id:
            return None
        return OfferFile(found[1], found[0].media_type, found[0].sha256)

    async def issued_offers_until(self, day: date, limit: int) -> list[Offer]:
        found = [o for o in self.offer_rows.values() if o.status is OfferStatus.ISSUED
                 and o.valid_until is not None and o.valid_until < day]
        return sorted(found, key=lambda o: (o.valid_until, o.id))[:limit]

    async def offer_library(
        self,
        org_id: uuid.UUID,
        *,
        terms: Sequence[str],
        outcome: Outcome | None,
        limit: int,
        offset: int,
    ) -> list[LibraryEntry]:
        entries = []
        for offer in self.offer_rows.values():
            details = self.detail_rows.get((org_id, offer.opportunity_id))
            if offer.org_id != org_id or offer.status is OfferStatus.DRAFT or details is None \
                    or details.status not in ("won", "lost"):
                continue
            won = Outcome.WON if details.status == "won" else Outcome.LOST
            if outcome is not None and won is not outcome:
                continue
            words = (self.search_rows.get(offer.id, "") + " " + search_form(" ".join(
                p for p in (details.close_reason, details.close_comment,
                            details.lessons_learned) if p))).split()
            if not all(any(w.startswith(t) for w in words) for t in terms):
                continue
            account = self.account_rows.get((org_id, details.account_id)) \
                if details.account_id else None
            entries.append(LibraryEntry(
                offer=offer, deal_name=details.name, client_name=account[0] if account else "",
                outcome=won, close_reason=details.close_reason,
                close_comment=details.close_comment, lessons_learned=details.lessons_learned,
                closed_at=details.closed_at))
        entries.sort(key=lambda e: e.offer.id)
        entries.sort(key=lambda e: e.offer.issued_at or e.offer.created_at or datetime.min,
                     reverse=True)
        entries.sort(key=lambda e: (e.closed_at is None, -(e.closed_at.timestamp()
                                                          if e.closed_at else 0)))
        return entries[offset: offset + limit]

    async def library_groups(self, org_id: uuid.UUID) -> tuple[str, ...]:
        return self.library_rows.get(org_id, ())

    async def set_library_groups(
        self, org_id: uuid.UUID, groups: Sequence[str], now: datetime
    ) -> None:
        self.library_rows[org_id] = tuple(groups)

    async def offer_settings(self, org_id: uuid.UUID) -> OfferSettings:
        locale = self.locale_rows.get(org_id)
        return OfferSettings(validity_days=self.validity_rows.get(org_id, VALIDITY_DAYS),
                             locale=locale[0] if locale else None)

    async def set_offer_validity(self, org_id: uuid.UUID, days: int, now: datetime) -> None:
        self.validity_rows[org_id] = days

    async def record_locale(self, org_id: uuid.UUID, locale: str, occurred_at: datetime) -> None:
        held = self.locale_rows.get(org_id)
        if held is None or held[1] <= occurred_at:
            self.locale_rows[org_id] = (locale, occurred_at)

    # --- the local read models of deals, clients and members ----------------------------------

    async def opportunity_access(
        self, org_id: uuid.UUID, opportunity_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, OpportunityAccess]:
        return {i: self.access_rows[(org_id, i)][0]
                for i in opportunity_ids if (org_id, i) in self.access_rows}

    async def record_opportunity(
        self,
        org_id: uuid.UUID,
        opportunity_id: uuid.UUID,
        access: OpportunityAccess,
        aggregate_version: int,
        now: datetime,
        details: OpportunityDetails | None = None,
    ) -> None:
        held = self.access_rows.get((org_id, opportunity_id))
        if held is None or held[1] <= aggregate_version:
            self.access_rows[(org_id, opportunity_id)] = (access, aggregate_version)
            if details is not None:
                self.detail_rows[(org_id, opportunity_id)] = details

    async def deal_facts(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> DealFacts | None:
        held = self.access_rows.get((org_id, opportunity_id))
        if held is None:
            return None
        access = held[0]
        details = self.detail_rows.get((org_id, opportunity_id))
        account = self.account_rows.get((org_id, details.account_id)) \
            if details and details.account_id else None
        contacts = sorted(((c, at) for (o, _), (c, at, _v) in self.contact_rows.items()
                           if o == org_id and details and c is not None
                           and c.account_id == details.account_id),
                          key=lambda pair: (pair[1], pair[0].contact_id))
        contact = contacts[0][0] if contacts else None
        return DealFacts(
            opportunity_id=opportunity_id,
            name=details.name if details else "",
            amount=details.amount if details else None,
            currency=details.currency if details else None,
            expected_close_date=details.expected_close_date if details else None,
            stage=details.stage_name if details else "",
            status=details.status if details else "open",
            owner_id=access.owner_id,
            owner=Party(name=self.member_rows.get((org_id, access.owner_id), "")),
            account_id=details.account_id if details else None,
            client_name=account[0] if account else "",
            client_nip=(account[1] or "") if account else "",
            client_address=(account[2] or "") if account else "",
            contact=Party(name=contact.name, email=contact.email or "",
                          phone=contact.phone or "", position=contact.position or "")
            if contact else Party(),
        )

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
        held = self.account_rows.get((org_id, account_id))
        if held is None or held[3] <= aggregate_version:
            self.account_rows[(org_id, account_id)] = (name, nip, address, aggregate_version)

    async def record_contact(self, org_id: uuid.UUID, contact: ContactPerson, *,
                             created_at: datetime, aggregate_version: int) -> None:
        self._keep_contact(org_id, contact.contact_id, (contact, created_at, aggregate_version))

    async def forget_contact(self, org_id: uuid.UUID, contact_id: uuid.UUID,
                             account_id: uuid.UUID, *, at: datetime,
                             aggregate_version: int) -> None:
        self._keep_contact(org_id, contact_id, (None, at, aggregate_version))

    def _keep_contact(self, org_id: uuid.UUID, contact_id: uuid.UUID,
                      row: tuple[ContactPerson | None, datetime, int]) -> None:
        held = self.contact_rows.get((org_id, contact_id))
        if held is None or held[2] <= row[2]:
            self.contact_rows[(org_id, contact_id)] = row

    async def record_member(self, org_id: uuid.UUID, member_id: uuid.UUID, name: str) -> None:
        self.member_rows[(org_id, member_id)] = name


def fake_uow(repo: FakeDocumentsRepository | None = None) -> FakeUnitOfWork[
    FakeDocumentsRepository
]:
    return FakeUnitOfWork(repo or FakeDocumentsRepository())

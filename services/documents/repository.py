"""The documents repository on PostgreSQL (:class:`services.documents.ports.
DocumentsRepository`). Every method takes the org id and filters on it; visibility by group is
applied in SQL so pages are never short."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, and_, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import REGCONFIG, insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.auth import Caller
from crmkit.paging import PageRequest
from crmkit.projections import upsert_newer
from crmkit.rows import build, values_of
from crmkit.tables import org_row, org_rows
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
    OfferStatus,
    OpportunityAccess,
    OpportunityDetails,
    Outcome,
    StoredFile,
    blob_key,
    search_form,
)
from services.documents.merge import DealFacts, Party
from services.documents.ports import BlobStore
from services.documents.tables import (
    accounts,
    contacts,
    document_versions,
    documents,
    folders,
    members,
    offer_library_access,
    offer_numbers,
    offer_revisions,
    offer_settings,
    offers,
    opportunity_access,
    organization_locales,
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
    return build(Folder, row, allowed_groups=tuple(row.allowed_groups),
                 write_groups=tuple(row.write_groups))


def _document(row: Row[Any]) -> Document:
    return build(Document, row, kind=DocumentKind(row.kind),
                 allowed_groups=tuple(row.allowed_groups))


def _version(row: Row[Any]) -> DocumentVersion:
    return build(DocumentVersion, row)


def _offer(row: Row[Any]) -> Offer:
    return build(Offer, row, status=OfferStatus(row.status))


def _offer_values(offer: Offer) -> dict[str, Any]:
    """What changes of an offer (all but its id, org and deal)."""
    return values_of(offer, omit=("id", "org_id", "opportunity_id"), status=offer.status.value)


def _revision(row: Row[Any]) -> OfferRevision:
    return build(OfferRevision, row, merge_data=dict(row.merge_data))


VERSION_COLUMNS = [c for c in document_versions.c if c.name != "content"]
REVISION_COLUMNS = [c for c in offer_revisions.c if c.name != "file"]
# Offers sort by when they were issued, drafts (not issued yet) by when they were made.
OFFER_TIME = func.coalesce(offers.c.issued_at, offers.c.created_at)


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

    # --- offers -----------------------------------------------------------------------

    async def add_offer(self, offer: Offer) -> None:
        await self.session.execute(
            insert(offers).values(values_of(offer, status=offer.status.value))
        )

    async def offer(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, *, lock: bool = False
    ) -> Offer | None:
        row = (await self.session.execute(org_row(offers, org_id, offer_id, lock=lock))).first()
        return _offer(row) if row else None

    async def update_offer(self, offer: Offer, search_text: str | None = None) -> None:
        values = _offer_values(offer)
        if search_text is not None:
            values["search_text"] = search_text
        await self.session.execute(
            update(offers)
            .where(offers.c.org_id == offer.org_id, offers.c.id == offer.id)
            .values(**values)
        )

    async def offers(self, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[Offer]:
        query = org_rows(offers, org_id, ids)
        return [_offer(r) for r in await self.session.execute(query)]

    async def offers_of(
        self, org_id: uuid.UUID, opportunity_ids: Sequence[uuid.UUID]
    ) -> list[Offer]:
        query = (
            select(offers)
            .where(offers.c.org_id == org_id, offers.c.opportunity_id.in_(opportunity_ids))
            .order_by(OFFER_TIME.desc(), offers.c.id)
        )
        return [_offer(r) for r in await self.session.execute(query)]

    async def next_offer_number(self, org_id: uuid.UUID, period: date) -> int:
        month = period.replace(day=1)
        statement = insert(offer_numbers).values(org_id=org_id, period=month, last=1)
        row = (
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=[offer_numbers.c.org_id, offer_numbers.c.period],
                    set_={"last": offer_numbers.c.last + 1},
                ).returning(offer_numbers.c.last)
            )
        ).one()
        return int(row.last)

    async def add_offer_revision(self, revision: OfferRevision, data: bytes) -> None:
        await self.session.execute(
            insert(offer_revisions).values(values_of(revision, file=data))
        )

    async def offer_revisions(
        self, org_id: uuid.UUID, offer_id: uuid.UUID
    ) -> list[OfferRevision]:
        query = (
            select(*REVISION_COLUMNS)
            .where(offer_revisions.c.org_id == org_id, offer_revisions.c.offer_id == offer_id)
            .order_by(offer_revisions.c.number.desc())
        )
        return [_revision(r) for r in await self.session.execute(query)]

    async def offer_file(
        self, org_id: uuid.UUID, offer_id: uuid.UUID, number: int
    ) -> OfferFile | None:
        r = offer_revisions.c
        query = select(r.file, r.media_type, r.sha256).where(
            r.org_id == org_id, r.offer_id == offer_id, r.number == number
        )
        row = (await self.session.execute(query)).first()
        return OfferFile(bytes(row.file), row.media_type, row.sha256) if row else None

    async def issued_offers_until(self, day: date, limit: int) -> list[Offer]:
        query = (
            select(offers)
            .where(offers.c.status == OfferStatus.ISSUED.value, offers.c.valid_until < day)
            .order_by(offers.c.valid_until, offers.c.id)
            .limit(limit)
        )
        return [_offer(r) for r in await self.session.execute(query)]

    async def offer_library(
        self,
        org_id: uuid.UUID,
        *,
        terms: Sequence[str],
        outcome: Outcome | None,
        limit: int,
        offset: int,
    ) -> list[LibraryEntry]:
        a = opportunity_access.c
        status = {Outcome.WON: "won", Outcome.LOST: "lost"}
        wanted = [status[outcome]] if outcome else list(status.values())
        query = (
            select(offers, a.name.label("deal_name"), a.status.label("deal_status"),
                   a.close_reason, a.close_comment, a.lessons_learned, a.closed_at,
                   accounts.c.name.label("client_name"))
            .join(opportunity_access, and_(a.org_id == offers.c.org_id,
                                           a.opportunity_id == offers.c.opportunity_id))
            .outerjoin(accounts, and_(accounts.c.org_id == a.org_id,
                                      accounts.c.account_id == a.account_id))
            .where(offers.c.org_id == org_id, offers.c.status != OfferStatus.DRAFT.value,
                   a.status.in_(wanted))
            .order_by(a.closed_at.desc().nulls_last(), OFFER_TIME.desc(), offers.c.id)
            .limit(limit)
            .offset(offset)
        )
        if terms:
            # Both sides in search form (lower case, no diacritics), each term a word prefix.
            document = func.to_tsvector(
                literal("simple").cast(REGCONFIG),
                offers.c.search_text + " " + func.coalesce(a.search_text, ""),
            )
            wanted_terms = " & ".join(f"{term}:*" for term in terms)
            query = query.where(document.op("@@")(
                func.to_tsquery(literal("simple").cast(REGCONFIG), wanted_terms)))
        return [
            LibraryEntry(
                offer=_offer(row),
                deal_name=row.deal_name or "",
                client_name=row.client_name or "",
                outcome=Outcome.WON if row.deal_status == "won" else Outcome.LOST,
                close_reason=row.close_reason,
                close_comment=row.close_comment,
                lessons_learned=row.lessons_learned,
                closed_at=row.closed_at,
            )
            for row in await self.session.execute(query)
        ]

    async def library_groups(self, org_id: uuid.UUID) -> tuple[str, ...]:
        query = select(offer_library_access.c.allowed_groups).where(
            offer_library_access.c.org_id == org_id)
        row = (await self.session.execute(query)).first()
        return tuple(row.allowed_groups) if row else ()

    async def set_library_groups(
        self, org_id: uuid.UUID, groups: Sequence[str], now: datetime
    ) -> None:
        statement = insert(offer_library_access).values(
            org_id=org_id, allowed_groups=list(groups), updated_at=now)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[offer_library_access.c.org_id],
            set_={"allowed_groups": statement.excluded.allowed_groups,
                  "updated_at": statement.excluded.updated_at}))

    # --- the local read models of deals, clients and members ----------------------------

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
        details: OpportunityDetails | None = None,
    ) -> None:
        """Upsert the owner and team (and details); an event older than what we hold changes
        nothing (events of one opportunity may arrive out of order after a redelivery)."""
        values: dict[str, Any] = {
            "owner_id": access.owner_id,
            "team": access.team,
            "aggregate_version": aggregate_version,
            "updated_at": now,
        }
        if details is not None:
            values.update(_details_values(details))
        await self.session.execute(upsert_newer(
            opportunity_access, {"org_id": org_id, "opportunity_id": opportunity_id, **values},
            ("org_id", "opportunity_id"), version="aggregate_version", or_same=True,
        ))

    async def deal_facts(self, org_id: uuid.UUID, opportunity_id: uuid.UUID) -> DealFacts | None:
        a = opportunity_access.c
        first_contact = (
            select(contacts)
            .where(contacts.c.org_id == org_id, contacts.c.account_id == a.account_id)
            .order_by(contacts.c.created_at, contacts.c.contact_id)
            .limit(1)
            .lateral("first_contact")
        )
        query = (
            select(opportunity_access, accounts.c.name.label("client_name"), accounts.c.nip,
                   accounts.c.address, members.c.name.label("owner_name"),
                   first_contact.c.name.label("contact_name"),
                   first_contact.c.email.label("contact_email"),
                   first_contact.c.phone.label("contact_phone"),
                   first_contact.c.position.label("contact_position"))
            .outerjoin(accounts, and_(accounts.c.org_id == a.org_id,
                                      accounts.c.account_id == a.account_id))
            .outerjoin(members, and_(members.c.org_id == a.org_id,
                                     members.c.member_id == a.owner_id))
            .outerjoin(first_contact, literal(True))
            .where(a.org_id == org_id, a.opportunity_id == opportunity_id)
        )
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return DealFacts(
            opportunity_id=opportunity_id,
            name=row.name or "",
            amount=row.amount,
            currency=row.currency,
            expected_close_date=row.expected_close_date,
            stage=row.stage_name or "",
            status=row.status or "open",
            owner_id=row.owner_id,
            owner=Party(name=row.owner_name or ""),
            account_id=row.account_id,
            client_name=row.client_name or "",
            client_nip=row.nip or "",
            client_address=row.address or "",
            contact=Party(name=row.contact_name or "", email=row.contact_email or "",
                          phone=row.contact_phone or "", position=row.contact_position or ""),
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
        await self.session.execute(upsert_newer(
            accounts, {"org_id": org_id, "account_id": account_id, "name": name, "nip": nip,
                       "address": address, "aggregate_version": aggregate_version},
            ("org_id", "account_id"), version="aggregate_version", or_same=True,
        ))

    async def record_contact(self, org_id: uuid.UUID, contact: ContactPerson,
                             now: datetime) -> None:
        await self.session.execute(
            insert(contacts).values(
                org_id=org_id, contact_id=contact.contact_id, account_id=contact.account_id,
                name=contact.name, email=contact.email, phone=contact.phone,
                position=contact.position, created_at=now,
            ).on_conflict_do_nothing()
        )

    async def record_member(self, org_id: uuid.UUID, member_id: uuid.UUID, name: str) -> None:
        statement = insert(members).values(org_id=org_id, member_id=member_id, name=name)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[members.c.org_id, members.c.member_id],
                set_={"name": statement.excluded.name},
            )
        )

    # --- the org's offer settings and locale --------------------------------------------

    async def offer_settings(self, org_id: uuid.UUID) -> OfferSettings:
        days = (await self.session.execute(select(offer_settings.c.validity_days).where(
            offer_settings.c.org_id == org_id))).scalar()
        locale = (await self.session.execute(select(organization_locales.c.locale).where(
            organization_locales.c.org_id == org_id))).scalar()
        return OfferSettings(**({"validity_days": days} if days is not None else {}),
                             locale=locale)

    async def set_offer_validity(self, org_id: uuid.UUID, days: int, now: datetime) -> None:
        statement = insert(offer_settings).values(org_id=org_id, validity_days=days,
                                                  updated_at=now)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=[offer_settings.c.org_id],
            set_={"validity_days": statement.excluded.validity_days,
                  "updated_at": statement.excluded.updated_at}))

    async def record_locale(self, org_id: uuid.UUID, locale: str, occurred_at: datetime) -> None:
        # The org's settings have no version: the newest event by its time wins.
        await self.session.execute(upsert_newer(
            organization_locales, {"org_id": org_id, "locale": locale, "occurred_at": occurred_at},
            ["org_id"], version="occurred_at", or_same=True))


def _details_values(details: OpportunityDetails) -> dict[str, Any]:
    return values_of(details, search_text=search_form(" ".join(
        part for part in (details.close_reason, details.close_comment, details.lessons_learned)
        if part)))

"""Offers, their revisions and numbers, the offer library and the org's offer settings, in
SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, func, literal, select, update
from sqlalchemy.dialects.postgresql import REGCONFIG, insert

from crmkit.projections import upsert_newer
from crmkit.rows import build, values_of
from crmkit.tables import org_row, org_rows
from services.documents.domain import (
    LibraryEntry,
    Offer,
    OfferFile,
    OfferRevision,
    OfferSettings,
    OfferStatus,
    Outcome,
)
from services.documents.repository.base import SqlBase
from services.documents.tables import (
    accounts,
    offer_library_access,
    offer_numbers,
    offer_revisions,
    offer_settings,
    offers,
    opportunity_access,
    organization_locales,
)


def _offer(row: Row[Any]) -> Offer:
    return build(Offer, row, status=OfferStatus(row.status))


def _offer_values(offer: Offer) -> dict[str, Any]:
    """What changes of an offer (all but its id, org and deal)."""
    return values_of(offer, omit=("id", "org_id", "opportunity_id"), status=offer.status.value)


def _revision(row: Row[Any]) -> OfferRevision:
    return build(OfferRevision, row, merge_data=dict(row.merge_data))


REVISION_COLUMNS = [c for c in offer_revisions.c if c.name != "file"]
# Offers sort by when they were issued, drafts (not issued yet) by when they were made.
OFFER_TIME = func.coalesce(offers.c.issued_at, offers.c.created_at)


class SqlOffers(SqlBase):
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

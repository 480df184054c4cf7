"""The local read models of other services' deals, clients and members, kept from their
events, in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, literal, select
from sqlalchemy.dialects.postgresql import insert

from crmkit.projections import upsert_newer
from crmkit.rows import values_of
from crmkit.values import search_form
from services.documents.domain import ContactPerson, OpportunityAccess, OpportunityDetails
from services.documents.merge import DealFacts, Party
from services.documents.repository.base import SqlBase
from services.documents.tables import accounts, contacts, members, opportunity_access


class SqlProjections(SqlBase):
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
            .where(contacts.c.org_id == org_id, contacts.c.account_id == a.account_id,
                   contacts.c.removed.is_(False))
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

    async def record_contact(self, org_id: uuid.UUID, contact: ContactPerson, *,
                             created_at: datetime, aggregate_version: int) -> None:
        await self.session.execute(upsert_newer(contacts, {
            "org_id": org_id, **values_of(contact), "created_at": created_at,
            "aggregate_version": aggregate_version, "removed": False,
        }, ("org_id", "contact_id"), version="aggregate_version", or_same=True))

    async def forget_contact(self, org_id: uuid.UUID, contact_id: uuid.UUID,
                             account_id: uuid.UUID, *, at: datetime,
                             aggregate_version: int) -> None:
        await self.session.execute(upsert_newer(contacts, {
            "org_id": org_id, "contact_id": contact_id, "account_id": account_id, "name": "",
            "email": None, "phone": None, "position": None, "created_at": at,
            "aggregate_version": aggregate_version, "removed": True,
        }, ("org_id", "contact_id"), version="aggregate_version", or_same=True))

    async def record_member(self, org_id: uuid.UUID, member_id: uuid.UUID, name: str) -> None:
        statement = insert(members).values(org_id=org_id, member_id=member_id, name=name)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[members.c.org_id, members.c.member_id],
                set_={"name": statement.excluded.name},
            )
        )


def _details_values(details: OpportunityDetails) -> dict[str, Any]:
    return values_of(details, search_text=search_form(" ".join(
        part for part in (details.close_reason, details.close_comment, details.lessons_learned)
        if part)))

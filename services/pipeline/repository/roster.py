"""The leads service's roster and accounts, as kept from its events, in SQL."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from crmkit.projections import upsert_newer
from crmkit.rows import values_of
from services.pipeline import domain as d
from services.pipeline.repository.base import SqlBase
from services.pipeline.tables import accounts, members


class SqlRoster(SqlBase):
    async def member(self, org_id: uuid.UUID, member_id: uuid.UUID) -> d.RosterMember | None:
        row = (await self.session.execute(
            select(members.c.team).where(members.c.org_id == org_id,
                                         members.c.member_id == member_id)
        )).first()
        return None if row is None else d.RosterMember(org_id, member_id, row.team)

    async def record_member(self, member: d.RosterMember, version: int) -> bool:
        written = await self.session.execute(upsert_newer(
            members, values_of(member, version=version), ("org_id", "member_id"),
        ).returning(members.c.member_id))
        return written.first() is not None

    async def account_exists(self, org_id: uuid.UUID, account_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(accounts.c.account_id).where(accounts.c.org_id == org_id,
                                                accounts.c.account_id == account_id)
        )
        return found is not None

    async def record_account(self, org_id: uuid.UUID, account_id: uuid.UUID, version: int) -> bool:
        written = await self.session.execute(
            pg_insert(accounts)
            .values(org_id=org_id, account_id=account_id, version=version)
            .on_conflict_do_nothing()
            .returning(accounts.c.account_id)
        )
        return written.first() is not None

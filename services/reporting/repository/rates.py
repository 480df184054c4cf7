"""The org's base currency and exchange rates (kept in ``public``: not derived from events,
they survive a rebuild)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Uuid, bindparam, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import tables as t
from services.reporting.domain.money import Rates

_r = t.exchange_rates.c
_settings = t.org_settings.c
# Every query with money reads these: built once, one round trip.
_RATES = (
    select(
        select(_settings.base_currency)
        .where(_settings.org_id == bindparam("org", type_=Uuid))
        .scalar_subquery(),
        _r.currency, _r.rate,
    )
    .select_from(select(literal(1)).subquery())
    .outerjoin(t.exchange_rates, _r.org_id == bindparam("org", type_=Uuid))
)


class SqlRates:
    session: AsyncSession

    async def rates(self, org_id: uuid.UUID, default_base: str) -> Rates:
        rows = (await self.session.execute(_RATES, {"org": org_id})).all()
        chosen = rows[0][0] if rows and rows[0][0] else default_base
        return Rates(chosen, {row[1]: Decimal(row[2]) for row in rows if row[1] is not None})

    async def base_currency(self, org_id: uuid.UUID) -> str | None:
        chosen: str | None = await self.session.scalar(
            select(_settings.base_currency).where(_settings.org_id == org_id).with_for_update()
        )
        return chosen

    async def set_base_currency(
        self, org_id: uuid.UUID, currency: str, now: datetime
    ) -> None:
        stmt = insert(t.org_settings).values(org_id=org_id, base_currency=currency,
                                             updated_at=now)
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=["org_id"], set_={"base_currency": currency, "updated_at": now},
        ))
        await self.session.execute(t.exchange_rates.delete().where(_r.org_id == org_id))

    async def set_exchange_rate(
        self, org_id: uuid.UUID, currency: str, rate: Decimal, set_by: uuid.UUID,
        now: datetime,
    ) -> None:
        stmt = insert(t.exchange_rates).values(
            org_id=org_id, currency=currency, rate=rate, updated_by=set_by, updated_at=now
        )
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=["org_id", "currency"],
            set_={"rate": rate, "updated_by": set_by, "updated_at": now},
        ))

"""The local read models of other services' activities, deals, clients, leads and members,
kept from their events, in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Row, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert

from crmkit.rows import build, values_of
from crmkit.tables import org_row
from services.notifications import domain as d
from services.notifications.repository.base import SqlBase
from services.notifications.repository.rows import activity_of, opportunity_of
from services.notifications.tables import (
    accounts,
    activities,
    emails,
    leads,
    members,
    notifications,
    opportunities,
    webhook_attempts,
    webhook_deliveries,
)

# The read models' rows hold the version of the event they were last written from; an upsert
# keeps the row's id and org and writes that version as ``aggregate_version``.
_KEPT = ("id", "org_id", "version")


class _Copy(Protocol):
    """A read-model record: its aggregate's id and org, and the event version it is of."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def org_id(self) -> uuid.UUID: ...
    @property
    def version(self) -> int: ...


C = TypeVar("C", bound=_Copy)


def _lead(row: Row[Any]) -> d.Lead:
    return build(d.Lead, row, version=row.aggregate_version)


class SqlProjections(SqlBase):
    # --- projections --------------------------------------------------------------------------

    async def record_activity(self, activity: d.Activity) -> d.Activity | None:
        return await self._record_copy(activities, activity, activity_of, values_of(
            activity, omit=_KEPT, subject=activity.subject[:300],
            aggregate_version=activity.version, updated_at=func.now()))

    async def record_opportunity(self, opportunity: d.Opportunity) -> d.Opportunity | None:
        # Only an event that moved the deal says when; the others keep the time held.
        values = values_of(
            opportunity, omit=(*_KEPT, "moved_at"),
            aggregate_version=opportunity.version, updated_at=func.now())
        if opportunity.moved_at is not None:
            values["moved_at"] = opportunity.moved_at
        return await self._record_copy(opportunities, opportunity, opportunity_of, values)

    async def opportunity(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> d.Opportunity | None:
        row = (await self.session.execute(org_row(opportunities, org_id, opportunity_id))).first()
        return opportunity_of(row) if row is not None else None

    async def record_account(self, org_id: uuid.UUID, account_id: uuid.UUID, name: str) -> None:
        values = {"name": name[:300], "updated_at": func.now()}
        await self.session.execute(
            insert(accounts)
            .values(id=account_id, org_id=org_id, **values)
            .on_conflict_do_update(
                index_elements=["id"], set_=values, where=accounts.c.org_id == org_id
            )
        )

    async def record_lead(self, lead: d.Lead) -> d.Lead | None:
        values = values_of(
            lead, omit=(*_KEPT, "company"), aggregate_version=lead.version, updated_at=func.now())
        if lead.company:
            values["company"] = lead.company[:300]
        return await self._record_copy(leads, lead, _lead, values)

    async def erase_lead(self, org_id: uuid.UUID, lead_id: uuid.UUID, version: int) -> None:
        tombstone = d.Lead(id=lead_id, org_id=org_id, owner_id=None, status=d.ERASED_LEAD,
                           version=version)
        await self._record_copy(leads, tombstone, _lead, values_of(
            tombstone, omit=_KEPT, aggregate_version=version, updated_at=func.now()))
        about = select(notifications.c.id).where(
            notifications.c.org_id == org_id, notifications.c.subject_id == lead_id)
        await self.session.execute(delete(emails).where(
            emails.c.org_id == org_id, emails.c.notification_id.in_(about)))
        await self.session.execute(delete(notifications).where(
            notifications.c.org_id == org_id, notifications.c.subject_id == lead_id))
        of_lead = select(webhook_deliveries.c.id).where(
            webhook_deliveries.c.org_id == org_id, webhook_deliveries.c.aggregate_id == lead_id)
        await self.session.execute(delete(webhook_attempts).where(
            webhook_attempts.c.delivery_id.in_(of_lead)))
        await self.session.execute(delete(webhook_deliveries).where(
            webhook_deliveries.c.org_id == org_id, webhook_deliveries.c.aggregate_id == lead_id))

    async def lead_erased(self, org_id: uuid.UUID, lead_id: uuid.UUID) -> bool:
        row = (await self.session.execute(org_row(leads, org_id, lead_id))).first()
        return row is not None and row.status == d.ERASED_LEAD

    async def _record_copy(
        self, table: Table, copy: _Copy, of: Callable[[Row[Any]], C], values: dict[str, Any]
    ) -> C | None:
        """Write ``values`` into the row of ``copy`` unless the row held is of a newer event;
        the row as it was (None: there was none), which the caller's rules read. The row is
        locked first, so two events of one aggregate apply one after the other."""
        held = (await self.session.execute(
            org_row(table, copy.org_id, copy.id, lock=True))).first()
        before = of(held) if held is not None else None
        if before is not None and before.version > copy.version:
            return before
        await self.session.execute(
            insert(table)
            .values(id=copy.id, org_id=copy.org_id, **values)
            .on_conflict_do_update(
                index_elements=["id"], set_=values, where=table.c.org_id == copy.org_id
            )
        )
        return before

    async def record_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, name: str, roles: Sequence[str]
    ) -> None:
        values = {"name": name[:300], "roles": list(roles), "updated_at": func.now()}
        await self.session.execute(
            insert(members)
            .values(org_id=org_id, member_id=member_id, **values)
            .on_conflict_do_update(index_elements=["org_id", "member_id"], set_=values)
        )

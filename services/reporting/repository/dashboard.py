"""The dashboard's reads: a member's open activities, open opportunities, and leads."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.contracts.leads import ACTIVE_STATUSES
from services.reporting import tables as t
from services.reporting.domain.dashboard import (
    ActivityItem,
    ActivityWindow,
    OpenInStage,
    OpportunityItem,
)

_a = t.activities.c
_o = t.opportunities.c
_s = t.pipeline_stages.c
_ld = t.leads.c
_m = t.members.c


class SqlDashboard:
    session: AsyncSession

    async def open_activities(
        self, org_id: uuid.UUID, owner_id: uuid.UUID, window: ActivityWindow, limit: int
    ) -> list[ActivityItem]:
        conditions = [_a.org_id == org_id, _a.owner_id == owner_id, _a.status == "open"]
        if window.kind is not None:
            conditions.append(_a.kind == window.kind)
        if window.other_than is not None:
            conditions.append(_a.kind != window.other_than)
        if window.due_from is not None:
            conditions.append(_a.due_at >= window.due_from)
        if window.due_before is not None:
            conditions.append(_a.due_at < window.due_before)
        result = await self.session.execute(
            select(_a.activity_id, _a.opportunity_id, _a.kind, _a.subject, _a.due_at)
            .where(*conditions).order_by(_a.due_at, _a.activity_id).limit(limit)
        )
        return [ActivityItem(*row) for row in result]

    async def open_in_stages(self, org_id: uuid.UUID, owner_id: uuid.UUID) -> list[OpenInStage]:
        result = await self.session.execute(
            select(_o.pipeline_id, _o.stage_id, _s.name, _s.position, _o.currency,
                   func.count(), func.sum(_o.amount))
            .join(t.pipeline_stages, and_(_s.org_id == _o.org_id, _s.stage_id == _o.stage_id),
                  isouter=True)
            .where(_o.org_id == org_id, _o.owner_id == owner_id, _o.status == "open")
            .group_by(_o.pipeline_id, _o.stage_id, _s.name, _s.position, _o.currency)
        )
        return [OpenInStage(*row) for row in result]

    async def without_next_contact(
        self, org_id: uuid.UUID, owner_id: uuid.UUID, now: datetime, limit: int
    ) -> tuple[list[OpportunityItem], int]:
        upcoming = select(_a.activity_id).where(
            _a.org_id == _o.org_id, _a.opportunity_id == _o.opportunity_id,
            _a.status == "open", _a.due_at >= now,
        ).exists()
        lonely = [_o.org_id == org_id, _o.owner_id == owner_id, _o.status == "open", ~upcoming]
        first = await self.session.execute(
            select(_o.opportunity_id, _o.name, _o.stage_id, _o.amount, _o.currency,
                   _o.expected_close_date)
            .where(*lonely)
            .order_by(_o.expected_close_date.nulls_last(), _o.name, _o.opportunity_id)
            .limit(limit)
        )
        items = [OpportunityItem(*row) for row in first]
        count = await self.session.scalar(
            select(func.count()).select_from(t.opportunities).where(*lonely)
        )
        return items, int(count or 0)

    async def leads_held(
        self, org_id: uuid.UUID, member_id: uuid.UUID
    ) -> tuple[int, int | None]:
        held = await self.session.scalar(
            select(func.count()).select_from(t.leads).where(
                _ld.org_id == org_id, _ld.owner_id == member_id,
                _ld.status.in_(sorted(ACTIVE_STATUSES)),
            )
        )
        cap = await self.session.scalar(
            select(_m.lead_cap).where(_m.org_id == org_id, _m.member_id == member_id)
        )
        if cap is None:  # no roster event yet: the cap repeated by the latest assignment
            cap = await self.session.scalar(
                select(_ld.owner_lead_cap).where(
                    _ld.org_id == org_id, _ld.owner_id == member_id,
                    _ld.owner_lead_cap.is_not(None),
                ).order_by(_ld.version.desc(), _ld.lead_id).limit(1)
            )
        return int(held or 0), cap

"""The analytics' sums over the opportunity, version, activity and offer tables (and, for the
forecast, the funnel aggregate)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.reporting import tables as t
from services.reporting.domain.access import Scope
from services.reporting.domain.analytics import (
    ClosedTotal,
    ForecastTotal,
    LostTotal,
    Period,
    SalesCycle,
    StageDuration,
)
from services.reporting.repository.funnel import aggregate
from services.reporting.repository.sql import scope_filter, within

_o = t.opportunities.c
_v = t.opportunity_versions.c
_s = t.pipeline_stages.c
_a = t.activities.c
_of = t.offers.c
_m = t.members.c


def _opportunities(scope: Scope, pipeline_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    conditions = scope_filter(t.opportunities, scope)
    if pipeline_id is not None:
        conditions.append(_o.pipeline_id == pipeline_id)
    return conditions


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class SqlAnalytics:
    session: AsyncSession

    async def closed_totals(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> list[ClosedTotal]:
        result = await self.session.execute(
            select(_o.owner_id, _o.status, _o.currency, func.count(), func.sum(_o.amount))
            .where(*_opportunities(scope, pipeline_id), _o.status.in_(("won", "lost")),
                   *within(_o.closed_at, period))
            .group_by(_o.owner_id, _o.status, _o.currency)
        )
        return [ClosedTotal(*row) for row in result]

    async def lost_totals(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> list[LostTotal]:
        result = await self.session.execute(
            select(_o.close_reason_id, _o.close_reason_label, _o.currency, func.count(),
                   func.sum(_o.amount))
            .where(*_opportunities(scope, pipeline_id), _o.status == "lost",
                   *within(_o.closed_at, period))
            .group_by(_o.close_reason_id, _o.close_reason_label, _o.currency)
        )
        return [LostTotal(*row) for row in result]

    async def stage_durations(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> list[StageDuration]:
        ordered = (
            select(_v.opportunity_id, _v.version, _v.occurred_at, _v.stage_id,
                   func.lag(_v.stage_id)
                   .over(partition_by=_v.opportunity_id, order_by=_v.version)
                   .label("previous_stage"))
            .join(t.opportunities,
                  and_(_o.org_id == _v.org_id, _o.opportunity_id == _v.opportunity_id))
            .where(*_opportunities(scope, pipeline_id))
            .subquery()
        )
        # Window functions see the rows the WHERE kept: a visit's end is the next entry.
        entries = (
            select(ordered.c.opportunity_id, ordered.c.stage_id,
                   ordered.c.occurred_at.label("entered_at"),
                   func.lead(ordered.c.occurred_at).over(
                       partition_by=ordered.c.opportunity_id, order_by=ordered.c.version
                   ).label("left_at"))
            .where(ordered.c.previous_stage.is_distinct_from(ordered.c.stage_id))
            .subquery()
        )
        e = entries.c
        seconds = func.extract("epoch", e.left_at - e.entered_at)
        result = await self.session.execute(
            select(e.stage_id, func.max(_s.name), func.count(), func.avg(seconds))
            .join(t.pipeline_stages, and_(_s.org_id == scope.org_id, _s.stage_id == e.stage_id),
                  isouter=True)
            .where(e.left_at.is_not(None), *within(e.left_at, period))
            .group_by(e.stage_id)
            .order_by(func.min(_s.position), e.stage_id)
        )
        return [StageDuration(r[0], r[1] or "", int(r[2]), float(r[3])) for r in result]

    async def sales_cycle(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> SalesCycle:
        days = func.extract("epoch", _o.closed_at - _o.created_at) / 86400
        row = (await self.session.execute(
            select(func.count(), func.avg(days), func.percentile_cont(0.5).within_group(days))
            .where(*_opportunities(scope, pipeline_id), _o.status == "won",
                   *within(_o.closed_at, period))
        )).one()
        return SalesCycle(int(row[0]), _float(row[1]), _float(row[2]))

    async def open_by_close_month(
        self, scope: Scope, pipeline_id: uuid.UUID | None, first: date | None,
        last: date | None,
    ) -> list[ForecastTotal]:
        def where(table: Any) -> list[ColumnElement[bool]]:
            conditions = [*scope_filter(table, scope), table.c.status == "open"]
            if pipeline_id is not None:
                conditions.append(table.c.pipeline_id == pipeline_id)
            if first is not None:
                conditions.append(table.c.close_month >= first)
            if last is not None:
                conditions.append(table.c.close_month <= last)
            return conditions

        f = aggregate(scope.level, where).c
        result = await self.session.execute(
            select(f.close_month, f.currency, func.sum(f.count), func.sum(f.amount),
                   func.sum(f.weighted))
            .group_by(f.close_month, f.currency)
        )
        return [ForecastTotal(month, currency, int(count), amount, weighted)
                for month, currency, count, amount, weighted in result]

    async def completed_activities(
        self, scope: Scope, period: Period
    ) -> dict[uuid.UUID, dict[str, int]]:
        result = await self.session.execute(
            select(_a.owner_id, _a.kind, func.count())
            .where(*scope_filter(t.activities, scope), _a.status == "done",
                   *within(_a.completed_at, period))
            .group_by(_a.owner_id, _a.kind)
        )
        counts: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for owner, kind, count in result:
            counts[owner][kind] = count
        return dict(counts)

    async def offers_issued(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> dict[uuid.UUID, int]:
        result = await self.session.execute(
            select(_o.owner_id, func.count())
            .select_from(t.offers)
            .join(t.opportunities,
                  and_(_o.org_id == _of.org_id, _o.opportunity_id == _of.opportunity_id))
            .where(*_opportunities(scope, pipeline_id), *within(_of.issued_at, period))
            .group_by(_o.owner_id)
        )
        return {owner: count for owner, count in result}

    async def member_names(
        self, org_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        if not member_ids:
            return {}
        result = await self.session.execute(
            select(_m.member_id, _m.name).where(_m.org_id == org_id,
                                                _m.member_id.in_(list(member_ids)))
        )
        return {member: name or "" for member, name in result}

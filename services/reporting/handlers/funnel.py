"""The sales funnel of one pipeline, as it is now (the maintained aggregate) or as it stood
at an instant (the version history, through the same contribution rules)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import partial

from crmkit.commands import Command
from crmkit.errors import NotFoundError, ProblemCollector
from crmkit.values import instant
from services.reporting.domain.access import resolve_scope
from services.reporting.domain.funnel import (
    Funnel,
    assemble_funnel,
    close_range,
    closes_within,
    contribution,
    rows_of,
)
from services.reporting.handlers.common import Work


class GetSalesFunnel(Command):
    default_base: str  # the base currency until the org's admin chooses one
    pipeline_id: uuid.UUID | None = None  # None: the org's default pipeline
    owner_id: uuid.UUID | None = None
    team: str | None = None
    close_from: date | None = None
    close_to: date | None = None
    as_of: datetime | None = None


async def sales_funnel(query: GetSalesFunnel, uow: Work) -> Funnel:
    scope = resolve_scope(query.caller, query.owner_id, query.team)
    close = close_range(query.close_from, query.close_to)
    if query.as_of is not None:
        problems = ProblemCollector()
        problems.value("asOf", partial(instant, query.as_of))
        problems.raise_if_any()
    async with uow:
        repo = uow.repo
        pipeline_id, stages = await repo.pipeline_stages(scope.org_id, query.pipeline_id)
        if pipeline_id is None:
            return Funnel(None, query.as_of, [])  # the org has no pipeline yet
        if not stages:
            raise NotFoundError("Pipeline", pipeline_id)
        rates = await repo.rates(scope.org_id, query.default_base)
        if query.as_of is None:
            rows = await repo.funnel_rows(scope, pipeline_id, close)
        else:
            versions = await repo.versions_as_of(scope, pipeline_id, query.as_of)
            rows = rows_of(
                contribution(v.facts(stages)) for v in versions
                if closes_within(v.expected_close_date, query.close_from, query.close_to)
            )
    return Funnel(pipeline_id, query.as_of, assemble_funnel(stages, rows, rates))

"""SQL pieces the repository's modules share: the funnel's key and counter columns, array
parameters, scope filters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Uuid, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from services.reporting.domain.access import Scope
from services.reporting.domain.analytics import Period
from services.reporting.domain.funnel import Stage

FUNNEL_KEY = ("pipeline_id", "stage_id", "status", "owner_id", "team", "currency", "close_date")
FUNNEL_COUNTERS = ("count", "amount", "weighted", "reached")
TOTALS_KEY = ("org_id", "pipeline_id", "level", "owner_id", "stage_id", "status", "team",
              "currency", "close_month")
DAY_TOTALS_KEY = ("org_id", "pipeline_id", "level", "owner_id", "close_date", "team",
                  "stage_id", "status", "currency")


def unnest(name: str, column: Any) -> Any:
    """The elements of array parameter ``name`` as ``column`` (typed like it)."""
    return func.unnest(bindparam(name, type_=ARRAY(column.type))).label(column.name)


def pairs(first: str, second: str) -> Any:
    """Rows of two parallel UUID array parameters, for ``tuple_(a, b).in_(...)``."""
    return select(func.unnest(bindparam(first, type_=ARRAY(Uuid))),
                  func.unnest(bindparam(second, type_=ARRAY(Uuid))))


def stage_of(row: Row[*tuple[Any, ...]]) -> Stage:
    return Stage(row.stage_id, row.name, row.position, row.probability, row.kind)


def scope_filter(table: Any, scope: Scope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [table.c.org_id == scope.org_id]
    if scope.owner_id is not None:
        conditions.append(table.c.owner_id == scope.owner_id)
    if scope.team is not None:
        conditions.append(table.c.team == scope.team)
    return conditions


def within(column: Any, period: Period) -> list[ColumnElement[bool]]:
    conditions = []
    if period.start is not None:
        conditions.append(column >= period.start)
    if period.end is not None:
        conditions.append(column < period.end)
    return conditions

"""The reporting subgraph, one module per business concept (:mod:`.funnel`,
:mod:`.dashboard`, :mod:`.analytics`, :mod:`.rates`), merged into one schema."""

from __future__ import annotations

from strawberry.federation import Schema
from strawberry.tools import merge_types

from crmkit.graphql import build_schema
from services.reporting.schema.analytics import AnalyticsQuery
from services.reporting.schema.context import ReportingState
from services.reporting.schema.dashboard import DashboardQuery
from services.reporting.schema.funnel import FunnelQuery
from services.reporting.schema.rates import RatesMutation, RatesQuery

__all__ = ["ReportingState", "create_schema"]


def create_schema() -> Schema:
    return build_schema(
        query=merge_types("Query", (FunnelQuery, DashboardQuery, AnalyticsQuery, RatesQuery)),
        mutation=merge_types("Mutation", (RatesMutation,)),
    )

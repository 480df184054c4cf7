"""The SQL repository of the read tables (:class:`services.reporting.ports.ReportingRepository`),
one module per concept. Only SQLAlchemy Core constructs and no literal schema names, so the
same code writes the live schema or, through ``schema_translate_map``, a rebuild's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.repository.analytics import SqlAnalytics
from services.reporting.repository.dashboard import SqlDashboard
from services.reporting.repository.funnel import SqlFunnel
from services.reporting.repository.projection import PROJECTION_LOCK, SqlProjection
from services.reporting.repository.rates import SqlRates

__all__ = ["PROJECTION_LOCK", "SqlReportingRepository"]


class SqlReportingRepository(SqlProjection, SqlFunnel, SqlDashboard, SqlAnalytics, SqlRates):
    """The read tables over one session: what every unit of work of the service carries."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

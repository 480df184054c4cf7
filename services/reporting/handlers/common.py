"""What the reporting use cases share: the unit of work they run in and the clock."""

from __future__ import annotations

from datetime import UTC, datetime

from crmkit.uow import UnitOfWork
from services.reporting.ports import ReportingRepository

Work = UnitOfWork[ReportingRepository]


def now() -> datetime:
    return datetime.now(UTC)

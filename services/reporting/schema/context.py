"""What every resolver of the reporting subgraph reaches: the caller, units of work and the
default base currency (the kit's request context, :mod:`crmkit.schema_context`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crmkit.schema_context import Info, RequestContext, ServiceState
from crmkit.uow import UnitOfWork
from services.reporting.ports import ReportingRepository

Uows = Callable[[], UnitOfWork[ReportingRepository]]

__all__ = [
    "Info",
    "ReportingState",
    "Uows",
    "caller",
    "default_base",
    "default_time_zone",
    "read_uow",
    "state",
    "uow",
]


@dataclass(frozen=True)
class ReportingState(ServiceState[ReportingRepository]):
    # Reads run on autocommit connections (no BEGIN/ROLLBACK round trips): every read use
    # case is one snapshot statement after another, none needs a transaction.
    read_uow: Uows
    # The base currency of converted totals until an org's admin chooses one.
    base_currency: str
    # Where "today" is for members whose token names no time zone of their own.
    time_zone: str = "Europe/Warsaw"


context = RequestContext(ReportingState)
state, caller, uow = context.state, context.caller, context.uow


def read_uow(info: Info) -> UnitOfWork[ReportingRepository]:
    return state(info).read_uow()


def default_base(info: Info) -> str:
    return state(info).base_currency


def default_time_zone(info: Info) -> str:
    return state(info).time_zone

"""What every resolver of the reporting subgraph reaches: the caller, units of work and the
default base currency."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import strawberry

from crmkit.auth import Caller
from crmkit.graphql import GraphQLContext, parse_uuid
from crmkit.uow import UnitOfWork
from services.reporting.ports import ReportingRepository

Info = strawberry.Info[GraphQLContext, None]
Uows = Callable[[], UnitOfWork[ReportingRepository]]


@dataclass(frozen=True)
class ReportingState:
    """``info.context.state``."""

    uow: Uows
    # Reads run on autocommit connections (no BEGIN/ROLLBACK round trips): every read use
    # case is one snapshot statement after another, none needs a transaction.
    read_uow: Uows
    # The base currency of converted totals until an org's admin chooses one.
    base_currency: str
    # Where "today" is for members whose token names no time zone of their own.
    time_zone: str = "Europe/Warsaw"


def state(info: Info) -> ReportingState:
    found: ReportingState = info.context.state
    return found


def caller(info: Info) -> Caller:
    return info.context.caller


def uow(info: Info) -> UnitOfWork[ReportingRepository]:
    """A unit of work of its own transaction (a change)."""
    return state(info).uow()


def read_uow(info: Info) -> UnitOfWork[ReportingRepository]:
    return state(info).read_uow()


def default_base(info: Info) -> str:
    return state(info).base_currency


def default_time_zone(info: Info) -> str:
    return state(info).time_zone


def gid(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


def optional_id(value: strawberry.ID | None, path: str) -> uuid.UUID | None:
    return None if value is None else parse_uuid(value, path)

"""What every resolver of the leads subgraph reaches: the caller (registered in the roster on
their first request) and a unit of work (the kit's request context,
:mod:`crmkit.schema_context`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crmkit import schema_context
from crmkit.auth import Caller
from crmkit.graphql import GraphQLContext
from crmkit.schema_context import Info, RequestContext, ServiceState
from services.leads.handlers import roster
from services.leads.ports import LeadsRepository

__all__ = ["Info", "LeadsState", "caller", "caller_of", "uow", "uow_of"]


@dataclass(frozen=True)
class LeadsState(ServiceState[LeadsRepository]):
    # The members this process registered already (and as what).
    registered: set[tuple[Any, ...]] = field(default_factory=set)


context = RequestContext(LeadsState)
uow, uow_of = context.uow, context.uow_of


async def caller_of(context: GraphQLContext) -> Caller:
    """The verified caller, registered in the roster on their first request (and again
    whenever their token's name, team or roles change)."""
    found = schema_context.caller_of(context)
    state: LeadsState = context.state
    key = (found.org_id, found.member_id, found.name, found.team, found.roles)
    if key not in state.registered:
        await roster.register_member(roster.RegisterMember(found), state.uow())
        state.registered.add(key)
    return found


async def caller(info: Info) -> Caller:
    return await caller_of(info.context)

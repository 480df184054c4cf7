"""What every resolver of the leads subgraph reaches: the caller (registered in the roster on
their first request) and a unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import GraphQLError

from crmkit.auth import Caller
from crmkit.graphql import GraphQLContext
from crmkit.uow import UnitOfWork
from services.leads.handlers import roster
from services.leads.ports import LeadsRepository

Info = strawberry.Info[GraphQLContext, None]


@dataclass
class LeadsState:
    """``info.context.state``: where resolvers get their units of work, and the members this
    process registered already."""

    uow: Callable[[], UnitOfWork[LeadsRepository]]
    registered: set[tuple[Any, ...]] = field(default_factory=set)


def uow_of(context: GraphQLContext) -> UnitOfWork[LeadsRepository]:
    """A unit of work for one use case (its own transaction)."""
    state: LeadsState = context.state
    return state.uow()


async def caller_of(context: GraphQLContext) -> Caller:
    """The verified caller, registered in the roster on their first request (and again
    whenever their token's name, team or roles change)."""
    found = context.caller
    if found is None:  # only the SDL query and the GraphiQL page run without a token
        raise GraphQLError("a bearer token is required", extensions={"code": "UNAUTHENTICATED"})
    state: LeadsState = context.state
    key = (found.org_id, found.member_id, found.name, found.team, found.roles)
    if key not in state.registered:
        await roster.register_member(roster.RegisterMember(found), state.uow())
        state.registered.add(key)
    return found


async def caller(info: Info) -> Caller:
    return await caller_of(info.context)


def uow(info: Info) -> UnitOfWork[LeadsRepository]:
    return uow_of(info.context)

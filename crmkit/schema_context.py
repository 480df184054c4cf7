"""What every resolver of a subgraph reaches, typed: the caller, the service's state and a unit
of work for one use case.

Each service declares its state (a :class:`ServiceState` subclass: the unit-of-work factory
plus whatever else its resolvers need) and one :class:`RequestContext` over it::

    @dataclass(frozen=True)
    class DocumentsState(ServiceState[DocumentsRepository]):
        signer: Signer

    context = RequestContext(DocumentsState)
    caller, uow = context.caller, context.uow

The ``*_of`` forms take the ``GraphQLContext`` itself, for data loaders built outside a
resolver.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import strawberry
from graphql import GraphQLError

from crmkit.auth import Caller
from crmkit.graphql import GraphQLContext, parse_uuid
from crmkit.uow import UnitOfWork

Info = strawberry.Info[GraphQLContext, None]
R = TypeVar("R")
S_co = TypeVar("S_co", bound="ServiceState[Any]", covariant=True)


@dataclass(frozen=True)
class ServiceState(Generic[R]):
    """``info.context.state``: at least where resolvers get their units of work (each one its
    own transaction)."""

    uow: Callable[[], UnitOfWork[R]]


def caller_of(context: GraphQLContext) -> Caller:
    """The verified caller; only the SDL query and the GraphiQL page run without a token."""
    found: Caller | None = context.caller
    if found is None:
        raise GraphQLError("a bearer token is required", extensions={"code": "UNAUTHENTICATED"})
    return found


class RequestContext(Generic[S_co]):
    """The typed accessors of one service's request context (state of type ``S_co``)."""

    def __init__(self, state: type[S_co]) -> None:
        self._state = state

    def state_of(self, context: GraphQLContext) -> S_co:
        return cast(S_co, context.state)

    def state(self, info: Info) -> S_co:
        return self.state_of(info.context)

    def caller(self, info: Info) -> Caller:
        return caller_of(info.context)

    def uow_of(self: RequestContext[ServiceState[R]], context: GraphQLContext) -> UnitOfWork[R]:
        """A unit of work for one use case (its own transaction)."""
        return self.state_of(context).uow()

    def uow(self: RequestContext[ServiceState[R]], info: Info) -> UnitOfWork[R]:
        return self.uow_of(info.context)


# The GraphQL form of ids: a UUID answered as an ``ID``, an ``ID`` argument parsed to a UUID
# (``InvalidInput`` at the argument's path when it names none).
def gid(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


def optional_gid(value: uuid.UUID | None) -> strawberry.ID | None:
    return None if value is None else gid(value)


def parse_id(value: strawberry.ID, path: str) -> uuid.UUID:
    return parse_uuid(str(value), path)


def optional_id(value: strawberry.ID | None, path: str) -> uuid.UUID | None:
    return None if value is None else parse_id(value, path)

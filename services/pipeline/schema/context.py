"""What every resolver of the pipeline subgraph reaches: the caller, a unit of work, ids."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import strawberry
from graphql import GraphQLError

from crmkit.auth import Caller
from crmkit.graphql import GraphQLContext, parse_uuid
from crmkit.uow import UnitOfWork
from services.pipeline.ports import PipelineRepository

Info = strawberry.Info[GraphQLContext, None]


@dataclass(frozen=True)
class PipelineState:
    """``info.context.state``: where resolvers get their units of work."""

    uow: Callable[[], UnitOfWork[PipelineRepository]]


def caller_of(context: GraphQLContext) -> Caller:
    found = context.caller
    if found is None:  # only the SDL query and the GraphiQL page run without a token
        raise GraphQLError("a bearer token is required", extensions={"code": "UNAUTHENTICATED"})
    return found


def uow_of(context: GraphQLContext) -> UnitOfWork[PipelineRepository]:
    """A unit of work for one use case (its own transaction)."""
    state: PipelineState = context.state
    return state.uow()


def caller(info: Info) -> Caller:
    return caller_of(info.context)


def uow(info: Info) -> UnitOfWork[PipelineRepository]:
    return uow_of(info.context)


def gid(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


def optional_gid(value: uuid.UUID | None) -> strawberry.ID | None:
    return None if value is None else gid(value)


def parse_id(value: strawberry.ID, path: str) -> uuid.UUID:
    return parse_uuid(str(value), path)


def optional_id(value: strawberry.ID | None, path: str) -> uuid.UUID | None:
    return None if value is None else parse_id(value, path)

"""What every resolver of the documents subgraph reaches: the caller and a unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import strawberry
from graphql import GraphQLError

from crmkit.auth import Caller
from crmkit.graphql import GraphQLContext
from crmkit.uow import UnitOfWork
from services.documents.ports import DocumentsRepository
from services.documents.signing import Signer

Info = strawberry.Info[GraphQLContext, None]


@dataclass(frozen=True)
class DocumentsState:
    """``info.context.state``: where resolvers get their units of work."""

    uow: Callable[[], UnitOfWork[DocumentsRepository]]
    # Signs the /files/ URLs that the upload and download mutations answer.
    signer: Signer


def caller_of(context: GraphQLContext) -> Caller:
    found = context.caller
    if found is None:  # only the SDL query and the GraphiQL page run without a token
        raise GraphQLError("a bearer token is required", extensions={"code": "UNAUTHENTICATED"})
    return found


def uow_of(context: GraphQLContext) -> UnitOfWork[DocumentsRepository]:
    """A unit of work for one use case (its own transaction)."""
    state: DocumentsState = context.state
    return state.uow()


def caller(info: Info) -> Caller:
    return caller_of(info.context)


def uow(info: Info) -> UnitOfWork[DocumentsRepository]:
    return uow_of(info.context)


def signer(info: Info) -> Signer:
    state: DocumentsState = info.context.state
    return state.signer

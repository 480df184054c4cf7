"""Entities in one query per type per request, however many references a request resolves.

The gateway sends a subgraph all the references of one type at once (``_entities`` with 50
accounts, say); strawberry calls ``resolve_reference`` once for each. Each call asks
:func:`load_entity`, which feeds a DataLoader made once per request and batch function: the
calls of one tick become a single ``batch(context, ids)`` (one query), and an id asked twice
is loaded once::

    async def accounts_by_id(context: GraphQLContext, ids: list[uuid.UUID])
            -> Mapping[uuid.UUID, Account]:
        ...one query for every visible account among ``ids``...

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Account | None:
        return await load_entity(info, accounts_by_id, id)

The batch returns what the caller may see; an id it leaves out (unknown, another org's,
hidden, malformed) resolves to null, as a single lookup would.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import strawberry
from strawberry.dataloader import DataLoader

from crmkit.graphql import GraphQLContext
from crmkit.values import id_or_none

V = TypeVar("V")
EntityBatch = Callable[[GraphQLContext, list[uuid.UUID]], Awaitable[Mapping[uuid.UUID, V]]]
"""``(context, ids) -> {id: entity}`` for the entities among ``ids`` the caller may see."""


def entity_loader(
    context: GraphQLContext, batch: EntityBatch[V]
) -> DataLoader[uuid.UUID, V | None]:
    """The request's loader of ``batch`` (one per request and batch function)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[V | None]:
        found = await batch(context, list(ids))
        return [found.get(entity_id) for entity_id in ids]

    return context.shared(("crm.entity_loader", batch), lambda: DataLoader(load_fn=load))


async def load_entity(
    info: strawberry.Info[GraphQLContext, None], batch: EntityBatch[V], entity_id: str
) -> V | None:
    """The entity ``entity_id`` names, loaded with the request's other references of
    ``batch``; None when it is malformed or the batch does not return it."""
    parsed = id_or_none(entity_id)
    if parsed is None:
        return None
    return await entity_loader(info.context, batch).load(parsed)

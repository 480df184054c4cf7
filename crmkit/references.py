"""Entities in one query per type per request, however many references a request resolves.

The gateway sends a subgraph all the references of one type at once (``_entities`` with 50
accounts, say); strawberry calls ``resolve_reference`` once for each. Each call asks
:func:`load_entity`, which feeds a loader made once per request and batch function: the
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

A type whose references are resolved in bulk also defines ``resolve_references(info, ids)``
(the same batch, through :func:`load_entities`): ``_entities`` then resolves all of the
type's references of one request in one call (:class:`crmkit.graphql.ServiceSchema`),
without a coroutine and a task per reference (100 of them cost the leads service several
milliseconds of CPU per request, more than the query). The loader keeps one future per
batch, not one per id as strawberry's DataLoader does (another millisecond for 100 ids).

A type made from its record by ``cls.of(record)`` gets both from :func:`references_by`::

    @strawberry.federation.type(keys=["id"])
    class Account:
        ...
        @classmethod
        def of(cls, r: AccountRecord) -> Account: ...

        resolve_reference, resolve_references = references_by(accounts_by_id)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

import strawberry

from crmkit.graphql import GraphQLContext
from crmkit.values import id_or_none

V = TypeVar("V")
V_contra = TypeVar("V_contra", contravariant=True)
EntityBatch = Callable[[GraphQLContext, list[uuid.UUID]], Awaitable[Mapping[uuid.UUID, V]]]
"""``(context, ids) -> {id: entity}`` for the entities among ``ids`` the caller may see."""


class EntityLoader(Generic[V]):
    """One request's loads of one batch function: the ids asked for in one tick of the event
    loop go to one ``batch`` call; an id is loaded once per request (a failed batch is not
    remembered: its ids are asked again by the next load)."""

    def __init__(self, context: GraphQLContext, batch: EntityBatch[V]) -> None:
        self._context = context
        self._batch = batch
        self._found: dict[uuid.UUID, V | None] = {}
        self._in_flight: dict[uuid.UUID, asyncio.Future[None]] = {}
        self._next: list[uuid.UUID] = []
        self._next_done: asyncio.Future[None] | None = None
        self._running: set[asyncio.Task[None]] = set()  # the loop only holds tasks weakly

    async def load(self, entity_id: uuid.UUID) -> V | None:
        return (await self.load_many((entity_id,)))[0]

    async def load_many(self, ids: Iterable[uuid.UUID]) -> list[V | None]:
        ids = list(ids)
        found = self._found
        waits: set[asyncio.Future[None]] = set()
        for entity_id in ids:
            if entity_id in found:
                continue
            pending = self._in_flight.get(entity_id)
            if pending is None:
                pending = self._join_next(entity_id)
            waits.add(pending)
        for pending in waits:
            await asyncio.shield(pending)  # a waiter cancelled does not cancel the others' load
        return [found.get(entity_id) for entity_id in ids]

    def _join_next(self, entity_id: uuid.UUID) -> asyncio.Future[None]:
        if self._next_done is None:
            loop = asyncio.get_running_loop()
            self._next_done = loop.create_future()
            loop.call_soon(self._dispatch)
        self._next.append(entity_id)
        self._in_flight[entity_id] = self._next_done
        return self._next_done

    def _dispatch(self) -> None:
        ids, done = self._next, self._next_done
        self._next, self._next_done = [], None
        assert done is not None
        task = asyncio.ensure_future(self._run(ids, done))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, ids: list[uuid.UUID], done: asyncio.Future[None]) -> None:
        try:
            result = await self._batch(self._context, ids)
        except BaseException as error:
            for entity_id in ids:
                self._in_flight.pop(entity_id, None)
            if isinstance(error, Exception):
                done.set_exception(error)  # each waiter's field fails with it
                return
            done.cancel()
            raise
        for entity_id in ids:
            self._found[entity_id] = result.get(entity_id)
            self._in_flight.pop(entity_id, None)
        done.set_result(None)


def entity_loader(context: GraphQLContext, batch: EntityBatch[V]) -> EntityLoader[V]:
    """The request's loader of ``batch`` (one per request and batch function)."""
    return context.shared(("crm.entity_loader", batch), lambda: EntityLoader(context, batch))


async def load_entity(
    info: strawberry.Info[GraphQLContext, None], batch: EntityBatch[V], entity_id: str
) -> V | None:
    """The entity ``entity_id`` names, loaded with the request's other references of
    ``batch``; None when it is malformed or the batch does not return it."""
    parsed = id_or_none(entity_id)
    if parsed is None:
        return None
    return await entity_loader(info.context, batch).load(parsed)


async def load_entities(
    info: strawberry.Info[GraphQLContext, None], batch: EntityBatch[V],
    entity_ids: Iterable[str],
) -> list[V | None]:
    """The entities ``entity_ids`` name, in order, through the request's loader of ``batch``
    (so with its other references of ``batch``); None for a malformed id or one the batch
    does not return."""
    parsed = [id_or_none(entity_id) for entity_id in entity_ids]
    wanted = [entity_id for entity_id in parsed if entity_id is not None]
    if not wanted:
        return [None] * len(parsed)
    found = iter(await entity_loader(info.context, batch).load_many(wanted))
    return [None if entity_id is None else next(found) for entity_id in parsed]


class FromRecord(Protocol[V_contra]):
    """An entity type made from its record."""

    @classmethod
    def of(cls, record: V_contra, /) -> Any: ...


Info = strawberry.Info[GraphQLContext, None]
# Strings: classmethod is subscriptable for type checkers only (before Python 3.12).
ResolveReference: TypeAlias = "classmethod[Any, [Info, strawberry.ID], Coroutine[Any, Any, Any]]"
ResolveReferences: TypeAlias = (
    "classmethod[Any, [Info, list[strawberry.ID]], Coroutine[Any, Any, list[Any]]]")


def references_by(batch: EntityBatch[V]) -> tuple[ResolveReference, ResolveReferences]:
    """An entity type's ``resolve_reference`` and ``resolve_references``: each reference
    loaded through ``batch`` with the request's others (null when the batch does not return
    it), and made an entity by the type's ``of(record)``."""

    async def resolve_reference(cls: type[FromRecord[V]], info: Info, id: strawberry.ID) -> Any:
        found = await load_entity(info, batch, id)
        return None if found is None else cls.of(found)

    async def resolve_references(
        cls: type[FromRecord[V]], info: Info, ids: list[strawberry.ID]
    ) -> list[Any]:
        of = cls.of
        return [None if r is None else of(r) for r in await load_entities(info, batch, ids)]

    return classmethod(resolve_reference), classmethod(resolve_references)

"""Entity references of one request load in one batch per type; malformed, unknown and
hidden ids resolve to null, and each request has loaders of its own; a type with
``resolve_references`` gets its references in one call, and a failing batch fails each of its
references only."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import strawberry

from crmkit.auth import Caller, Role
from crmkit.graphql import GraphQLContext, build_schema
from crmkit.references import load_entities, load_entity, references_by

KNOWN = {uuid.uuid4(): f"thing {i}" for i in range(5)}
HIDDEN = uuid.uuid4()
batches: list[list[uuid.UUID]] = []


async def things_by_id(context: GraphQLContext, ids: list[uuid.UUID]) -> Mapping[uuid.UUID, str]:
    batches.append(ids)
    return {i: KNOWN[i] for i in ids if i in KNOWN}


@strawberry.federation.type(keys=["id"])
class Thing:
    id: strawberry.ID
    name: str

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info[GraphQLContext, None], id: strawberry.ID
    ) -> Thing | None:
        name = await load_entity(info, things_by_id, id)
        return None if name is None else cls(id=id, name=name)


calls: list[list[str]] = []


async def broken_by_id(context: GraphQLContext, ids: list[uuid.UUID]) -> Mapping[uuid.UUID, str]:
    raise RuntimeError("the store is down")


@strawberry.federation.type(keys=["id"])
class Bulk:
    id: strawberry.ID
    name: str

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info[GraphQLContext, None], id: strawberry.ID
    ) -> Bulk | None:
        raise AssertionError("references of a type with resolve_references come in bulk")

    @classmethod
    async def resolve_references(
        cls, info: strawberry.Info[GraphQLContext, None], ids: list[strawberry.ID]
    ) -> list[Bulk | None]:
        calls.append(list(ids))
        found = await load_entities(info, things_by_id, ids)
        return [None if n is None else cls(id=i, name=n) for i, n in zip(ids, found, strict=True)]


@strawberry.federation.type(keys=["id"])
class Broken:
    id: strawberry.ID
    name: str

    @classmethod
    async def resolve_references(
        cls, info: strawberry.Info[GraphQLContext, None], ids: list[strawberry.ID]
    ) -> list[Broken | None]:
        await load_entities(info, broken_by_id, ids)
        return []


@strawberry.federation.type(keys=["id"])
class Named:
    """Both resolvers from the kit, each entity made by ``of``."""

    id: strawberry.ID
    name: str

    @classmethod
    def of(cls, name: str) -> Named:
        return cls(id=strawberry.ID(name.split()[-1]), name=name)

    resolve_reference, resolve_references = references_by(things_by_id)


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"

    @strawberry.field
    async def named(self, info: strawberry.Info[GraphQLContext, None], id: strawberry.ID
                    ) -> Named | None:
        found: Named | None = await Named.resolve_reference(info, id)
        return found


SCHEMA = build_schema(query=Query, types=[Thing, Bulk, Broken, Named])
ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Thing { name } } }"""


def context() -> GraphQLContext:
    caller = Caller(member_id=uuid.uuid4(), org_id=uuid.uuid4(), roles=frozenset({Role.REP}))
    return GraphQLContext(caller=caller, request_id="r", state=None)


async def resolve(ids: list[str]) -> list[object]:
    result = await SCHEMA.execute(
        ENTITIES, variable_values={"r": [{"__typename": "Thing", "id": i} for i in ids]},
        context_value=context(),
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return [e and e["name"] for e in result.data["_entities"]]


async def test_every_reference_of_a_request_loads_in_one_batch() -> None:
    batches.clear()
    known = list(KNOWN)
    asked = [str(known[0]), str(HIDDEN), "not-an-id", str(known[3]), str(known[0])]
    assert await resolve(asked) == [KNOWN[known[0]], None, None, KNOWN[known[3]],
                                    KNOWN[known[0]]]
    assert len(batches) == 1
    assert sorted(map(str, batches[0])) == sorted({str(known[0]), str(HIDDEN), str(known[3])})


async def test_each_request_loads_for_itself() -> None:
    batches.clear()
    first = str(next(iter(KNOWN)))
    await resolve([first])
    await resolve([first])
    assert len(batches) == 2


BULK = """query($r: [_Any!]!, $s: [_Any!]!) {
  a: _entities(representations: $r) { ... on Bulk { name } ... on Broken { name } }
  b: _entities(representations: $s) { ... on Thing { name } } }"""


async def test_a_type_with_resolve_references_gets_its_references_in_one_call() -> None:
    batches.clear()
    calls.clear()
    known = list(KNOWN)
    asked = [str(known[1]), "not-an-id", str(HIDDEN), str(known[1]), str(known[2])]
    result = await SCHEMA.execute(BULK, variable_values={
        "r": [{"__typename": "Bulk", "id": i} for i in asked],
        "s": [{"__typename": "Thing", "id": str(known[4])}]}, context_value=context())
    assert result.errors is None, result.errors
    assert result.data is not None
    assert [e and e["name"] for e in result.data["a"]] == [
        KNOWN[known[1]], None, None, KNOWN[known[1]], KNOWN[known[2]]]
    assert result.data["b"] == [{"name": KNOWN[known[4]]}]
    assert calls == [asked]
    # Both fields' references of the batch function in one batch, each id once.
    assert len(batches) == 1
    assert sorted(batches[0]) == sorted({known[1], HIDDEN, known[2], known[4]})


async def test_a_failing_batch_fails_its_own_references_only() -> None:
    known = str(next(iter(KNOWN)))
    result = await SCHEMA.execute(BULK, variable_values={
        "r": [{"__typename": "Broken", "id": known}, {"__typename": "Bulk", "id": known}],
        "s": [{"__typename": "Thing", "id": known}]}, context_value=context())
    assert result.data is not None
    assert result.data["a"] == [None, {"name": KNOWN[uuid.UUID(known)]}]
    assert result.data["b"] == [{"name": KNOWN[uuid.UUID(known)]}]
    assert result.errors is not None and [e.path for e in result.errors] == [["a", 0]]


async def test_a_type_made_by_of_gets_both_resolvers_from_the_kit() -> None:
    batches.clear()
    known = list(KNOWN)
    asked = [str(known[0]), "not-an-id", str(HIDDEN), str(known[3])]
    result = await SCHEMA.execute(
        """query($r: [_Any!]!, $id: ID!) { named(id: $id) { id name }
           _entities(representations: $r) { ... on Named { id name } } }""",
        variable_values={"r": [{"__typename": "Named", "id": i} for i in asked],
                         "id": str(known[1])}, context_value=context())
    assert result.errors is None, result.errors
    assert result.data == {
        "named": {"id": "1", "name": "thing 1"},
        "_entities": [{"id": "0", "name": "thing 0"}, None, None, {"id": "3", "name": "thing 3"}],
    }
    assert len(batches) == 1  # the query's reference and the list's, one batch

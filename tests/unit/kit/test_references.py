"""Entity references of one request load in one batch per type; malformed, unknown and
hidden ids resolve to null, and each request has loaders of its own."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import strawberry

from crmkit.auth import Caller, Role
from crmkit.graphql import GraphQLContext, build_schema
from crmkit.references import load_entity

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


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"


SCHEMA = build_schema(query=Query, types=[Thing])
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

"""The pipeline's cheaper execution gives graphql-core's own answers: values, nulls, errors
and the order of the fields asked for."""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from services.pipeline.schema.execution import PlainLeafExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


@strawberry.type
class Owner:
    id: strawberry.ID
    name: str | None


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    count: int
    colour: Colour
    note: str | None
    broken: int  # holds None or a value that is no int: a field error
    owner: Owner

    @strawberry.field
    def doubled(self) -> int:
        return self.count * 2

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name.upper()


def item(i: int, broken: Any = 1) -> Item:
    return Item(id=strawberry.ID(str(i)), name=f"item {i}", count=i, colour=Colour.RED,
                note=None if i % 2 else "even", broken=broken,
                owner=Owner(id=strawberry.ID("o"), name=None))


ITEMS = [item(1), item(2), item(3, broken=None), item(4, broken="x")]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return list(ITEMS)

    @strawberry.field
    def first(self) -> Item:
        return ITEMS[0]


QUERIES = [
    "{ items { id name count colour note owner { id name } } }",
    "{ items { note doubled id owner { name id } count } }",
    "{ items { later id colour } }",
    "{ items { id broken name } }",
    "{ items { n: name name id ... on Item { count } } }",
    # One object, its selection seen once, and the same selection in a list after it.
    "{ first { id name note owner { id name } } }",
    "{ first { id name count } items { id name count } }",
    "{ items { id broken } first { id broken } }",
]


def run(context: type[StrawberryGraphQLCoreExecutionContext], query: str) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query)
    schema.execution_context_class = context
    result = asyncio.run(schema.execute(query))
    return {
        "data": result.data,
        "order": [list(node) for node in (result.data or {}).get("items") or [] if node]
        + [list((result.data or {}).get("first") or {})],
        "errors": sorted((e.message, tuple(e.path or ())) for e in result.errors or []),
    }


def test_answers_as_graphql_core_does() -> None:
    for query in QUERIES:
        assert run(PlainLeafExecutionContext, query) == run(
            StrawberryGraphQLCoreExecutionContext, query
        ), query
    broken = run(PlainLeafExecutionContext, QUERIES[3])
    assert len(broken["errors"]) == 2 and broken["data"]["items"][2] is None

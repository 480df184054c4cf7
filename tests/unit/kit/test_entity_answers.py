"""The ``_entities`` answers the kit completes itself (:mod:`crmkit.entity_answers`) are
graphql-core's, to the byte: the same queries and entities run through both executors give
the same data and the same errors (nulls included), and the kit's completion is the one
used for plain selections only."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult, execute, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from crmkit.auth import Caller, Role
from crmkit.entity_answers import EntityExecutionContext, _is_strawberry_union_resolver
from crmkit.graphql import GraphQLContext, build_schema


@strawberry.enum
class Mood(enum.Enum):
    CALM = "calm"
    BUSY = "busy"


@strawberry.type
class Part:
    label: str


STORE: dict[str, Any] = {}
FAILING: set[str] = set()


def stored(cls: type, ids: list[strawberry.ID]) -> list[Any]:
    if FAILING & set(ids):
        raise RuntimeError("the store is down")
    return [found if isinstance(found := STORE.get(str(i)), cls)
            or getattr(found, "__as_strawberry_type__", None) is cls else None for i in ids]


@strawberry.federation.type(keys=["id"])
class Plain:
    id: strawberry.ID
    name: str
    note: str | None
    count: int
    ratio: float
    flag: bool
    tags: list[str]
    maybe_tags: list[str | None] | None
    mood: Mood
    at: datetime

    @classmethod
    async def resolve_references(cls, info: strawberry.Info, ids: list[strawberry.ID]
                                 ) -> list[Plain | None]:
        return stored(cls, ids)


@strawberry.federation.type(keys=["id"])
class Other:
    id: strawberry.ID
    title: str | None
    part: Part | None

    @strawberry.field
    def shout(self) -> str:
        return (self.title or "").upper()

    @classmethod
    async def resolve_references(cls, info: strawberry.Info, ids: list[strawberry.ID]
                                 ) -> list[Other | None]:
        return stored(cls, ids)


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"


SCHEMA = build_schema(query=Query, types=[Plain, Other]).__dict__["_schema"]
AT = datetime(2026, 12, 7, 5, 30, tzinfo=UTC)


def plain(**values: Any) -> Plain:
    fields: dict[str, Any] = {
        "id": strawberry.ID(str(uuid.uuid4())), "name": "Acme", "note": None, "count": 3,
        "ratio": 0.5, "flag": True, "tags": ["a", "b"], "maybe_tags": ["x", None],
        "mood": Mood.BUSY, "at": AT} | values
    made = Plain(**fields)
    STORE[str(made.id)] = made
    return made


def other(**values: Any) -> Other:
    made = Other(**({"id": strawberry.ID(str(uuid.uuid4())), "title": "deal", "part": None}
                    | values))
    STORE[str(made.id)] = made
    return made


class Recording(EntityExecutionContext):
    """Notes whether the kit completed each ``_entities`` answer itself."""

    completed_here: list[bool] = []

    def _plain_or_none(self, *args: Any) -> Any:
        completed = super()._plain_or_none(*args)
        Recording.completed_here.append(completed is not None)
        return completed


async def run(executor: type, query: str, variables: dict[str, Any]) -> ExecutionResult:
    caller = Caller(member_id=uuid.uuid4(), org_id=uuid.uuid4(), roles=frozenset({Role.REP}))
    result = execute(SCHEMA, parse(query), variable_values=variables, executor_class=executor,
                     context_value=GraphQLContext(caller=caller, request_id="r", state=None))
    if not isinstance(result, ExecutionResult):
        result = await result
    assert isinstance(result, ExecutionResult)
    return result


async def both(query: str, **variables: Any) -> list[bool]:
    """The answer through graphql-core and through the kit, held equal; whether the kit
    completed each ``_entities`` answer itself."""
    Recording.completed_here = []
    expected = await run(StrawberryGraphQLCoreExecutionContext, query, variables)
    got = await run(Recording, query, variables)
    assert got.data == expected.data
    assert [e.formatted for e in got.errors or ()] == [e.formatted for e in expected.errors or ()]
    assert list(_keys(got.data)) == list(_keys(expected.data))  # the same order, too
    return Recording.completed_here


def _keys(data: Any) -> Any:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _keys(value)
    elif isinstance(data, list):
        for value in data:
            yield from _keys(value)


def refs(*entities: Any) -> list[dict[str, str]]:
    return [{"__typename": type(e).__name__, "id": str(e.id)} if not isinstance(e, tuple)
            else {"__typename": e[0], "id": e[1]} for e in entities]


ALL_PLAIN = """query($r: [_Any!]!) { _entities(representations: $r) { __typename
  ... on Plain { id name note count ratio flag tags maybeTags mood at alias: name } } }"""


async def test_plain_fields_of_every_kind_with_nulls_unknown_and_malformed_ids() -> None:
    entities = [plain(), plain(note="n", maybe_tags=None, flag=False, count=-7),
                ("Plain", str(uuid.uuid4())), ("Plain", "not-an-id"), plain(tags=[])]
    assert await both(ALL_PLAIN, r=refs(*entities)) == [True]


async def test_two_types_in_one_list_and_two_aliased_lists_as_the_gateway_sends() -> None:
    mixed = refs(plain(), other(), other(title=None), plain())
    assert await both("""query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Plain { name } ... on Other { title } } }""", r=mixed) == [True]
    gateway = """query($_r0: [_Any!]!, $_r1: [_Any!]!) {
        _r0: _entities(representations: $_r0) { ... on Plain { name count } }
        _r1: _entities(representations: $_r1) { ... on Other { title } } }"""
    assert await both(gateway, _r0=refs(plain(), plain()), _r1=refs(other())) == [True, True]


class Lookalike:
    """Not a strawberry type: answered as one by ``strawberry.cast``."""

    def __init__(self, title: str) -> None:
        self.id = strawberry.ID(str(uuid.uuid4()))
        self.title = title
        self.part = None


async def test_cast_objects_among_plain_ones_resolve_each_as_cast() -> None:
    cast = strawberry.cast(Other, Lookalike("cast"))
    STORE[str(cast.id)] = cast
    assert _is_strawberry_union_resolver(SCHEMA.get_type("_Entity").resolve_type)
    query = """query($r: [_Any!]!) { _entities(representations: $r) { __typename
        ... on Other { title } ... on Plain { name } } }"""
    representations = refs(other(), ("Other", str(cast.id)), other(), plain())
    assert await both(query, r=representations) == [True]
    answer = await run(EntityExecutionContext, query, {"r": representations})
    assert answer.data is not None
    assert answer.data["_entities"][1] == {"__typename": "Other", "title": "cast"}


async def test_fragments_directives_left_out_and_typename_alone() -> None:
    spread = """query($r: [_Any!]!) { _entities(representations: $r) { ...P } }
        fragment P on Plain { name tags }"""
    assert await both(spread, r=refs(plain(), plain())) == [True]
    assert await both("""query($r: [_Any!]!) { _entities(representations: $r) {
        __typename } }""", r=refs(plain(), other())) == [True]
    assert await both("""query($r: [_Any!]!, $on: Boolean = false) {
        _entities(representations: $r) { ... on Plain { name @include(if: $on) note }
        ... on Plain @skip(if: true) { count } } }""", r=refs(plain())) == [True]


@pytest.mark.parametrize("selection", [
    "... on Other { shout }",  # a resolver
    "... on Other { part { label } }",  # an object
    "... on Plain { name @include(if: $on) note }",  # a directive on a field left in
])
async def test_other_selections_are_graphql_cores(selection: str) -> None:
    query = f"""query($r: [_Any!]!, $on: Boolean = true) {{
        _entities(representations: $r) {{ {selection} }} }}"""
    assert await both(query, r=refs(other(part=Part(label="x")), plain())) == [False]


@pytest.mark.parametrize(("values", "completed_here"), [
    ({"name": None}, False),  # null where none may be: the entity is null, with an error
    ({"count": "many"}, False),  # a value the coercion refuses
    ({"count": 2**40}, False),  # beyond GraphQL's Int
    ({"tags": "a,b"}, False),  # not a list
    ({"tags": ("a", None)}, False),  # a null item where none may be
    ({"at": "yesterday"}, False),  # not a datetime
    ({"note": 5}, True),  # values the coercion takes: the same answer either way
    ({"mood": "busy"}, True),
    ({"tags": ("a", "b")}, True),
])
async def test_values_graphql_core_refuses_give_its_errors(
    values: dict[str, Any], completed_here: bool,
) -> None:
    assert await both(ALL_PLAIN, r=refs(plain(), plain(**values), plain())) == [completed_here]


async def test_a_failed_batch_gives_graphql_cores_error_at_each_of_its_references() -> None:
    broken = plain()
    FAILING.add(str(broken.id))
    try:
        assert await both(ALL_PLAIN, r=refs(plain(), broken)) == [False]
    finally:
        FAILING.clear()

"""Control characters in text inputs (issue 13, item 4): a mutation whose result union holds
``ValidationError`` answers that member naming every field that holds one, and its resolver
does not run; everything else (queries, mutations without the member, arguments below a
mutation's root field, variables used anywhere else) is refused whole at the edge with
``BAD_USER_INPUT``. Either way no resolver sees the text."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route

from crmkit.app import graphql_endpoint
from crmkit.auth import TokenVerifier, mint_dev_token
from crmkit.control_characters import paths_holding_control_characters
from crmkit.edge_input import input_problem
from crmkit.graphql import (
    DirectExecutor,
    ValidationError,
    answering_mutations,
    build_schema,
)
from crmkit.settings import DEV_JWT_SECRET
from crmkit.values import InvalidValue, clean_text

WRITTEN: list[str] = []  # what a resolver was asked to store


@strawberry.input
class NoteInput:
    title: str
    tags: list[str] = strawberry.field(default_factory=list)
    contact_name: str | None = None


@strawberry.type
class Note:
    id: strawberry.ID
    title: str

    @strawberry.field
    def excerpt(self, marker: str = "") -> str:
        return self.title + marker


@strawberry.type
class NotePayload:
    note: Note


NoteResult = Annotated[NotePayload | ValidationError, strawberry.union("NoteResult")]


@strawberry.type
class Query:
    @strawberry.field
    def notes(self, search: str | None = None) -> list[Note]:
        WRITTEN.append(f"searched {search!r}")
        return []


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def add_note(self, input: NoteInput, comment: str | None = None) -> NoteResult:
        WRITTEN.append(input.title)
        return NotePayload(note=Note(id=strawberry.ID("n1"), title=input.title))

    @strawberry.mutation
    def rename(self, title: str) -> Note:  # no ValidationError member
        WRITTEN.append(title)
        return Note(id=strawberry.ID("n1"), title=title)


SCHEMA = build_schema(query=Query, mutation=Mutation)
TOKEN = mint_dev_token(secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=uuid.uuid4(),
                       roles=["rep"])
ANSWER = "__typename ... on ValidationError { message fields { path message } }"
ADD = f"mutation($i: NoteInput!, $c: String) {{ addNote(input: $i, comment: $c) {{ {ANSWER} }} }}"


@pytest.fixture(autouse=True)
def written() -> Iterator[list[str]]:
    WRITTEN.clear()
    yield WRITTEN
    WRITTEN.clear()


@pytest.fixture(params=["direct", "strawberry"])
def executor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a service runs an operation: the direct executor and strawberry's view."""
    if request.param == "strawberry":
        monkeypatch.setattr(DirectExecutor, "prepare", lambda self, query, name: None)
    return str(request.param)


async def post(query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    endpoint = graphql_endpoint(
        SCHEMA, TokenVerifier(secret=DEV_JWT_SECRET, algorithms=["HS256"]), None,
        graphiql=False)
    app = Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {TOKEN}"})


def answered(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["addNote"]
    assert result["__typename"] == "ValidationError", result
    return result


def refused(response: httpx.Response, where: str) -> None:
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert where in error["message"], error


def test_only_mutations_with_a_validation_error_member_answer_it_themselves() -> None:
    assert answering_mutations(SCHEMA._schema) == {"addNote"}
    assert DirectExecutor(SCHEMA).enabled  # nothing strawberry-side was added


def test_every_path_holding_one_is_named_in_order() -> None:
    value = {"input": {"title": "a\x00", "tags": ["ok", "b\x07", "\x7f", "c1 \x85", "\ud800"],
                       "n": 1, "text": "tab\tline\r\nbreak é ✓\xa0"}, "comment": None}
    assert list(paths_holding_control_characters(value)) == [
        ("input", "title"), ("input", "tags", "1"), ("input", "tags", "2"),
        ("input", "tags", "3"), ("input", "tags", "4")]


@pytest.mark.parametrize("text", ["a\x00", "\x1b", "\x7f", "\x85", "\x9f", "lone \udc00"])
def test_the_edge_the_mutations_and_clean_text_share_one_rule(text: str) -> None:
    """What the edge and the mutations refuse, clean_text refuses (and multi-line text alike),
    and the reverse but for tab and line breaks in one-line text."""
    assert input_problem(text, "v") is not None
    assert list(paths_holding_control_characters(text)) == [()]
    for multiline in (False, True):
        with pytest.raises(InvalidValue):
            clean_text(text, max_length=50, multiline=multiline)
    assert input_problem("a\tb\r\nc \xa0é", "v") is None
    assert clean_text("a\tb\r\nc \xa0é", max_length=50, multiline=True)


async def test_variables_answer_validation_error_naming_each_field(
    executor: str, written: list[str]
) -> None:
    result = answered(await post(ADD, {
        "i": {"title": "Note\x00", "tags": ["ok", "bell\x07"], "contactName": "Jan\x1b[31m"},
        "c": "why\x00"}))
    assert [f["path"] for f in result["fields"]] == [
        ["input", "title"], ["input", "tags", "1"], ["input", "contactName"], ["comment"]]
    assert {f["message"] for f in result["fields"]} == {
        "text must not contain control characters"}
    assert result["message"].startswith("invalid input: input.title: text must not contain")
    assert written == []


async def test_inline_arguments_answer_it_too(executor: str, written: list[str]) -> None:
    result = answered(await post(
        f'mutation {{ addNote(input: {{title: "ok", tags: ["\\u0000"]}}) {{ {ANSWER} }} }}'))
    assert [f["path"] for f in result["fields"]] == [["input", "tags", "0"]]
    assert written == []


async def test_through_a_fragment_on_the_mutation_type(written: list[str]) -> None:
    result = answered(await post(
        f'mutation {{ ...M }} fragment M on Mutation {{ ... on Mutation {{ '
        f'addNote(input: {{title: "x\\u0000"}}) {{ {ANSWER} }} }} }}'))
    assert [f["path"] for f in result["fields"]] == [["input", "title"]]
    assert written == []


async def test_clean_text_runs_the_mutation(executor: str, written: list[str]) -> None:
    response = await post(ADD, {"i": {"title": "Tab\there\r\nand é"}})
    assert response.json() == {"data": {"addNote": {"__typename": "NotePayload"}}}
    assert written == ["Tab\there\r\nand é"]


@pytest.mark.parametrize(("query", "variables", "where"), [
    # a query: no result union to answer with
    ("query($s: String) { notes(search: $s) { id } }", {"s": "a\x00"}, "variables.s"),
    ('{ notes(search: "a\\u0000") { id } }', None, "argument search"),
    # a mutation whose result has no ValidationError member
    ("mutation($t: String!) { rename(title: $t) { id } }", {"t": "a\x00"}, "variables.t"),
    # an argument below the mutation's root field, which its check does not see
    ('mutation { addNote(input: {title: "ok"}) { ... on NotePayload { note { '
     'excerpt(marker: "\\u0000") } } } }', None, "argument marker"),
    # a variable the answering mutation uses, and an argument below it too
    ("mutation($t: String!) { addNote(input: {title: $t}) { ... on NotePayload { note { "
     "excerpt(marker: $t) } } } }", {"t": "a\x00"}, "variables.t"),
    # a variable no answering argument uses
    ("mutation($i: NoteInput!, $x: String) { addNote(input: $i) { __typename } }",
     {"i": {"title": "ok"}, "x": "a\x00"}, "variables.x"),
    # a clean answering mutation beside one that cannot answer: refused whole
    ('mutation { addNote(input: {title: "ok"}) { __typename } rename(title: "a\\u0000") '
     "{ id } }", None, "argument title"),
    # C1 controls, as themselves in a query's text and escaped in variables
    ('{ notes(search: "a\u0085") { id } }', None, "argument search"),
    ('{ notes(search: "a\\u009f") { id } }', None, "argument search"),
    ("query($s: String) { notes(search: $s) { id } }", {"s": "next line \x85"}, "variables.s"),
    # an over-long list stays the edge's, in any variable
    (ADD, {"i": {"title": "ok", "tags": ["t"] * 10_001}}, "at most 10000 items"),
])
async def test_everything_else_is_refused_whole_at_the_edge(
    query: str, variables: dict[str, Any] | None, where: str, written: list[str]
) -> None:
    refused(await post(query, variables), where)
    assert written == []


async def test_c1_controls_in_a_mutation_answer_validation_error(
    executor: str, written: list[str]
) -> None:
    result = answered(await post(ADD, {"i": {"title": "Note\x85", "tags": ["\x9b[31m"]}}))
    assert [f["path"] for f in result["fields"]] == [["input", "title"], ["input", "tags", "0"]]
    assert written == []


async def test_a_lone_surrogate_is_refused_whole_by_post_and_by_get(written: list[str]) -> None:
    """JSON can only write one as an escape; the edge's parser refuses the text (strawberry's
    own would take it)."""
    endpoint = graphql_endpoint(
        SCHEMA, TokenVerifier(secret=DEV_JWT_SECRET, algorithms=["HS256"]), None,
        graphiql=False)
    app = Starlette(routes=[Route("/graphql", endpoint, methods=["GET", "POST"])])
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    query = "query($s: String) { notes(search: $s) { id } }"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        for variables in ('{"s": "a\\ud800"}', '{"s": "\\udfff b"}'):
            body = f'{{"query": "{query}", "variables": {variables}}}'
            responses = [
                await client.post("/graphql", content=body.encode(), headers=headers),
                await client.get("/graphql", params={"query": query, "variables": variables},
                                 headers=headers),
            ]
            for response in responses:
                assert response.status_code == 400, response.text
                [error] = response.json()["errors"]
                assert error["extensions"]["code"] == "BAD_REQUEST", error
                assert "not valid JSON" in error["message"], error
    assert written == []


async def test_a_refused_variable_names_its_path_for_the_client_to_place() -> None:
    response = await post("query($s: String) { notes(search: $s) { id } }", {"s": "a\x00"})
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "variablePath": ["s"]}
    response = await post('{ notes(search: "a\\u0000") { id } }')
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}  # in the operation's text

"""The kit's request context: one rule for a missing caller, typed state, a fresh unit of work
per use case, and the GraphQL form of ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

import pytest
import strawberry
from graphql import GraphQLError

from crmkit import errors
from crmkit.auth import Caller, Role
from crmkit.graphql import GraphQLContext
from crmkit.schema_context import (
    RequestContext,
    ServiceState,
    caller_of,
    gid,
    optional_gid,
    optional_id,
    parse_id,
)
from crmkit.testing.fakes import FakeUnitOfWork


@dataclass(frozen=True)
class NotesState(ServiceState[list[str]]):
    label: str


def info_of(context: GraphQLContext) -> Any:
    return cast(Any, type("FakeInfo", (), {"context": context})())


def test_a_missing_caller_is_unauthenticated() -> None:
    context = GraphQLContext(caller=cast(Caller, None), request_id="r1", state=None)
    with pytest.raises(GraphQLError) as caught:
        caller_of(context)
    assert caught.value.extensions == {"code": "UNAUTHENTICATED"}


def test_each_use_case_gets_its_own_unit_of_work_and_the_service_state() -> None:
    made: list[FakeUnitOfWork[list[str]]] = []

    def uow() -> FakeUnitOfWork[list[str]]:
        made.append(FakeUnitOfWork([]))
        return made[-1]

    caller = Caller(member_id=uuid.uuid4(), org_id=uuid.uuid4(), roles=frozenset({Role.REP}))
    context = GraphQLContext(caller=caller, request_id="r1", state=NotesState(uow, "notes"))
    notes = RequestContext(NotesState)
    info = info_of(context)
    first, second = notes.uow(info), notes.uow_of(context)
    assert [first, second] == made and first is not second
    assert notes.caller(info) is caller
    assert notes.state(info).label == "notes"


def test_ids_round_trip_and_a_malformed_one_names_its_argument() -> None:
    value = uuid.uuid4()
    assert parse_id(gid(value), "id") == value
    assert optional_gid(None) is None and optional_id(None, "id") is None
    assert optional_id(optional_gid(value), "id") == value
    with pytest.raises(errors.InvalidInput) as caught:
        parse_id(strawberry.ID("nope"), "input.folderId")
    assert caught.value.problems[0].path == ("input", "folderId")

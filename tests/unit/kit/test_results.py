"""One policy for refusals: typed union members for mutations, coded errors for queries."""

from __future__ import annotations

import strawberry

from crmkit import errors
from crmkit.graphql import Forbidden, NotFound, ValidationError, VersionConflict
from crmkit.results import ErrorUnion, answer_mutation, answer_query, query_error


@strawberry.type
class Done:
    ok: bool


@strawberry.type
class Overbooked:
    message: str
    free: int


class OverbookedError(errors.DomainError):
    def __init__(self, free: int) -> None:
        super().__init__("no room")
        self.free = free


def overbooked(error: errors.DomainError) -> Overbooked | None:
    return Overbooked(message=error.message, free=error.free) if isinstance(
        error, OverbookedError) else None


async def succeed() -> Done:
    return Done(ok=True)


async def refuse(error: errors.DomainError) -> Done:
    raise error


async def test_a_mutation_answers_its_payload_or_the_kit_error() -> None:
    assert await answer_mutation(succeed()) == Done(ok=True)
    found = await answer_mutation(refuse(errors.NotFoundError("Folder", "f1")))
    assert found == NotFound(message="Folder f1 not found", entity="Folder", id="f1")
    conflict = await answer_mutation(refuse(errors.VersionConflictError("Folder", 1, 3)))
    assert isinstance(conflict, VersionConflict) and conflict.current_version == 3
    invalid = await answer_mutation(refuse(errors.InvalidInput.field("input.name", "empty")))
    assert isinstance(invalid, ValidationError)
    assert [(f.path, f.message) for f in invalid.fields] == [(["input", "name"], "empty")]


async def test_a_service_error_and_an_error_outside_the_union() -> None:
    union: ErrorUnion[ValidationError | Forbidden | Overbooked] = ErrorUnion(
        ValidationError, Forbidden, Overbooked, own=overbooked)
    assert await union.answer(refuse(OverbookedError(2))) == Overbooked(message="no room", free=2)
    assert await union.answer(refuse(errors.ForbiddenError("no"))) == Forbidden(message="no")
    # NotFound is not a member of this union: the client still gets a typed answer.
    outside = await union.answer(refuse(errors.NotFoundError("Room", "r1")))
    assert outside == ValidationError(message="Room r1 not found", fields=[])


def test_a_union_always_holds_validation_errors() -> None:
    try:
        ErrorUnion(Forbidden)
    except TypeError:
        return
    raise AssertionError("a union without ValidationError was accepted")


async def test_a_query_raises_a_coded_graphql_error() -> None:
    assert await answer_query(succeed()) == Done(ok=True)
    codes = {}
    for error in (errors.InvalidInput.field("first", "too many"), errors.NotFoundError("X", 1),
                  errors.ForbiddenError("no"), errors.VersionConflictError("X", 1, 2),
                  errors.DomainError("other")):
        try:
            await answer_query(refuse(error))
        except Exception as raised:
            codes[type(error).__name__] = raised.extensions["code"]  # type: ignore[attr-defined]
    assert codes == {"InvalidInput": "BAD_USER_INPUT", "NotFoundError": "NOT_FOUND",
                     "ForbiddenError": "FORBIDDEN", "VersionConflictError": "CONFLICT",
                     "DomainError": "BAD_USER_INPUT"}
    invalid = query_error(errors.InvalidInput.field("first", "too many"))
    assert invalid.message == "invalid input: first: too many"
    assert invalid.extensions == {"code": "BAD_USER_INPUT",
                                  "fields": [{"path": ["first"], "message": "too many"}]}

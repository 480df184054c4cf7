"""How a use case's refusal reaches the client: one policy for mutations and one for queries.

- A **mutation** answers a union of its payload and typed errors. :class:`ErrorUnion` lists
  the errors one union holds and maps a domain error to one of them (a service's own errors
  through ``own``; the kit's through :func:`crmkit.graphql.error_result`; anything the union
  does not hold as a ``ValidationError`` with the error's message)::

      CreateFolderResult = Annotated[CreateFolderPayload | CommonError,
                                     strawberry.union("CreateFolderResult")]

      @strawberry.mutation
      async def create_folder(self, info: Info, name: str) -> CreateFolderResult:
          async def run() -> CreateFolderPayload:
              folder = await h.create_folder(h.CreateFolder(caller(info), name), uow(info))
              return CreateFolderPayload(folder=Folder.of(folder))

          return await answer_mutation(run())

- A **query** has no union: a refusal raises a GraphQL error carrying ``extensions.code``
  (:func:`answer_query`, :func:`query_error`).

Anything else raised is a bug and never shown as its own text (:func:`crmkit.graphql.
public_errors`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from graphql import GraphQLError

from crmkit import errors
from crmkit.graphql import (
    CommonError,
    Forbidden,
    NotFound,
    ValidationError,
    VersionConflict,
    error_result,
)

P = TypeVar("P")
E = TypeVar("E")


class ErrorUnion(Generic[E]):
    """The error members of one kind of mutation result, and how a domain error becomes one.

    ``E`` is the union of the members (always with ``ValidationError``, the fallback);
    ``own`` maps a service's own domain errors (None: not one of them)."""

    def __init__(
        self,
        *members: type[E],
        own: Callable[[errors.DomainError], E | None] | None = None,
    ) -> None:
        if ValidationError not in members:
            raise TypeError("a result union always holds ValidationError")
        self._members = members
        self._own = own

    def result(self, error: errors.DomainError) -> E | ValidationError:
        if self._own is not None:
            mapped = self._own(error)
            if mapped is not None:
                return mapped
        common = error_result(error)
        for member in self._members:
            if isinstance(common, member):
                return common
        return ValidationError(message=error.message, fields=[])

    async def answer(self, run: Awaitable[P]) -> P | E | ValidationError:
        """``await run``, or the typed error its refusal maps to."""
        try:
            return await run
        except errors.DomainError as error:
            return self.result(error)


COMMON_ERRORS: ErrorUnion[CommonError] = ErrorUnion(
    ValidationError, NotFound, Forbidden, VersionConflict
)


OwnError = TypeVar("OwnError")


def common_errors_and(
    member: type[OwnError], own: Callable[[errors.DomainError], OwnError | None]
) -> ErrorUnion[CommonError | OwnError]:
    """The four kit errors and one of a service's own, which ``own`` maps its domain error to
    (the pipeline's ``GateNotSatisfied``, the documents' ``ContentRefused``)."""
    return ErrorUnion[CommonError | OwnError](
        ValidationError, NotFound, Forbidden, VersionConflict, member, own=own
    )


async def answer_mutation(run: Awaitable[P]) -> P | CommonError:
    """``await run``, a refusal as one of the four kit errors."""
    return await COMMON_ERRORS.answer(run)


QUERY_ERROR_CODES: dict[type[errors.DomainError], str] = {
    errors.InvalidInput: "BAD_USER_INPUT",
    errors.NotFoundError: "NOT_FOUND",
    errors.ForbiddenError: "FORBIDDEN",
    errors.VersionConflictError: "CONFLICT",
}


def query_error(error: errors.DomainError) -> GraphQLError:
    """The GraphQL error a query answers a refusal with: the message, ``extensions.code``
    (``BAD_USER_INPUT``, ``NOT_FOUND``, ``FORBIDDEN``, ``CONFLICT``) and, for bad input, the
    fields at fault."""
    code = next(
        (c for kind, c in QUERY_ERROR_CODES.items() if isinstance(error, kind)), "BAD_USER_INPUT"
    )
    extensions: dict[str, object] = {"code": code}
    if isinstance(error, errors.InvalidInput):
        extensions["fields"] = [
            {"path": list(p.path), "message": p.message} for p in error.problems
        ]
    return GraphQLError(error.message, extensions=extensions)


async def answer_query(run: Awaitable[P]) -> P:
    """``await run``; a refusal raised as :func:`query_error`."""
    try:
        return await run
    except errors.DomainError as error:
        raise query_error(error) from None

"""GraphQL plumbing shared by the subgraphs: context, typed errors, Relay paging."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import ASTValidationRule
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule
from strawberry.federation import Schema as FederationSchema

from crmkit import errors
from crmkit.auth import Caller

FEDERATION_VERSION = "2.9"
MAX_PAGE_SIZE = 200


@dataclass
class GraphQLContext:
    """What every resolver gets: the verified caller, the request id and the service's state."""

    caller: Caller
    request_id: str
    state: Any


# Error types appear in several subgraphs with identical shape, hence shareable.
@strawberry.federation.type(shareable=True)
class FieldError:
    path: list[str]
    message: str


@strawberry.federation.type(shareable=True)
class ValidationError:
    message: str
    fields: list[FieldError]


@strawberry.federation.type(shareable=True)
class NotFound:
    message: str
    entity: str
    id: str


@strawberry.federation.type(shareable=True)
class Forbidden:
    message: str


@strawberry.federation.type(shareable=True)
class VersionConflict:
    message: str
    current_version: int


CommonError = ValidationError | NotFound | Forbidden | VersionConflict


def error_result(error: errors.DomainError) -> Any:
    """The GraphQL form of a kit error; services map their own domain errors first."""
    if isinstance(error, errors.InvalidInput):
        return ValidationError(
            message=error.message,
            fields=[FieldError(path=list(p.path), message=p.message) for p in error.problems],
        )
    if isinstance(error, errors.NotFoundError):
        return NotFound(message=error.message, entity=error.entity, id=error.entity_id)
    if isinstance(error, errors.ForbiddenError):
        return Forbidden(message=error.message)
    if isinstance(error, errors.VersionConflictError):
        return VersionConflict(message=error.message, current_version=error.current)
    return ValidationError(message=error.message, fields=[])


@strawberry.federation.type(shareable=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def encode_cursor(*parts: object) -> str:
    raw = "|".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, arity: int) -> list[str]:
    """Parts of a cursor made by :func:`encode_cursor`; ``InvalidInput`` when tampered with."""
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise errors.InvalidInput.field("after", "is not a valid cursor") from None
    if len(parts) != arity:
        raise errors.InvalidInput.field("after", "is not a valid cursor")
    return parts


def page_size(first: int | None, default: int = 50) -> int:
    size = default if first is None else first
    if size < 0 or size > MAX_PAGE_SIZE:
        raise errors.InvalidInput.field("first", f"must be between 0 and {MAX_PAGE_SIZE}")
    return size


def parse_uuid(value: str, path: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise errors.InvalidInput.field(path, "is not a valid id") from None


def build_schema(
    *,
    query: type,
    mutation: type | None = None,
    types: list[type] | None = None,
    max_depth: int = 15,
    max_aliases: int = 30,
) -> FederationSchema:
    # The limit rules are made once per schema: strawberry's validation cache is keyed by the
    # rule classes, so rules made per request would make every validation a cache miss.
    limits: list[type[ASTValidationRule]] = [
        max_depth_rule(max_depth, None, None),
        max_aliases_rule(max_aliases),
    ]
    return FederationSchema(
        query=query,
        mutation=mutation,
        types=types or [],
        federation_version=FEDERATION_VERSION,  # type: ignore[arg-type]
        extensions=[
            lambda: AddValidationRules(limits),
            lambda: ParserCache(maxsize=2048),
            lambda: ValidationCache(maxsize=2048),
        ],
    )


def federation_sdl(schema: FederationSchema) -> str:
    """Exactly what the subgraph answers to ``{ _service { sdl } }``."""
    from strawberry.printer import print_schema

    return print_schema(schema) + "\n"

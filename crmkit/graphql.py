"""GraphQL plumbing shared by the subgraphs: the context, the typed errors, the schema with
its limits and error policy, and the direct executor.

Mutations answer refusals with typed errors (:mod:`crmkit.results`); queries raise a GraphQL
error with ``extensions.code``. Anything else a resolver raises is a bug: the client sees
"internal error" with the request id, never the exception's text, and the traceback goes to
the log (:func:`public_errors`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import orjson
import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    OperationType,
    default_field_resolver,
    execute,
    parse,
    specified_rules,
)
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule
from strawberry.federation import Schema as FederationSchema
from strawberry.federation.schema import FederationAny
from strawberry.schema.schema import validate_document
from strawberry.types.info import Info

from crmkit import errors
from crmkit.auth import Caller
from crmkit.control_characters import MESSAGE as CONTROL_CHARACTERS_MESSAGE
from crmkit.control_characters import paths_holding_control_characters
from crmkit.entity_answers import EntityAnswers, EntityExecutionContext
from crmkit.failures import is_bad_value, is_transient
from crmkit.paging import Page
from crmkit.scalars import SCALARS
from crmkit.values import InvalidValue, parse_id
from crmkit.variables import BAD_USER_INPUT, refused_variable

FEDERATION_VERSION = "2.9"
INTERNAL_ERROR = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"

log = logging.getLogger("crm.graphql")
T = TypeVar("T")
N = TypeVar("N")


@dataclass
class GraphQLContext:
    """What every resolver gets: the verified caller, the request id and the service's state,
    plus per-request values shared by its resolvers (data loaders: :meth:`shared`)."""

    caller: Caller
    request_id: str
    state: Any
    _shared: dict[Hashable, object] = field(default_factory=dict)

    def shared(self, key: Hashable, make: Callable[[], T]) -> T:
        """The request's one value under ``key``, made on first use (e.g. one DataLoader per
        batch function, so every resolver of the request feeds the same batch)."""
        if key not in self._shared:
            self._shared[key] = make()
        return cast(T, self._shared[key])


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


def error_result(error: errors.DomainError) -> CommonError:
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
    """A connection page's place (:mod:`crmkit.paging` gives its one meaning)."""

    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page[T]) -> PageInfo:
        return cls(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        )


@strawberry.type
class Edge(Generic[N]):
    """One node of a connection with its cursor (GraphQL names it after the node type:
    ``Edge[Document]`` is ``DocumentEdge``)."""

    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    """A keyset page of nodes (``Connection[Document]`` is ``DocumentConnection``), built the
    one way from a :class:`crmkit.paging.Page`."""

    edges: list[Edge[N]]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[T], node: Callable[[T], N]) -> Connection[N]:
        """The page's items as nodes (``node`` makes one of an item), in order."""
        return Connection(
            edges=page.edges(lambda cursor, item: Edge(cursor=cursor, node=node(item))),
            page_info=PageInfo.of(page),
        )


def parse_uuid(value: str, path: str = "id") -> uuid.UUID:
    """The id an argument names; ``InvalidInput`` at ``path`` when it names none."""
    try:
        return parse_id(value)
    except InvalidValue as error:
        raise errors.InvalidInput.field(path, error.problems[0][1]) from None


class ServiceSchema(FederationSchema):
    """A subgraph's schema: logs an unexpected resolver exception with its traceback once;
    deliberate errors (GraphQL errors, invalid documents) are the client's business."""

    # The annotations are strawberry's own: it builds the `_entities` field from them.
    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """``_entities``, with a representation of no known entity type a typed error (it
        used to answer the type's name as a KeyError's text); resolved in bulk when every
        representation is a bare ``id`` reference to a type with ``resolve_references``
        (:mod:`crmkit.references`: one call per type), else by strawberry, one by one."""
        # The representations' indexes and ids by entity class, while all can go in bulk.
        groups: dict[type, tuple[list[int], list[Any]]] | None = {}
        for index, representation in enumerate(representations):
            name = (representation.get("__typename")  # type: ignore[attr-defined]
                    if isinstance(representation, dict) else None)
            entity = self._entity_named(name) if isinstance(name, str) else None
            if entity is None:
                raise GraphQLError(
                    f"representations.{index}: {name!r} is not an entity type of this service"
                    if isinstance(name, str) else
                    f"representations.{index}: a representation needs a __typename",
                    extensions={"code": BAD_USER_INPUT},
                )
            if groups is None:
                continue
            fields = cast(dict[str, Any], representation)
            if entity.bulk is None or len(fields) != 2 or "id" not in fields:
                groups = None
                continue
            indexes, ids = groups.setdefault(entity.bulk, ([], []))
            indexes.append(index)
            ids.append(fields["id"])
        if groups is None:
            return super().entities_resolver(info, representations)
        return _resolve_in_bulk(info, groups, len(representations))  # type: ignore[return-value]

    def _entity_named(self, name: str) -> _Entity | None:
        """The entity type ``name`` names in this schema (kept once found: the schema's types
        are fixed), or None."""
        entities: dict[str, _Entity] = self.__dict__.setdefault("_entities_by_name", {})
        found = entities.get(name)
        if found is None:
            known = self.schema_converter.type_map.get(name)
            definition = getattr(known, "definition", None)
            keys = getattr(definition, "directives", None) or ()
            if known is None or not any(type(d).__name__ == "Key" for d in keys):
                return None  # not kept: any name may come
            origin = getattr(definition, "origin", None)
            found = entities[name] = _Entity(
                origin if hasattr(origin, "resolve_references") else None)
        return found

    def process_errors(
        self, errors: list[GraphQLError], execution_context: object | None = None
    ) -> None:
        for error in errors:
            if unexpected(error) and is_bad_value(error.original_error):  # type: ignore[arg-type]
                log.info("a value the database refused at %s: %s",
                         ".".join(map(str, error.path or ())), type(error.original_error).__name__)
            elif unexpected(error) and is_transient(error.original_error):  # type: ignore[arg-type]
                log.warning(
                    "a dependency is unavailable at %s: %s: %s",
                    ".".join(map(str, error.path or ())),
                    type(error.original_error).__name__, error.original_error,
                )
            elif unexpected(error):
                log.error(
                    "unexpected error at %s: %s", ".".join(map(str, error.path or ())), error,
                    exc_info=error.original_error,
                )


@dataclass(frozen=True)
class _Entity:
    """An entity type of a schema: its class when it resolves its references in bulk."""

    bulk: type | None


async def _resolve_in_bulk(
    info: Info, groups: dict[type, tuple[list[int], list[Any]]], count: int
) -> list[object]:
    """``_entities``' answer, each type's references resolved by one call (concurrently when
    there are several types); a type whose call fails fails at each of its references."""
    results = EntityAnswers([None] * count)

    async def resolve(origin: Any, indexes: list[int], ids: list[Any]) -> None:
        try:
            found = await origin.resolve_references(info, ids)
        except Exception as error:  # each reference reports it, as strawberry does
            found = [error] * len(ids)
        for index, entity in zip(indexes, found, strict=True):
            results[index] = entity

    if len(groups) == 1:
        ((origin, (indexes, ids)),) = groups.items()
        await resolve(origin, indexes, ids)
    else:
        await asyncio.gather(*(resolve(o, i, ids) for o, (i, ids) in groups.items()))
    return results


def unexpected(error: GraphQLError) -> bool:
    """A resolver raised something other than a GraphQL error: a bug, not an answer."""
    return error.path is not None and error.original_error is not None and not isinstance(
        error.original_error, GraphQLError
    )


def public_errors(errors: list[GraphQLError], request_id: str) -> list[dict[str, Any]]:
    """What the client sees of ``errors``: deliberate ones as they are; a dependency that is
    down (:func:`crmkit.failures.is_transient`: the database unreachable, a serialization
    failure, a timeout) as a retryable ``SERVICE_UNAVAILABLE``; anything else as "internal
    error" with the request id (the log has the traceback under the same id). Never the
    exception's own text: it may hold SQL and its parameters."""
    shown: list[dict[str, Any]] = []
    for error in errors:
        if not unexpected(error):
            shown.append(refused_variable(error) or dict(error.formatted))
            continue
        masked: dict[str, Any]
        if is_bad_value(error.original_error):  # type: ignore[arg-type]
            masked = {
                "message": "a value is outside what the CRM can store "
                           f"(request {request_id})",
                "path": error.path,
                "extensions": {"code": BAD_USER_INPUT, "requestId": request_id},
            }
        elif is_transient(error.original_error):  # type: ignore[arg-type]
            masked = {
                "message": "service temporarily unavailable, please retry "
                           f"(request {request_id})",
                "path": error.path,
                "extensions": {"code": SERVICE_UNAVAILABLE, "retryable": True,
                               "requestId": request_id},
            }
        else:
            masked = {
                "message": f"internal error (request {request_id})",
                "path": error.path,
                "extensions": {"code": INTERNAL_ERROR, "requestId": request_id},
            }
        if error.locations:
            masked["locations"] = [loc._asdict() for loc in error.locations]
        shown.append(masked)
    return shown


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
    schema = ServiceSchema(
        query=query,
        mutation=mutation,
        types=types or [],
        federation_version=FEDERATION_VERSION,  # type: ignore[arg-type]
        execution_context_class=EntityExecutionContext,
        scalar_overrides=SCALARS,
        extensions=[
            lambda: AddValidationRules(limits),
            lambda: ParserCache(maxsize=2048),
            lambda: ValidationCache(maxsize=2048),
        ],
    )
    allow_partial_answers(schema)
    answer_control_characters(schema._schema)
    return schema


def answering_mutations(schema: GraphQLSchema) -> frozenset[str]:
    """The root mutation fields whose result union holds ``ValidationError``: they answer
    control characters in their arguments themselves (:func:`answer_control_characters`)."""
    mutation = schema.mutation_type
    if mutation is None:
        return frozenset()
    return frozenset(name for name, field in mutation.fields.items() if _answers_invalid(field))


def _answers_invalid(field: GraphQLField) -> bool:
    result = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    return isinstance(result, GraphQLUnionType) and any(
        member.name == "ValidationError" for member in result.types)


def answer_control_characters(schema: GraphQLSchema) -> None:
    """Each root mutation field with a ``ValidationError`` member answers it, naming every
    argument path that holds a control character (:mod:`crmkit.control_characters`), and its
    resolver does not run: a client handles it where it handles its other invalid input.
    Wraps graphql-core's resolvers, so strawberry's view and the direct executor both see it,
    and the schema's text is unchanged."""
    mutation = schema.mutation_type
    for name in answering_mutations(schema):
        assert mutation is not None
        field = mutation.fields[name]
        field.resolve = _refusing_control_characters(field.resolve or default_field_resolver)


def _refusing_control_characters(resolve: Any) -> Callable[..., Any]:
    def resolver(source: Any, info: Any, **arguments: Any) -> Any:
        # The arguments as graphql-core coerced them (inline or from variables, defaults
        # included), keyed by their GraphQL names: the paths a client knows.
        found = list(paths_holding_control_characters(arguments))
        if found:
            return error_result(errors.InvalidInput(
                [errors.FieldProblem(path, CONTROL_CHARACTERS_MESSAGE) for path in found]))
        return resolve(source, info, **arguments)

    return resolver


FEDERATION_ROOT_FIELDS = ("_entities", "_service")


def allow_partial_answers(schema: FederationSchema) -> None:
    """Make the fields where an outage would otherwise null a whole answer nullable, so one
    service's outage costs only its own fields: every root query field (a query touching a
    healthy and a down subgraph keeps the healthy half) and every field holding a reference
    to another service's entity (``owner: Member``: the owning service fills it in through
    the gateway, and when it cannot, the reference alone becomes null, not its parent)."""
    graphql_schema = schema._schema
    references = {
        name for name, named in graphql_schema.type_map.items()
        if isinstance(named, GraphQLObjectType) and _is_reference(named)
    }
    query_type = graphql_schema.query_type
    if query_type is not None:
        for name, field in query_type.fields.items():
            if name not in FEDERATION_ROOT_FIELDS and isinstance(field.type, GraphQLNonNull):
                field.type = field.type.of_type
    for named in graphql_schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else None
            if isinstance(inner, GraphQLObjectType) and inner.name in references:
                field.type = inner


def _is_reference(named: GraphQLObjectType) -> bool:
    """A type this subgraph only refers to: its key is marked ``resolvable: false``."""
    definition = (named.extensions or {}).get("strawberry-definition")
    return any(
        getattr(directive, "resolvable", True) is False
        for directive in getattr(definition, "directives", None) or ()
    )


class DirectExecutor:
    """Runs a valid query or mutation on graphql-core directly, without strawberry's HTTP
    view and per-request extension machinery (several hundred microseconds of CPU per
    request, more than a small mutation's own work).

    Only for schemas whose extensions are the ones :func:`build_schema` installs: their
    effect (parse and validation caches, the limit rules) is reproduced here. Anything this
    class declines (``prepare`` returns None: parse or validation errors, subscriptions,
    several operations without a name, other extensions or directives) goes through
    strawberry, which produces its usual answers and errors.
    """

    _KNOWN = (AddValidationRules, ParserCache, ValidationCache)

    def __init__(self, schema: FederationSchema, maxsize: int = 2048) -> None:
        self._schema = schema
        # Declined documents are remembered too (as None), so they are not parsed again.
        self._prepared = functools.lru_cache(maxsize=maxsize)(self._check)
        extensions = schema.get_extensions()
        self.enabled = not schema.directives and all(
            isinstance(e, self._KNOWN) for e in extensions
        )
        extra = [r for e in extensions if isinstance(e, AddValidationRules)
                 for r in e.validation_rules]
        self._rules = (*specified_rules, *extra)

    def prepare(self, query: str, operation_name: str | None) -> DocumentNode | None:
        """The parsed document when it validates and names one query or mutation to run."""
        if not self.enabled:
            return None
        return self._prepared(query, operation_name)

    def _check(self, query: str, operation_name: str | None) -> DocumentNode | None:
        try:
            document = parse(query)
        except GraphQLError:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is None:
            chosen = operations if len(operations) == 1 else []
        else:
            chosen = [o for o in operations if o.name and o.name.value == operation_name]
        if len(chosen) != 1 or chosen[0].operation not in (
            OperationType.QUERY, OperationType.MUTATION
        ):
            return None
        if validate_document(self._schema._schema, document, self._rules):
            return None
        return document

    async def execute(
        self,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
    ) -> bytes:
        """The JSON response body, shaped as strawberry's view shapes it."""
        result = execute(
            self._schema._schema,
            document,
            root_value=None,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
            executor_class=self._schema.execution_context_class,
            operation_extensions=None,  # what strawberry's execution context expects
        )
        if optimized_is_awaitable(result):
            result = await result  # type: ignore[misc]
        assert isinstance(result, ExecutionResult)
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            self._schema._process_errors(result.errors)  # logs them, as strawberry does
            response["errors"] = public_errors(result.errors, context.request_id)
        if result.extensions:
            response["extensions"] = result.extensions
        try:
            return orjson.dumps(response)
        except TypeError:  # e.g. an integer beyond 64 bits: the standard encoder copes
            return json.dumps(response, separators=(",", ":")).encode()


def federation_sdl(schema: FederationSchema) -> str:
    """Exactly what the subgraph answers to ``{ _service { sdl } }``."""
    from strawberry.printer import print_schema

    return print_schema(schema) + "\n"

"""The gateway engine: validate, plan (cached), execute across subgraphs, shape the response."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    specified_rules,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values
from graphql.validation.rules.custom.no_schema_introspection import (
    NoSchemaIntrospectionCustomRule,
)

from crmkit.lru import LRUCache
from crmkit.query_limits import CODE as TOO_LARGE
from crmkit.query_limits import OperationTooLarge, parse_bounded
from crmkit.variables import BAD_USER_INPUT, refused_variable
from gateway.collect import FieldCollector
from gateway.errors import PlanningError
from gateway.executor import execute_plan
from gateway.limits import Limits, check_document
from gateway.override import OverrideLabels
from gateway.plan import QueryPlan
from gateway.planner import build_plan
from gateway.shaping import Shaper, shape_with_introspection
from gateway.supergraph import Supergraph
from gateway.transport import SubgraphClient


@dataclass
class GatewayResponse:
    """A GraphQL response body; `status` is 400 for requests rejected before execution."""

    body: dict[str, Any]
    status: int = 200


@dataclass
class _Document:
    """A parsed and validated document with what planning needs from it."""

    document: DocumentNode | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    operations: dict[str | None, OperationDefinitionNode] = field(default_factory=dict)
    condition_variables: tuple[str, ...] = ()
    introspection: bool = False


@dataclass
class _Prepared:
    """A cached plan with the shaper compiled for the same @skip/@include decisions."""

    plan: QueryPlan
    shaper: Shaper | None


def _request_error(message: str, code: str) -> GatewayResponse:
    return GatewayResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, 400)


class Gateway:
    """Executes client operations against a supergraph's subgraphs."""

    def __init__(
        self,
        supergraph: Supergraph,
        client: SubgraphClient,
        *,
        limits: Limits | None = None,
        introspection: bool = True,
        cache_size: int = 1024,
        override_labels: frozenset[str] = frozenset(),
    ) -> None:
        self.supergraph = supergraph
        self._labels = OverrideLabels(supergraph.labels, override_labels)
        self.client = client
        self.limits = limits or Limits()
        self._rules = list(specified_rules)
        if not introspection:
            self._rules.append(NoSchemaIntrospectionCustomRule)
        self._documents: LRUCache[str, _Document] = LRUCache(cache_size)
        self.plans: LRUCache[tuple[Any, ...], _Prepared] = LRUCache(cache_size)

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> GatewayResponse:
        if len(query.encode()) > self.limits.max_operation_bytes:
            return _request_error(
                f"operation exceeds {self.limits.max_operation_bytes} bytes", "OPERATION_TOO_LARGE"
            )
        entry = self._documents.get(query)
        if entry is None:
            entry = self._prepare(query)
            self._documents.put(query, entry)
        if entry.errors or entry.document is None:
            return GatewayResponse({"errors": entry.errors}, 400)
        operation = entry.operations.get(operation_name)
        if operation is None:
            message = (
                "operationName is required when the document has several operations"
                if operation_name is None
                else f"unknown operation named {operation_name!r}"
            )
            return _request_error(message, "BAD_REQUEST")
        inputs = dict(variables or {})
        values = get_variable_values(
            self.supergraph.api_schema, operation.variable_definitions or (), inputs
        )
        if isinstance(values, list):
            return GatewayResponse({"errors": [
                refused_variable(e) or _with_code(e, BAD_USER_INPUT) for e in values]}, 400)
        coerced = values.coerced
        labels = self._labels.active()
        plan_key = (
            query,
            operation_name,
            tuple(coerced.get(v) for v in entry.condition_variables),
            labels,
        )
        prepared = self.plans.get(plan_key)
        if prepared is None:
            try:
                plan = build_plan(self.supergraph, operation, entry.fragments, coerced, labels)
            except PlanningError as error:
                return _request_error(str(error), "QUERY_PLANNING_FAILED")
            shaper = None
            if not entry.introspection:
                collector = FieldCollector(self.supergraph, entry.fragments, coerced)
                shaper = Shaper(self.supergraph.api_schema, operation, collector)
            prepared = _Prepared(plan, shaper)
            self.plans.put(plan_key, prepared)
        state = await execute_plan(prepared.plan, self.client, inputs, headers)
        if prepared.shaper is not None:
            data, errors = prepared.shaper.shape(state.data)
        else:
            data, errors = shape_with_introspection(
                self.supergraph.api_schema, entry.document, state.data, inputs, operation_name
            )
        errors = merge_errors(errors, state.errors)
        body: dict[str, Any] = {}
        if errors:
            body["errors"] = errors
        body["data"] = data
        return GatewayResponse(body)

    def _prepare(self, query: str) -> _Document:
        try:
            document = parse_bounded(
                query, max_tokens=self.limits.max_tokens, max_repeats=self.limits.max_repeats
            )
        except OperationTooLarge as error:
            return _Document(None, [{"message": str(error),
                                     "extensions": {"code": TOO_LARGE}}])
        except GraphQLError as error:
            return _Document(None, [_with_code(error, "GRAPHQL_PARSE_FAILED")])
        violation = check_document(document, self.limits)
        if violation is not None:
            return _Document(
                None, [{"message": violation.message, "extensions": {"code": violation.code}}]
            )
        errors = validate(self.supergraph.api_schema, document, self._rules)
        if errors:
            return _Document(None, [_with_code(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
        operations: dict[str | None, OperationDefinitionNode] = {}
        fragments: dict[str, FragmentDefinitionNode] = {}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                name = definition.name.value if definition.name else None
                operations[name] = definition
            elif isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
        if len(operations) == 1:
            operations[None] = next(iter(operations.values()))
        conditions, introspection = _scan(document)
        return _Document(document, [], fragments, operations, conditions, introspection)


NULL_PROPAGATION = "Cannot return null for non-nullable field"


def merge_errors(
    shaped: list[dict[str, Any]], from_subgraphs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The shaper's errors, then the subgraphs'. A subgraph error without a path (its
    request failed as a whole: a variable it refused) already explains why the fields it
    owes are null, so the shaper's "Cannot return null" for them would only repeat it."""
    if any(not error.get("path") for error in from_subgraphs):
        shaped = [e for e in shaped if not str(e.get("message", "")).startswith(NULL_PROPAGATION)]
    return [*shaped, *from_subgraphs]


def _with_code(error: GraphQLError, code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": code}
    return formatted


def _scan(document: DocumentNode) -> tuple[tuple[str, ...], bool]:
    """Variables that drive @skip/@include (a plan holds for their values only), and whether
    the document asks for introspection."""
    found: set[str] = set()
    introspection = False

    class _Scan(Visitor):
        def enter_directive(self, node: Any, *_: object) -> None:
            if node.name.value in ("skip", "include"):
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        found.add(argument.value.name.value)

        def enter_field(self, node: Any, *_: object) -> None:
            nonlocal introspection
            introspection = introspection or node.name.value in ("__schema", "__type")

    visit(document, _Scan())
    return tuple(sorted(found)), introspection

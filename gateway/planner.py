"""Builds a query plan: phases of steps, each step one request per subgraph."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, print_ast

from gateway.collect import FieldCollector
from gateway.errors import PlanningError
from gateway.plan import (
    REPRESENTATIONS_PREFIX,
    Fetch,
    Phase,
    QueryPlan,
    Request,
    fragment_conflicts,
)
from gateway.routing import PhasePlanner
from gateway.supergraph import Supergraph

_INTROSPECTION_FIELDS = frozenset({"__typename", "__schema", "__type"})


def build_plan(
    supergraph: Supergraph,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    labels: frozenset[str] = frozenset(),
) -> QueryPlan:
    """Plan an operation. `variables` only decide @skip/@include and `labels` are the active
    progressive-override labels, so plans are cached on both."""
    operation_type = operation.operation.value
    if operation_type == "subscription":
        raise PlanningError("subscriptions are not supported by the gateway (see its README)")
    root_type = supergraph.root_types.get(operation_type)
    if root_type is None:
        raise PlanningError(f"the schema has no {operation_type} type")
    collector = FieldCollector(supergraph, fragments, variables)
    fields = collector.collect(root_type, [operation.selection_set])
    variable_definitions = {
        d.variable.name.value: print_ast(d) for d in operation.variable_definitions or ()
    }
    root_fields = [
        (k, n) for k, n in fields.items() if n[0].name.value not in _INTROSPECTION_FIELDS
    ]
    mutation = operation_type == "mutation"
    if mutation:
        groups = _consecutive_by_graph(supergraph, root_type, root_fields, labels)
    else:
        groups = [root_fields] if root_fields else []
    phases = []
    for group in groups:
        planner = PhasePlanner(supergraph, collector, root_type, labels, mutation)
        fetches = planner.plan_root(group)
        phases.append(_phase(fetches, operation_type, variable_definitions))
    return QueryPlan(phases, operation_type)


def _consecutive_by_graph(
    supergraph: Supergraph,
    root_type: str,
    fields: list[tuple[str, list[FieldNode]]],
    labels: frozenset[str],
) -> list[list[tuple[str, list[FieldNode]]]]:
    """Mutation root fields run serially; neighbours owned by one subgraph share a request."""
    groups: list[list[tuple[str, list[FieldNode]]]] = []
    last_graph = None
    for key, nodes in fields:
        info = supergraph.types[root_type].fields.get(nodes[0].name.value)
        owners = info.owners_for(labels) if info else ()
        if not owners:
            raise PlanningError(f"no subgraph resolves {root_type}.{nodes[0].name.value}")
        graph = owners[0]
        if groups and graph == last_graph:
            groups[-1].append((key, nodes))
        else:
            groups.append([(key, nodes)])
        last_graph = graph
    return groups


def _phase(
    fetches: list[Fetch], operation_type: str, variable_definitions: dict[str, str]
) -> Phase:
    steps: dict[Fetch, int] = {}

    def step_of(fetch: Fetch) -> int:
        if fetch not in steps:
            steps[fetch] = 1 + max(
                (step_of(d) for d in fetch.depends_on if d is not fetch), default=-1
            )
        return steps[fetch]

    grouped: dict[int, dict[str, list[Fetch]]] = {}
    for fetch in fetches:
        selection = fetch.selection
        if fetch.is_entity and not (selection.fields or selection.fragments or selection.typename):
            continue  # nothing left to ask
        fetch.renamed = fragment_conflicts(fetch.selection)
        grouped.setdefault(step_of(fetch), {}).setdefault(fetch.graph, []).append(fetch)
    return Phase(
        [
            [
                _request(graph, members, operation_type, variable_definitions)
                for graph, members in grouped[step].items()
            ]
            for step in sorted(grouped)
        ]
    )


def _request(
    graph: str, fetches: list[Fetch], operation_type: str, variable_definitions: dict[str, str]
) -> Request:
    used = sorted({v for f in fetches for v in f.variables})
    definitions = [variable_definitions[v] for v in used if v in variable_definitions]
    if not fetches[0].is_entity:
        (fetch,) = fetches
        header = f"({', '.join(definitions)})" if definitions else ""
        operation = f"{operation_type}{header} {{ {fetch.selection.render(fetch.renamed)} }}"
        return Request(graph, fetches, operation, tuple(used))
    parts = []
    for index, fetch in enumerate(fetches):
        alias = f"{REPRESENTATIONS_PREFIX}{index}"
        definitions.insert(index, f"${alias}: [_Any!]!")
        body = fetch.selection.render(fetch.renamed) or "__typename"
        call = f"{alias}: _entities(representations: ${alias})"
        parts.append(f"{call} {{ ... on {fetch.type_name} {{ {body} }} }}")
    operation = f"query({', '.join(definitions)}) {{ {' '.join(parts)} }}"
    return Request(graph, fetches, operation, tuple(used))

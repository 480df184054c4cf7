"""Builds a query plan: which subgraph resolves each field, and in which step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    print_ast,
    visit,
)

from gateway.collect import FieldCollector
from gateway.errors import PlanningError
from gateway.field_set import field_nodes, parse_field_set
from gateway.plan import (
    INTERNAL_PREFIX,
    REPRESENTATIONS_PREFIX,
    Fetch,
    Phase,
    QueryPlan,
    RepresentationField,
    Request,
    Selection,
)
from gateway.supergraph import FieldInfo, Supergraph

# Nested field sets by field name; None marks a leaf.
Provided = dict[str, "Provided | None"]
_MAX_KEY_HOPS = 8
_INTROSPECTION_FIELDS = frozenset({"__typename", "__schema", "__type"})


@dataclass(frozen=True)
class _Location:
    """Where planning writes: a fetch, the selection inside it, and the objects' response path."""

    fetch: Fetch
    selection: Selection
    path: tuple[str, ...]
    type_name: str
    provided: Provided | None = None


def build_plan(
    supergraph: Supergraph,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> QueryPlan:
    """Plan an operation; `variables` only decide @skip/@include, so plans are cached on them."""
    operation_type = operation.operation.value
    if operation_type == "subscription":
        raise PlanningError("subscriptions are not supported by the gateway")
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
    if operation_type == "mutation":
        groups = _consecutive_by_graph(supergraph, root_type, root_fields)
    else:
        groups = [root_fields] if root_fields else []
    phases = []
    for group in groups:
        planner = _PhasePlanner(supergraph, collector, root_type)
        fetches = planner.plan_root(group)
        phases.append(_phase(fetches, operation_type, variable_definitions))
    return QueryPlan(phases, operation_type)


def _consecutive_by_graph(
    supergraph: Supergraph, root_type: str, fields: list[tuple[str, list[FieldNode]]]
) -> list[list[tuple[str, list[FieldNode]]]]:
    """Mutation root fields run serially; neighbours owned by one subgraph share a request."""
    groups: list[list[tuple[str, list[FieldNode]]]] = []
    last_graph = None
    for key, nodes in fields:
        graph = supergraph.types[root_type].fields[nodes[0].name.value].owners[0]
        if groups and graph == last_graph:
            groups[-1].append((key, nodes))
        else:
            groups.append([(key, nodes)])
        last_graph = graph
    return groups


class _PhasePlanner:
    """Plans one phase: root fetches plus the entity fetches hanging off them."""

    def __init__(self, supergraph: Supergraph, collector: FieldCollector, root_type: str) -> None:
        self._supergraph = supergraph
        self._collector = collector
        self._root_type = root_type
        self._fetches: list[Fetch] = []
        self._roots: dict[str, Fetch] = {}
        self._entities: dict[tuple[str, tuple[str, ...], str], Fetch] = {}

    def plan_root(self, fields: list[tuple[str, list[FieldNode]]]) -> list[Fetch]:
        root = self._supergraph.types[self._root_type]
        for key, nodes in fields:
            info = root.fields[nodes[0].name.value]
            graph = next((g for g in info.owners if g in self._roots), None) or info.owners[0]
            fetch = self._roots.get(graph)
            if fetch is None:
                fetch = Fetch(graph, Selection(), self._root_type)
                self._roots[graph] = fetch
                self._fetches.append(fetch)
            self._add_field(
                _Location(fetch, fetch.selection, (), self._root_type), key, nodes, info
            )
        return self._fetches

    def _plan_selection(self, location: _Location, selection_sets: list[SelectionSetNode]) -> None:
        location.selection.typename = True
        info = self._supergraph.types[location.type_name]
        if info.kind == "object":
            self._plan_fields(location, self._collector.collect(info.name, selection_sets))
            return
        for possible in info.possible_types:
            if location.fetch.graph not in self._supergraph.types[possible].graphs:
                continue
            fields = self._collector.collect(possible, selection_sets)
            if not any(nodes[0].name.value != "__typename" for nodes in fields.values()):
                continue
            nested = _Location(
                location.fetch,
                location.selection.fragment(possible),
                location.path,
                possible,
                location.provided,
            )
            nested.selection.typename = True
            self._plan_fields(nested, fields)

    def _plan_fields(self, location: _Location, fields: dict[str, list[FieldNode]]) -> None:
        type_info = self._supergraph.types[location.type_name]
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                continue
            info = type_info.fields.get(name)
            if info is None:
                raise PlanningError(f"unknown field {location.type_name}.{name}")
            if self._resolvable(location, info):
                self._add_field(location, key, nodes, info)
                continue
            graph = self._choose_owner(location, info)
            target = self._entity_location(location, graph, info.requires.get(graph), 0)
            self._add_field(target, key, nodes, info)

    def _resolvable(self, location: _Location, info: FieldInfo) -> bool:
        if location.fetch.graph in info.owners:
            return True
        return location.provided is not None and info.name in location.provided

    def _choose_owner(self, location: _Location, info: FieldInfo, exclude: str = "") -> str:
        owners = [g for g in info.owners if g != exclude]
        if not owners:
            raise PlanningError(f"no subgraph resolves {location.type_name}.{info.name}")
        for graph in owners:
            if (graph, location.path, location.type_name) in self._entities:
                return graph
        return owners[0]

    def _add_field(
        self, location: _Location, key: str, nodes: list[FieldNode], info: FieldInfo
    ) -> None:
        node = nodes[0]
        arguments = ""
        if node.arguments:
            arguments = "(" + ", ".join(print_ast(a) for a in node.arguments) + ")"
            location.fetch.variables.update(_variables_in(node))
        composite = self._supergraph.is_composite(info.type_name)
        selected = location.selection.add(key, info.name, arguments, composite)
        if not composite:
            return
        assert selected.selection is not None
        provided = _merge_provided(
            location.provided.get(info.name) if location.provided else None,
            info.provides.get(location.fetch.graph),
        )
        child = _Location(
            location.fetch, selected.selection, (*location.path, key), info.type_name, provided
        )
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        self._plan_selection(child, sets)

    def _entity_location(
        self, location: _Location, graph: str, requires: str | None, hops: int
    ) -> _Location:
        """The location inside the entity fetch of `graph` for the objects at this path."""
        if hops > _MAX_KEY_HOPS:
            raise PlanningError(f"no route to {location.type_name} in subgraph {graph!r}")
        cache_key = (graph, location.path, location.type_name)
        fetch = self._entities.get(cache_key)
        if fetch is None:
            fetch = Fetch(graph, Selection(), location.type_name, location.path, is_entity=True)
            fetch.selection.typename = True
            self._entities[cache_key] = fetch
            self._fetches.append(fetch)
            key = self._choose_key(location, graph)
            self._ensure(location, key, fetch, hops)
        if requires:
            self._ensure(location, requires, fetch, hops)
        return _Location(fetch, fetch.selection, location.path, location.type_name)

    def _choose_key(self, location: _Location, graph: str) -> str:
        info = self._supergraph.types[location.type_name]
        keys = info.keys.get(graph)
        if not keys:
            raise PlanningError(
                f"subgraph {graph!r} has no resolvable @key for {location.type_name}"
            )
        for key in keys:
            names = [n.name.value for n in field_nodes(parse_field_set(key))]
            if all(self._resolvable(location, info.fields[n]) for n in names):
                return key
        return keys[0]

    def _ensure(self, location: _Location, fields: str, dependent: Fetch, hops: int) -> None:
        """Make the fields of a field set available at the location before `dependent` runs."""
        type_info = self._supergraph.types[location.type_name]
        for node in field_nodes(parse_field_set(fields)):
            name = node.name.value
            if name == "__typename":
                continue
            data_key = INTERNAL_PREFIX + name
            dependent.representation[name] = _merge_representation(
                dependent.representation.get(name), _representation(data_key, node)
            )
            info = type_info.fields[name]
            if self._resolvable(location, info):
                source = location
            else:
                owner = self._choose_owner(location, info, exclude=dependent.graph)
                source = self._entity_location(location, owner, info.requires.get(owner), hops + 1)
            sub = node.selection_set.selections if node.selection_set else ()
            composite = self._supergraph.is_composite(info.type_name)
            selected = source.selection.add(data_key, name, "", composite)
            if selected.selection is not None and sub:
                _add_plain(selected.selection, node.selection_set)
            if source.fetch is not dependent:
                dependent.depends_on.add(source.fetch)


def _add_plain(selection: Selection, selection_set: SelectionSetNode | None) -> None:
    """Copy a field set's nested selection without aliases (it only feeds representations)."""
    if selection_set is None:
        return
    selection.typename = True
    for node in field_nodes(selection_set):
        composite = node.selection_set is not None
        selected = selection.add(node.name.value, node.name.value, "", composite)
        if selected.selection is not None:
            _add_plain(selected.selection, node.selection_set)


def _representation(data_key: str, node: FieldNode) -> RepresentationField:
    children: tuple[RepresentationField, ...] = ()
    if node.selection_set is not None:
        children = tuple(_representation(n.name.value, n) for n in field_nodes(node.selection_set))
    return RepresentationField(data_key, node.name.value, children)


def _merge_representation(
    existing: RepresentationField | None, new: RepresentationField
) -> RepresentationField:
    if existing is None:
        return new
    children = {c.name: c for c in existing.children}
    for child in new.children:
        children[child.name] = _merge_representation(children.get(child.name), child)
    return RepresentationField(existing.data_key, existing.name, tuple(children.values()))


def _merge_provided(inherited: Provided | None, provides: str | None) -> Provided | None:
    if provides is None:
        return inherited
    merged: Provided = dict(inherited or {})
    merged.update(_provided(parse_field_set(provides)))
    return merged


def _provided(selection_set: SelectionSetNode) -> Provided:
    return {
        n.name.value: _provided(n.selection_set) if n.selection_set else None
        for n in field_nodes(selection_set)
    }


def _variables_in(node: FieldNode) -> set[str]:
    found: set[str] = set()

    class _Variables(Visitor):
        def enter_variable(self, variable: VariableNode, *_: object) -> None:
            found.add(variable.name.value)

    for argument in node.arguments or ():
        visit(argument, _Variables())
    return found


def _phase(
    fetches: list[Fetch], operation_type: str, variable_definitions: dict[str, str]
) -> Phase:
    steps: dict[Fetch, int] = {}

    def step_of(fetch: Fetch) -> int:
        if fetch not in steps:
            steps[fetch] = 1 + max((step_of(d) for d in fetch.depends_on), default=-1)
        return steps[fetch]

    grouped: dict[int, dict[str, list[Fetch]]] = {}
    for fetch in fetches:
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
        operation = f"{operation_type}{header} {{ {fetch.selection.render()} }}"
        return Request(graph, fetches, operation, tuple(used))
    parts = []
    for index, fetch in enumerate(fetches):
        alias = f"{REPRESENTATIONS_PREFIX}{index}"
        definitions.insert(index, f"${alias}: [_Any!]!")
        parts.append(
            f"{alias}: _entities(representations: ${alias}) "
            f"{{ ... on {fetch.type_name} {{ {fetch.selection.render()} }} }}"
        )
    operation = f"query({', '.join(definitions)}) {{ {' '.join(parts)} }}"
    return Request(graph, fetches, operation, tuple(used))

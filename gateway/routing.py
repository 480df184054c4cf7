"""Where each field of an operation is resolved: locations in subgraph fetches, the routes
between subgraphs (entity keys, interface objects, parent objects, shared roots), and the
entity fetches that carry keys and `@requires` inputs.

A *location* is a place in one fetch's subgraph query where the fields of some objects go: the
fetch, the selection inside it, the objects' response path, their type as that subgraph sees
it, and how the objects were reached (the parent location and the field), so a value type can
be fetched again through its parent. A field that the location's subgraph cannot resolve is
moved to another subgraph by the cheapest route; the fields a route needs (keys, `@requires`
inputs) are planned like client fields, under internal aliases, at the location they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from graphql import (
    FieldNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    print_ast,
    visit,
)

from gateway.collect import FieldCollector
from gateway.errors import PlanningError
from gateway.field_set import parse_field_set
from gateway.plan import (
    Fetch,
    RepresentationField,
    Selection,
    internal_key,
    merge_representation,
)
from gateway.representation import representation_of
from gateway.supergraph import FieldInfo, Supergraph, TypeInfo, named_type

Provided = tuple[SelectionSetNode, ...]
Fields = Mapping[str, list[FieldNode]]
# graph, response path, representation type, the object types taken
_EntityKey = tuple[str, tuple[str, ...], str, frozenset[str] | None]
_MAX_DEPTH = 32


@dataclass(frozen=True)
class Via:
    """The field that leads from a parent object to the objects of a location."""

    key: str
    name: str
    arguments: str
    info: FieldInfo
    variables: frozenset[str]


@dataclass(frozen=True)
class Location:
    fetch: Fetch
    selection: Selection
    path: tuple[str, ...]
    type_name: str
    parent: Location | None = None
    via: Via | None = None
    provided: Provided = ()
    # Objects of several types may share this path (a fragment of an abstract type on the
    # way here): `__typename` is asked for and fetches take only their type's objects.
    mixed: bool = False


class PhasePlanner:
    """Plans one phase: root fetches plus the entity fetches hanging off them."""

    def __init__(
        self,
        supergraph: Supergraph,
        collector: FieldCollector,
        root_type: str,
        labels: frozenset[str],
        mutation: bool,
    ) -> None:
        self._supergraph = supergraph
        self._types = supergraph.types
        self._collector = collector
        self._root_type = root_type
        self._labels = labels
        self._mutation = mutation
        self.fetches: list[Fetch] = []
        self._roots: dict[str, Fetch] = {}
        self._entities: dict[_EntityKey, list[Fetch]] = {}

    # ----------------------------------------------------------------------------- roots
    def plan_root(self, fields: list[tuple[str, list[FieldNode]]]) -> list[Fetch]:
        root = self._types[self._root_type]
        for key, nodes in fields:
            info = _field(root, nodes[0].name.value)
            owners = info.owners_for(self._labels)
            if not owners:
                raise PlanningError(f"no subgraph resolves {self._root_type}.{info.name}")
            if self._mutation:
                graph = owners[0]  # mutation fields were grouped by their first owner
            else:
                graph = min(owners, key=lambda g: self._root_cost(g, info, nodes))
            self._add_field(self._root_location(graph), key, nodes, info, internal=False)
        return self.fetches

    def _root_cost(self, graph: str, info: FieldInfo, nodes: list[FieldNode]) -> tuple[int, int]:
        sets = _sets(nodes)
        provided = _parse(info.provides.get(graph))
        missing = self._uncovered(graph, named_type(info.type_in(graph)), sets, provided, 0)
        return missing, 0 if graph in self._roots else 1

    def _root_location(self, graph: str) -> Location:
        fetch = self._roots.get(graph)
        if fetch is None:
            if self._mutation and self._roots:
                raise PlanningError(
                    f"a mutation's result cannot be completed from subgraph {graph!r} "
                    "without running the mutation twice"
                )
            fetch = Fetch(graph, Selection(), self._root_type)
            self._roots[graph] = fetch
            self.fetches.append(fetch)
        return Location(fetch, fetch.selection, (), self._root_type)

    # ------------------------------------------------------------------------ selections
    def _add_field(
        self, location: Location, key: str, nodes: list[FieldNode], info: FieldInfo, internal: bool
    ) -> set[Fetch]:
        graph = location.fetch.graph
        node = nodes[0]
        arguments = ""
        variables: frozenset[str] = frozenset()
        if node.arguments:
            arguments = "(" + ", ".join(print_ast(a) for a in node.arguments) + ")"
            variables = _variables_in(node)
            location.fetch.variables.update(variables)
        type_text = info.type_in(graph)
        child_type = named_type(type_text)
        composite = self._supergraph.is_composite(child_type)
        selected = location.selection.add(key, info.name, arguments, type_text, composite)
        if not composite:
            return {location.fetch}
        assert selected.selection is not None
        provided = self._child_provided(location, info, graph)
        child = Location(
            location.fetch,
            selected.selection,
            (*location.path, key),
            child_type,
            location,
            Via(key, info.name, arguments, info, variables),
            provided,
            location.mixed,
        )
        if len(child.path) > _MAX_DEPTH:
            raise PlanningError("the operation is nested too deeply to plan")
        return {location.fetch} | self._plan_selection(child, _sets(nodes), internal)

    def _plan_selection(
        self, location: Location, sets: list[SelectionSetNode], internal: bool
    ) -> set[Fetch]:
        info = self._types[location.type_name]
        graph = location.fetch.graph
        location.selection.typename = (
            info.kind != "object" or location.mixed
        ) and graph not in info.interface_objects
        if info.kind == "object":
            return self._plan_fields(location, self._collector.collect(info.name, sets), internal)
        if graph in info.interface_objects:
            return self._plan_interface_object(location, sets, internal)
        used: set[Fetch] = set()
        for possible in info.possible_in(graph):
            fields = self._collector.collect(possible, sets)
            if all(nodes[0].name.value == "__typename" for nodes in fields.values()):
                continue
            nested = replace(
                location,
                selection=location.selection.fragment(possible),
                type_name=possible,
                mixed=True,
            )
            used |= self._plan_fields(nested, fields, internal)
        return used

    def _plan_fields(self, location: Location, fields: Fields, internal: bool) -> set[Fetch]:
        type_info = self._types[location.type_name]
        used: set[Fetch] = {location.fetch}
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                continue
            info = _field(type_info, name)
            target, resolved = self._locate(location, info, nodes)
            if internal and _already_selected(target.selection, name, nodes[0]):
                # The client asks for this very field under its own name: representations
                # read it from there (the executor falls back to the plain name).
                used.add(target.fetch)
                continue
            out_key = internal_key(name, _arguments(nodes[0])) if internal else key
            used |= self._add_field(target, out_key, nodes, resolved, internal)
        return used

    def _plan_interface_object(
        self, location: Location, sets: list[SelectionSetNode], internal: bool
    ) -> set[Fetch]:
        """An interface held as an object type: the subgraph cannot tell the concrete type.
        Fields asked of every implementation are resolved as they are; `__typename` and fields
        asked of specific types need the concrete type, from a subgraph with @key on the
        interface (an `_entities` call that answers the real `__typename`)."""
        interface = self._types[location.type_name]
        common = self._collector.collect(interface.name, sets)
        used = self._plan_fields(location, common, internal)
        needs_type = "__typename" in {nodes[0].name.value for nodes in common.values()}
        extras: dict[str, dict[str, list[FieldNode]]] = {}
        for possible in interface.possible_types:
            fields = self._collector.collect(possible, sets)
            extra = {k: v for k, v in fields.items() if k not in common or v != common[k]}
            if extra:
                extras[possible] = extra
        if not (needs_type or extras):
            return used
        graph = next((g for g in interface.keys if g not in interface.interface_objects), None)
        if graph is None:
            raise PlanningError(
                f"no subgraph can tell the concrete type of {interface.name}: "
                "none has @key on the interface"
            )
        resolved = self._entity_location(location, graph, interface.name, None)
        resolved.selection.typename = True
        used |= {resolved.fetch}
        for possible, extra in extras.items():
            if possible not in interface.possible_in(graph):
                continue
            nested = replace(
                resolved,
                selection=resolved.selection.fragment(possible),
                type_name=possible,
                mixed=True,
            )
            used |= self._plan_fields(nested, extra, internal)
        return used

    # ----------------------------------------------------------------------------- routes
    def _locate(
        self, location: Location, info: FieldInfo, nodes: list[FieldNode]
    ) -> tuple[Location, FieldInfo]:
        """A location where the field can be added: here, or in another subgraph's fetch."""
        graph = location.fetch.graph
        if self._resolvable(location, info):
            return location, info
        owners = [g for g in info.owners_for(self._labels) if g != graph or g in info.requires]
        if owners:
            best = min(owners, key=lambda g: self._route_cost(location, g, info, nodes))
            target = self._route(location, best, info.requires.get(best))
            if target is not None:
                return target, info
            for other in owners:
                target = self._route(location, other, info.requires.get(other))
                if target is not None:
                    return target, info
        # A field an @interfaceObject adds to every implementation of an interface.
        type_info = self._types[location.type_name]
        for interface_name in type_info.interfaces:
            interface = self._types.get(interface_name)
            shared = interface.fields.get(info.name) if interface else None
            if interface is None or shared is None:
                continue
            for owner in shared.owners_for(self._labels):
                if owner in interface.keys and (owner != graph or owner in shared.requires):
                    matches = frozenset({location.type_name}) if location.mixed else None
                    target = self._entity_location(
                        location, owner, interface.name, matches, shared.requires.get(owner)
                    )
                    return target, shared
        raise PlanningError(
            f"no subgraph can resolve {location.type_name}.{info.name} "
            f"for objects from subgraph {graph!r}"
        )

    def _resolvable(self, location: Location, info: FieldInfo) -> bool:
        graph = location.fetch.graph
        if graph in info.owners_for(self._labels) and graph not in info.requires:
            return True
        if self._provided(location.provided, location.type_name, info.name) is not None:
            return True
        # Key fields are known wherever the key is declared, @external or not.
        return info.name in self._key_names(location.type_name, graph)

    def _key_names(self, type_name: str, graph: str) -> set[str]:
        info = self._types.get(type_name)
        names: set[str] = set()
        for key in info.all_keys.get(graph, ()) if info else ():
            names.update(
                s.name.value for s in parse_field_set(key).selections if isinstance(s, FieldNode)
            )
        return names

    def _route_cost(
        self, location: Location, graph: str, info: FieldInfo, nodes: list[FieldNode]
    ) -> tuple[int, int]:
        type_info = self._types[location.type_name]
        if graph in type_info.keys:
            existing = any(k[0] == graph and k[1] == location.path for k in self._entities)
            hops = 0 if existing else 1 + (0 if self._key_at_hand(location, graph) else 1)
        elif location.parent is None:
            hops = 0 if graph in self._roots else 1
        else:
            hops = 2
        provided = _parse(info.provides.get(graph))
        missing = self._uncovered(graph, named_type(info.type_in(graph)), _sets(nodes), provided, 0)
        return hops, missing

    def _key_at_hand(self, location: Location, graph: str) -> bool:
        type_info = self._types[location.type_name]
        for key in type_info.keys.get(graph, ()):
            names = [
                s.name.value for s in parse_field_set(key).selections if isinstance(s, FieldNode)
            ]
            if all(
                n in type_info.fields and self._resolvable(location, type_info.fields[n])
                for n in names
            ):
                return True
        return False

    def _route(self, location: Location, graph: str, requires: str | None) -> Location | None:
        """A location in a fetch of `graph` for the objects at `location`."""
        type_info = self._types[location.type_name]
        if type_info.keys.get(graph):
            matches = None
            if type_info.kind == "object" and location.mixed:
                matches = frozenset({type_info.name})
            return self._entity_location(location, graph, type_info.name, matches, requires)
        if requires:
            return None
        if location.parent is None:
            if location.type_name == self._root_type:
                return self._root_location(graph)
            return None
        via = location.via
        assert via is not None
        if graph not in via.info.owners_for(self._labels) or graph in via.info.requires:
            return None
        parent = location.parent
        if parent.fetch.graph != graph:
            routed = self._route(parent, graph, None)
            if routed is None:
                return None
            parent = routed
        return self._descend(parent, via, location.type_name)

    def _descend(self, parent: Location, via: Via, type_name: str) -> Location:
        """Select the field `via` again under `parent` (in another fetch) and go below it."""
        graph = parent.fetch.graph
        type_text = via.info.type_in(graph)
        child_type = named_type(type_text)
        parent.fetch.variables.update(via.variables)
        selected = parent.selection.add(via.key, via.name, via.arguments, type_text, True)
        assert selected.selection is not None
        child_info = self._types[child_type]
        mixed = parent.mixed or child_info.kind != "object"
        selected.selection.typename = mixed and graph not in child_info.interface_objects
        selection = selected.selection
        if child_type != type_name and child_info.kind != "object":
            selection = selection.fragment(type_name)
        provided = self._child_provided(parent, via.info, graph)
        return Location(
            parent.fetch,
            selection,
            (*parent.path, via.key),
            type_name,
            parent,
            via,
            provided,
            mixed,
        )

    def _entity_location(
        self,
        location: Location,
        graph: str,
        type_name: str,
        matches: frozenset[str] | None,
        requires: str | None = None,
    ) -> Location:
        """The location inside an `_entities` fetch of `graph` for the objects at `location`;
        the key (and @requires inputs) are planned at `location` first."""
        type_info = self._types[type_name]
        keys = type_info.keys.get(graph)
        if not keys:
            raise PlanningError(f"subgraph {graph!r} has no resolvable @key for {type_name}")
        key = next((k for k in keys if self._key_fields_at_hand(location, k)), keys[0])
        used = self._ensure(location, key)
        representation = representation_of(self._supergraph, location.type_name, key, key=True)
        if requires:
            used |= self._ensure(location, requires)
            representation.update(
                representation_of(self._supergraph, location.type_name, requires, key=False)
            )
        fetch = self._entity_fetch(graph, location.path, type_name, matches, representation, used)
        top = Location(
            fetch,
            fetch.selection,
            location.path,
            type_name,
            location.parent,
            location.via,
            mixed=location.mixed,
        )
        if type_info.kind != "object" and graph not in type_info.interface_objects:
            fetch.selection.typename = True  # the concrete type, from an entity interface
        return top

    def _key_fields_at_hand(self, location: Location, key: str) -> bool:
        type_info = self._types[location.type_name]
        for selection in parse_field_set(key).selections:
            if not isinstance(selection, FieldNode):
                return False
            info = type_info.fields.get(selection.name.value)
            if info is None or not self._resolvable(location, info):
                return False
        return True

    def _entity_fetch(
        self,
        graph: str,
        path: tuple[str, ...],
        type_name: str,
        matches: frozenset[str] | None,
        representation: dict[str, RepresentationField],
        used: set[Fetch],
    ) -> Fetch:
        """Reuse an entity fetch for the same objects unless that would make a cycle or mix
        two values of one representation field (`price` in EUR and in USD)."""
        candidates = self._entities.setdefault((graph, path, type_name, matches), [])
        for fetch in candidates:
            if fetch in used or any(u.depends_transitively_on(fetch) for u in used):
                continue
            if any(
                slot in fetch.representation and fetch.representation[slot].data_key != rep.data_key
                for slot, rep in representation.items()
            ):
                continue
            for slot, rep in representation.items():
                fetch.representation[slot] = merge_representation(
                    fetch.representation.get(slot), rep
                )
            fetch.depends_on.update(used)
            return fetch
        fetch = Fetch(
            graph,
            Selection(),
            type_name,
            path,
            is_entity=True,
            matches=matches,
            representation=dict(representation),
            depends_on=set(used),
        )
        candidates.append(fetch)
        self.fetches.append(fetch)
        return fetch

    def _ensure(self, location: Location, fields: str) -> set[Fetch]:
        """Plan a field set's fields at the location under internal aliases; the fetches that
        produce them."""
        return self._plan_selection_internal(location, parse_field_set(fields))

    def _plan_selection_internal(
        self, location: Location, selection_set: SelectionSetNode
    ) -> set[Fetch]:
        type_info = self._types[location.type_name]
        if type_info.kind == "object" or location.fetch.graph in type_info.interface_objects:
            fields = self._collector.collect(location.type_name, [selection_set])
            return self._plan_fields(location, fields, internal=True)
        return self._plan_selection(location, [selection_set], internal=True)

    # ---------------------------------------------------------------------- @provides
    def _child_provided(self, location: Location, info: FieldInfo, graph: str) -> Provided:
        inherited = self._provided(location.provided, location.type_name, info.name) or ()
        own = _parse(info.provides.get(graph))
        return inherited + own

    def _provided(self, provided: Provided, type_name: str, name: str) -> Provided | None:
        """The provided sub-selection of a field when `@provides` covers it here, else None."""
        if not provided:
            return None
        fields = self._collector.collect(type_name, provided)
        nodes = fields.get(name)
        if nodes is None:
            return None
        return tuple(_sets(nodes))

    def _uncovered(
        self,
        graph: str,
        type_name: str,
        sets: list[SelectionSetNode],
        provided: Provided,
        depth: int,
    ) -> int:
        """How many requested fields below a field `graph` cannot resolve itself."""
        info = self._types.get(type_name)
        if info is None or info.kind not in ("object", "interface", "union") or depth > 8:
            return 0
        if info.kind == "object" or graph in info.interface_objects:
            candidates: tuple[str, ...] = (type_name,)
        else:
            candidates = info.possible_in(graph)
        missing = 0
        for candidate in candidates:
            owner = self._types[candidate]
            for nodes in self._collector.collect(candidate, sets).values():
                name = nodes[0].name.value
                field_info = owner.fields.get(name)
                if name == "__typename" or field_info is None:
                    continue
                sub_provided = self._provided(provided, candidate, name)
                own = (
                    graph in field_info.owners_for(self._labels)
                    and graph not in field_info.requires
                )
                if not own and sub_provided is None:
                    missing += 1
                    continue
                child = named_type(field_info.type_in(graph))
                missing += self._uncovered(
                    graph, child, _sets(nodes), sub_provided or (), depth + 1
                )
        return missing


def _field(type_info: TypeInfo, name: str) -> FieldInfo:
    info = type_info.fields.get(name)
    if info is None:
        raise PlanningError(f"unknown field {type_info.name}.{name}")
    return info


def _already_selected(selection: Selection, name: str, node: FieldNode) -> bool:
    """A leaf field without arguments selected under its own name, unaliased."""
    if node.arguments or node.selection_set is not None:
        return False
    selected = selection.fields.get(name)
    return selected is not None and selected.name == name and not selected.arguments


def _sets(nodes: list[FieldNode]) -> list[SelectionSetNode]:
    return [n.selection_set for n in nodes if n.selection_set is not None]


def _parse(field_set: str | None) -> Provided:
    return (parse_field_set(field_set),) if field_set else ()


def _arguments(node: FieldNode) -> str:
    if not node.arguments:
        return ""
    return "(" + ", ".join(print_ast(a) for a in node.arguments) + ")"


def _variables_in(node: FieldNode) -> frozenset[str]:
    found: set[str] = set()

    class _Variables(Visitor):
        def enter_variable(self, variable: VariableNode, *_: object) -> None:
            found.add(variable.name.value)

    for argument in node.arguments or ():
        visit(argument, _Variables())
    return frozenset(found)

"""Any valid join/v0.1-v0.5 supergraph read into a routing model plus the client-facing API schema.

The routing model says, per type and per subgraph: which subgraphs know the type, their entity
keys, which of them hold an interface as an `@interfaceObject`, which concrete types each one
considers members of an abstract type (`join__implements`, `join__unionMember`), and per field:
who resolves it (with progressive `@override` labels), `@requires`/`@provides`, and the field's
type where a subgraph's differs from the supergraph's (`join__field(type:)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueNode,
    FieldDefinitionNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    StringValueNode,
    TypeDefinitionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    ValueNode,
    parse,
    print_ast,
)

from gateway.api_schema import build_api_schema, is_inaccessible
from gateway.errors import SupergraphError
from gateway.field_set import parse_field_set
from gateway.support import check_supported


@dataclass(frozen=True)
class GraphInfo:
    """A subgraph as the supergraph names it: its name, join__Graph value and routing URL."""

    name: str
    enum_value: str
    url: str


@dataclass(frozen=True)
class LabelledOwner:
    """A graph that resolves a field only while a progressive-override label is (in)active."""

    graph: str
    label: str
    when_active: bool


@dataclass
class FieldInfo:
    """Where a field can be resolved and what each subgraph needs to resolve it."""

    name: str
    type_name: str
    owners: tuple[str, ...]
    requires: dict[str, str] = field(default_factory=dict)
    provides: dict[str, str] = field(default_factory=dict)
    # The field's type in a subgraph, printed, where it differs from the supergraph's.
    graph_types: dict[str, str] = field(default_factory=dict)
    type_text: str = ""
    external: frozenset[str] = frozenset()
    labelled: tuple[LabelledOwner, ...] = ()
    # Owners come from @join__field directives (not from the type's subgraphs).
    explicit: bool = False

    def owners_for(self, active_labels: frozenset[str]) -> tuple[str, ...]:
        if not self.labelled:
            return self.owners
        extra = tuple(o.graph for o in self.labelled if (o.label in active_labels) == o.when_active)
        return self.owners + tuple(g for g in extra if g not in self.owners)

    def type_in(self, graph: str) -> str:
        return self.graph_types.get(graph, self.type_text)


@dataclass
class TypeInfo:
    """A composite type: the subgraphs that know it, their entity keys and its fields."""

    name: str
    kind: str
    graphs: tuple[str, ...]
    keys: dict[str, list[str]] = field(default_factory=dict)
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    possible_types: tuple[str, ...] = ()
    # Per subgraph, the concrete types it may return for this abstract type.
    graph_possible: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Subgraphs that hold this interface as an object type (@interfaceObject).
    interface_objects: frozenset[str] = frozenset()
    # Interfaces this object type implements in the supergraph.
    interfaces: tuple[str, ...] = ()
    # Every @key per subgraph, resolvable or not: the fields a subgraph can hand to others.
    all_keys: dict[str, list[str]] = field(default_factory=dict)

    def possible_in(self, graph: str) -> tuple[str, ...]:
        if self.kind == "object":
            return (self.name,)
        return self.graph_possible.get(graph, ())


@dataclass
class Supergraph:
    """The routing model of a supergraph and the API schema clients see."""

    sdl: str
    graphs: dict[str, GraphInfo]
    types: dict[str, TypeInfo]
    root_types: dict[str, str]
    api_schema: GraphQLSchema
    labels: frozenset[str] = frozenset()

    def is_composite(self, type_name: str) -> bool:
        info = self.types.get(type_name)
        return info is not None and info.kind in ("object", "interface", "union")


def load_supergraph_file(path: Path | str) -> Supergraph:
    return load_supergraph(Path(path).read_text())


def load_supergraph(sdl: str) -> Supergraph:
    """Parse a join/v0.x supergraph; raise SupergraphError when it is not one, or when it uses
    a feature the gateway cannot execute (naming the type, field and directive)."""
    try:
        document = parse(sdl)
    except GraphQLError as error:
        raise SupergraphError(f"supergraph does not parse: {error.message}") from error
    _require_join_link(document)
    check_supported(document)
    graphs = _read_graphs(document)
    by_enum = {g.enum_value: g.name for g in graphs.values()}
    root_types = _root_types(document)
    api_schema = build_api_schema(document)
    reader = _Reader(document, by_enum)
    types = reader.types()
    labels = frozenset(
        o.label for t in types.values() for f in t.fields.values() for o in f.labelled
    )
    return Supergraph(sdl, graphs, types, root_types, api_schema, labels)


def _require_join_link(document: DocumentNode) -> None:
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode):
            for directive in definition.directives or ():
                url = _argument(directive, "url")
                if (
                    directive.name.value in ("link", "core")
                    and isinstance(url, StringValueNode)
                    and url.value.startswith("https://specs.apollo.dev/join/v0.")
                ):
                    return
            feature = [d for d in definition.directives or () if _string(d, "feature") is not None]
            if any(
                str(_string(d, "feature")).startswith("https://specs.apollo.dev/join/")
                for d in feature
            ):
                return
    raise SupergraphError("supergraph has no @link to the join spec")


def _argument(directive: DirectiveNode, name: str) -> ValueNode | None:
    for argument in directive.arguments or ():
        if argument.name.value == name:
            return argument.value
    return None


def _string(directive: DirectiveNode, name: str) -> str | None:
    value = _argument(directive, name)
    return value.value if isinstance(value, StringValueNode) else None


def _flag(directive: DirectiveNode, name: str) -> bool:
    value = _argument(directive, name)
    return isinstance(value, BooleanValueNode) and value.value


def _read_graphs(document: DocumentNode) -> dict[str, GraphInfo]:
    for definition in document.definitions:
        if (
            isinstance(definition, EnumTypeDefinitionNode)
            and definition.name.value == "join__Graph"
        ):
            graphs: dict[str, GraphInfo] = {}
            for value in definition.values or ():
                for directive in value.directives or ():
                    if directive.name.value == "join__graph":
                        name = _string(directive, "name")
                        url = _string(directive, "url")
                        if name is None or url is None:
                            raise SupergraphError(f"@join__graph on {value.name.value} is partial")
                        graphs[name] = GraphInfo(name, value.name.value, url)
            return graphs
    raise SupergraphError("supergraph has no join__Graph enum")


def _root_types(document: DocumentNode) -> dict[str, str]:
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode):
            return {o.operation.value: o.type.name.value for o in definition.operation_types}
    return {"query": "Query"}


def _named(type_node: TypeNode) -> str:
    while isinstance(type_node, (NonNullTypeNode, ListTypeNode)):
        type_node = type_node.type
    assert isinstance(type_node, NamedTypeNode)
    return type_node.name.value


def _named_text(type_text: str) -> str:
    return type_text.replace("[", "").replace("]", "").replace("!", "").strip()


class _Reader:
    """Reads the join__ directives of every composite type into TypeInfo."""

    def __init__(self, document: DocumentNode, by_enum: dict[str, str]) -> None:
        self._document = document
        self._by_enum = by_enum
        self._uses_implements = _uses(document, "join__implements")
        self._uses_members = _uses(document, "join__unionMember")

    def _graph(self, directive: DirectiveNode, where: str) -> str | None:
        value = _argument(directive, "graph")
        if value is None:
            return None
        if not isinstance(value, EnumValueNode) or value.value not in self._by_enum:
            raise SupergraphError(f"unknown graph in @{directive.name.value} on {where}")
        return self._by_enum[value.value]

    def types(self) -> dict[str, TypeInfo]:
        types: dict[str, TypeInfo] = {}
        implements: dict[str, dict[str, set[str]]] = {}  # type -> graph -> interfaces
        members: dict[str, dict[str, set[str]]] = {}  # union -> graph -> members
        declared: dict[str, tuple[str, ...]] = {}
        for definition in self._document.definitions:
            if isinstance(definition, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
                kind = "object" if isinstance(definition, ObjectTypeDefinitionNode) else "interface"
                info = self._type(definition, kind)
                for field_node in definition.fields or ():
                    info.fields[field_node.name.value] = self._field(definition, field_node, info)
                declared[info.name] = tuple(i.name.value for i in definition.interfaces or ())
                info.interfaces = declared[info.name]
                implements[info.name] = self._pairs(definition, "join__implements", "interface")
                types[info.name] = info
            elif isinstance(definition, UnionTypeDefinitionNode):
                info = self._type(definition, "union")
                info.possible_types = tuple(t.name.value for t in definition.types or ())
                members[info.name] = self._pairs(definition, "join__unionMember", "member")
                types[info.name] = info
        for info in types.values():
            _drop_required_owners(info)
            if info.kind == "interface":
                info.possible_types = tuple(
                    t.name
                    for t in types.values()
                    if t.kind == "object" and info.name in declared[t.name]
                )
                info.graph_possible = {
                    graph: tuple(
                        t
                        for t in info.possible_types
                        if self._implements_in(t, info.name, graph, implements, types)
                    )
                    for graph in info.graphs
                    if graph not in info.interface_objects
                }
            elif info.kind == "union":
                info.graph_possible = {
                    graph: tuple(
                        m
                        for m in info.possible_types
                        if (
                            m in members[info.name].get(graph, set())
                            if self._uses_members
                            else m in types and graph in types[m].graphs
                        )
                    )
                    for graph in info.graphs
                }
        return types

    def _implements_in(
        self,
        type_name: str,
        interface: str,
        graph: str,
        implements: dict[str, dict[str, set[str]]],
        types: dict[str, TypeInfo],
    ) -> bool:
        if graph not in types[type_name].graphs:
            return False
        if not self._uses_implements:
            return True
        return interface in implements[type_name].get(graph, set())

    def _pairs(
        self, definition: TypeDefinitionNode, directive_name: str, key: str
    ) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for directive in definition.directives or ():
            if directive.name.value != directive_name:
                continue
            graph = self._graph(directive, definition.name.value)
            value = _string(directive, key)
            if graph is not None and value is not None:
                found.setdefault(graph, set()).add(value)
        return found

    def _type(self, definition: TypeDefinitionNode, kind: str) -> TypeInfo:
        graphs: list[str] = []
        keys: dict[str, list[str]] = {}
        all_keys: dict[str, list[str]] = {}
        interface_objects: set[str] = set()
        owner: str | None = None
        for directive in definition.directives or ():
            if directive.name.value == "join__owner":
                owner = self._graph(directive, definition.name.value)
                continue
            if directive.name.value != "join__type":
                continue
            graph = self._graph(directive, definition.name.value)
            if graph is None:
                raise SupergraphError(f"@join__type without graph on {definition.name.value}")
            if graph not in graphs:
                graphs.append(graph)
            if _flag(directive, "isInterfaceObject"):
                interface_objects.add(graph)
            key = _string(directive, "key")
            if key is None:
                continue
            all_keys.setdefault(graph, []).append(key)
            resolvable = _argument(directive, "resolvable")
            if not (isinstance(resolvable, BooleanValueNode) and not resolvable.value):
                keys.setdefault(graph, []).append(key)
        if not graphs:
            graphs = list(self._by_enum.values())  # a type without @join__type lives everywhere
        info = TypeInfo(definition.name.value, kind, tuple(graphs), keys, all_keys=all_keys)
        info.interface_objects = frozenset(interface_objects)
        self._owner = owner
        return info

    def _field(
        self,
        parent: ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode,
        node: FieldDefinitionNode,
        type_info: TypeInfo,
    ) -> FieldInfo:
        joins = [d for d in node.directives or () if d.name.value == "join__field"]
        type_name = _named(node.type)
        type_text = print_ast(node.type)
        where = f"{parent.name.value}.{node.name.value}"
        if not joins:
            # join v0.1: an entity's fields without @join__field belong to its owner graph.
            graphs = (self._owner,) if self._owner else type_info.graphs
            return FieldInfo(node.name.value, type_name, graphs, type_text=type_text)
        overridden = {_string(d, "override") for d in joins if _string(d, "overrideLabel") is None}
        overridden.discard(None)
        owners: list[str] = []
        labelled: list[LabelledOwner] = []
        info = FieldInfo(node.name.value, type_name, (), type_text=type_text, explicit=True)
        external: set[str] = set()
        for directive in joins:
            graph = self._graph(directive, where)
            if graph is None:
                continue  # a bare @join__field: no subgraph resolves it on this type itself
            field_type = _string(directive, "type")
            if field_type is not None and field_type != type_text:
                info.graph_types[graph] = field_type
            if _flag(directive, "external"):
                external.add(graph)
                continue
            if _flag(directive, "usedOverridden") or graph in overridden:
                continue
            label = _string(directive, "overrideLabel")
            if label is not None:
                active = _string(directive, "override") is not None
                labelled.append(LabelledOwner(graph, label, active))
            elif graph not in owners:
                owners.append(graph)
            required = _string(directive, "requires")
            if required:
                info.requires[graph] = required
            provided = _string(directive, "provides")
            if provided:
                info.provides[graph] = provided
        info.owners = tuple(owners)
        info.labelled = tuple(labelled)
        info.external = frozenset(external)
        return info


def _drop_required_owners(info: TypeInfo) -> None:
    """A field a subgraph `@requires` is external there. A composer may print such a field
    without any @join__field (meaning every subgraph of the type), so take the requiring
    subgraph out of its owners, unless no other subgraph would resolve it (a requirement on
    the subgraph's own field whose subfields live elsewhere)."""
    for owner in info.fields.values():
        for graph, required in owner.requires.items():
            for selection in parse_field_set(required).selections:
                if not isinstance(selection, FieldNode):
                    continue
                target = info.fields.get(selection.name.value)
                if target is None or graph not in target.owners or target.explicit:
                    continue
                remaining = tuple(g for g in target.owners if g != graph)
                if remaining:
                    target.owners = remaining
                    target.external = target.external | {graph}


def _uses(document: DocumentNode, directive_name: str) -> bool:
    return any(
        d.name.value == directive_name
        for definition in document.definitions
        for d in getattr(definition, "directives", None) or ()
    )


def named_type(type_text: str) -> str:
    """The named type of a printed type such as `[ID!]!`."""
    return _named_text(type_text)


def interfaces_of(supergraph: Supergraph, type_name: str) -> Iterable[TypeInfo]:
    info = supergraph.types.get(type_name)
    for name in info.interfaces if info else ():
        interface = supergraph.types.get(name)
        if interface is not None:
            yield interface


__all__ = [
    "FieldInfo",
    "GraphInfo",
    "LabelledOwner",
    "Supergraph",
    "TypeInfo",
    "interfaces_of",
    "is_inaccessible",
    "load_supergraph",
    "load_supergraph_file",
    "named_type",
]

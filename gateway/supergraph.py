"""Any valid join/v0.3 supergraph read into a routing model plus the client-facing API schema."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from graphql import (
    BooleanValueNode,
    DefinitionNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueNode,
    FieldDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
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
    build_ast_schema,
    parse,
    validate_schema,
)

from gateway.errors import SupergraphError
from gateway.supergraph_header import MACHINERY_PREFIXES

_KEPT_DIRECTIVES = frozenset({"deprecated", "specifiedBy", "oneOf"})


@dataclass(frozen=True)
class GraphInfo:
    """A subgraph as the supergraph names it: its name, join__Graph value and routing URL."""

    name: str
    enum_value: str
    url: str


@dataclass
class FieldInfo:
    """Where a field can be resolved and what each subgraph needs to resolve it."""

    name: str
    type_name: str
    owners: tuple[str, ...]
    requires: dict[str, str] = field(default_factory=dict)
    provides: dict[str, str] = field(default_factory=dict)


@dataclass
class TypeInfo:
    """A composite type: the subgraphs that know it, their entity keys and its fields."""

    name: str
    kind: str
    graphs: tuple[str, ...]
    keys: dict[str, list[str]] = field(default_factory=dict)
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    possible_types: tuple[str, ...] = ()


@dataclass
class Supergraph:
    """The routing model of a supergraph and the API schema clients see."""

    sdl: str
    graphs: dict[str, GraphInfo]
    types: dict[str, TypeInfo]
    root_types: dict[str, str]
    api_schema: GraphQLSchema

    def is_composite(self, type_name: str) -> bool:
        info = self.types.get(type_name)
        return info is not None and info.kind in ("object", "interface", "union")


def load_supergraph_file(path: Path | str) -> Supergraph:
    return load_supergraph(Path(path).read_text())


def load_supergraph(sdl: str) -> Supergraph:
    """Parse a join/v0.3 supergraph; raise SupergraphError when it is not one."""
    try:
        document = parse(sdl)
    except GraphQLError as error:
        raise SupergraphError(f"supergraph does not parse: {error.message}") from error
    _require_join_link(document)
    graphs = _read_graphs(document)
    by_enum = {g.enum_value: g.name for g in graphs.values()}
    root_types = _root_types(document)
    api_schema = _build_api_schema(document)
    types: dict[str, TypeInfo] = {}
    for definition in document.definitions:
        if isinstance(definition, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
            kind = "object" if isinstance(definition, ObjectTypeDefinitionNode) else "interface"
            types[definition.name.value] = _read_object(definition, kind, by_enum)
        elif isinstance(definition, UnionTypeDefinitionNode):
            info = _read_type_graphs(definition, "union", by_enum)
            info.possible_types = tuple(t.name.value for t in definition.types or ())
            types[info.name] = info
    for info in types.values():
        if info.kind == "interface":
            info.possible_types = tuple(
                t.name
                for t in types.values()
                if t.kind == "object" and _implements(document, t.name, info.name)
            )
    return Supergraph(sdl, graphs, types, root_types, api_schema)


def _require_join_link(document: DocumentNode) -> None:
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode):
            for directive in definition.directives or ():
                url = _argument(directive, "url")
                if (
                    directive.name.value == "link"
                    and isinstance(url, StringValueNode)
                    and url.value.startswith("https://specs.apollo.dev/join/v0.")
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


def _graph_of(directive: DirectiveNode, by_enum: dict[str, str]) -> str | None:
    value = _argument(directive, "graph")
    if not isinstance(value, EnumValueNode):
        return None
    if value.value not in by_enum:
        raise SupergraphError(f"unknown graph {value.value} in @{directive.name.value}")
    return by_enum[value.value]


def _read_type_graphs(
    definition: TypeDefinitionNode, kind: str, by_enum: dict[str, str]
) -> TypeInfo:
    graphs: list[str] = []
    keys: dict[str, list[str]] = {}
    for directive in definition.directives or ():
        if directive.name.value != "join__type":
            continue
        graph = _graph_of(directive, by_enum)
        if graph is None:
            raise SupergraphError(f"@join__type without graph on {definition.name.value}")
        if graph not in graphs:
            graphs.append(graph)
        key = _string(directive, "key")
        resolvable = _argument(directive, "resolvable")
        if key is not None and not (
            isinstance(resolvable, BooleanValueNode) and not resolvable.value
        ):
            keys.setdefault(graph, []).append(key)
    if not graphs:
        graphs = list(by_enum.values())  # a type without @join__type lives everywhere
    return TypeInfo(definition.name.value, kind, tuple(graphs), keys)


def _read_object(
    definition: ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode,
    kind: str,
    by_enum: dict[str, str],
) -> TypeInfo:
    info = _read_type_graphs(definition, kind, by_enum)
    for field_node in definition.fields or ():
        info.fields[field_node.name.value] = _read_field(field_node, info.graphs, by_enum)
    return info


def _read_field(
    node: FieldDefinitionNode, type_graphs: tuple[str, ...], by_enum: dict[str, str]
) -> FieldInfo:
    joins = [
        d
        for d in node.directives or ()
        if d.name.value == "join__field" and _argument(d, "graph") is not None
    ]
    type_name = _named(node.type)
    if not joins:
        return FieldInfo(node.name.value, type_name, type_graphs)
    overridden = {_string(d, "override") for d in joins} - {None}
    owners: list[str] = []
    requires: dict[str, str] = {}
    provides: dict[str, str] = {}
    for directive in joins:
        graph = _graph_of(directive, by_enum)
        assert graph is not None
        if _flag(directive, "external") or _flag(directive, "usedOverridden"):
            continue
        if graph in overridden:
            continue
        owners.append(graph)
        required = _string(directive, "requires")
        if required:
            requires[graph] = required
        provided = _string(directive, "provides")
        if provided:
            provides[graph] = provided
    return FieldInfo(node.name.value, type_name, tuple(owners), requires, provides)


def _named(type_node: TypeNode) -> str:
    while isinstance(type_node, (NonNullTypeNode, ListTypeNode)):
        type_node = type_node.type
    assert isinstance(type_node, NamedTypeNode)
    return type_node.name.value


def _implements(document: DocumentNode, type_name: str, interface: str) -> bool:
    for definition in document.definitions:
        if isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value == type_name:
            return any(i.name.value == interface for i in definition.interfaces or ())
    return False


def _is_inaccessible(node: Any) -> bool:
    return any(d.name.value == "inaccessible" for d in getattr(node, "directives", None) or ())


def _public(node: Any, **changes: Any) -> Any:
    """A copy of a node without supergraph directives."""
    if getattr(node, "directives", None):
        changes["directives"] = tuple(
            d for d in node.directives if d.name.value in _KEPT_DIRECTIVES
        )
    return replace(node, **changes) if changes else node


def _build_api_schema(document: DocumentNode) -> GraphQLSchema:
    """The client-facing schema: no join/link machinery, nothing @inaccessible."""
    hidden_types = {
        d.name.value
        for d in document.definitions
        if isinstance(d, TypeDefinitionNode)
        and (d.name.value.startswith(MACHINERY_PREFIXES) or _is_inaccessible(d))
    }
    definitions: list[DefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            continue
        if isinstance(definition, SchemaDefinitionNode):
            definitions.append(_public(definition))
            continue
        if not isinstance(definition, TypeDefinitionNode):
            continue
        if definition.name.value in hidden_types:
            continue
        definitions.append(_public_type(definition, hidden_types))
    api_document = DocumentNode(definitions=tuple(definitions))
    try:
        schema = build_ast_schema(api_document, assume_valid_sdl=True)
    except (GraphQLError, TypeError) as error:
        raise SupergraphError(f"API schema cannot be built: {error}") from error
    errors = validate_schema(schema)
    if errors:
        raise SupergraphError("API schema is invalid: " + "; ".join(e.message for e in errors))
    return schema


def _public_type(definition: TypeDefinitionNode, hidden_types: set[str]) -> TypeDefinitionNode:
    public: TypeDefinitionNode
    if isinstance(definition, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
        fields = tuple(
            _public(
                f, arguments=tuple(_public(a) for a in f.arguments or () if not _is_inaccessible(a))
            )
            for f in definition.fields or ()
            if not _is_inaccessible(f)
        )
        interfaces = tuple(
            i for i in definition.interfaces or () if i.name.value not in hidden_types
        )
        public = _public(definition, fields=fields, interfaces=interfaces)
    elif isinstance(definition, UnionTypeDefinitionNode):
        members = tuple(t for t in definition.types or () if t.name.value not in hidden_types)
        public = _public(definition, types=members)
    elif isinstance(definition, EnumTypeDefinitionNode):
        values = tuple(_public(v) for v in definition.values or () if not _is_inaccessible(v))
        public = _public(definition, values=values)
    elif isinstance(definition, InputObjectTypeDefinitionNode):
        inputs = tuple(_public(f) for f in definition.fields or () if not _is_inaccessible(f))
        public = _public(definition, fields=inputs)
    else:
        public = _public(definition)
    return public

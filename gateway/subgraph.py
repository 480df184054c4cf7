"""A subgraph's SDL read into a model of its types and federation directives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldDefinitionNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ObjectValueNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    ValueNode,
    parse,
    print_ast,
)

from gateway.errors import CompositionError

TypeKind = Literal["object", "interface", "union", "enum", "input", "scalar"]

FEDERATION_SPEC = "https://specs.apollo.dev/federation/"
FEDERATION_DIRECTIVES = (
    "key",
    "external",
    "requires",
    "provides",
    "shareable",
    "override",
    "inaccessible",
    "extends",
    "tag",
    "interfaceObject",
    "composeDirective",
)
# Types and root fields every subgraph library adds for the gateway's own use.
FEDERATION_INTERNAL_TYPES = frozenset(
    {"_Service", "_Entity", "_Any", "FieldSet", "_FieldSet", "link__Import", "link__Purpose"}
)
FEDERATION_ROOT_FIELDS = frozenset({"_entities", "_service"})
ROOT_KINDS = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


@dataclass(frozen=True)
class Subgraph:
    """One subgraph as given to composition: its name, routing URL and SDL."""

    name: str
    url: str
    sdl: str


@dataclass
class SubgraphField:
    name: str
    type: TypeNode
    arguments: tuple[InputValueDefinitionNode, ...] = ()
    description: str | None = None
    default_value: ValueNode | None = None
    external: bool = False
    shareable: bool = False
    inaccessible: bool = False
    requires: str | None = None
    provides: str | None = None
    override: str | None = None
    # Progressive @override(label:): the field moves only while the label is active.
    override_label: str | None = None
    deprecation: DirectiveNode | None = None

    @property
    def type_text(self) -> str:
        return print_ast(self.type)


@dataclass(frozen=True)
class Key:
    fields: str
    resolvable: bool = True


@dataclass
class SubgraphType:
    name: str
    kind: TypeKind
    extension: bool = True
    description: str | None = None
    keys: list[Key] = field(default_factory=list)
    inaccessible: bool = False
    interfaces: list[str] = field(default_factory=list)
    fields: dict[str, SubgraphField] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    enum_values: dict[str, bool] = field(default_factory=dict)  # name -> inaccessible
    enum_descriptions: dict[str, str | None] = field(default_factory=dict)


@dataclass
class SubgraphSchema:
    name: str
    url: str
    types: dict[str, SubgraphType]


class _DirectiveNames:
    """Maps federation directive names as spelled in a subgraph (imports, renames) to spec names."""

    def __init__(self, document: DocumentNode) -> None:
        self._by_local: dict[str, str] = {}
        namespace = "federation"
        linked = False
        for definition in document.definitions:
            if not isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
                continue
            for directive in definition.directives or ():
                if directive.name.value != "link":
                    continue
                args = _arguments(directive)
                url = args.get("url")
                if not (isinstance(url, StringValueNode) and url.value.startswith(FEDERATION_SPEC)):
                    continue
                linked = True
                alias = args.get("as")
                if isinstance(alias, StringValueNode):
                    namespace = alias.value
                imports = args.get("import")
                if isinstance(imports, ListValueNode):
                    for item in imports.values:
                        self._add_import(item)
        for name in FEDERATION_DIRECTIVES:
            self._by_local.setdefault(f"{namespace}__{name}", name)
            if not linked:
                # Federation 1 subgraphs use the directives without a @link.
                self._by_local.setdefault(name, name)

    def _add_import(self, item: ValueNode) -> None:
        if isinstance(item, StringValueNode) and item.value.startswith("@"):
            name = item.value[1:]
            self._by_local[name] = name
        elif isinstance(item, ObjectValueNode):
            values = {f.name.value: f.value for f in item.fields}
            original, local = values.get("name"), values.get("as")
            if isinstance(original, StringValueNode) and original.value.startswith("@"):
                local_name = local.value if isinstance(local, StringValueNode) else original.value
                self._by_local[local_name.lstrip("@")] = original.value[1:]

    def spec_name(self, directive: DirectiveNode) -> str | None:
        return self._by_local.get(directive.name.value)


def _arguments(directive: DirectiveNode) -> dict[str, ValueNode]:
    return {arg.name.value: arg.value for arg in directive.arguments or ()}


def _string_argument(directive: DirectiveNode, name: str) -> str | None:
    value = _arguments(directive).get(name)
    return value.value if isinstance(value, StringValueNode) else None


def _description(node: object) -> str | None:
    description = getattr(node, "description", None)
    return description.value if isinstance(description, StringValueNode) else None


_ObjectLike = (
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
)
_Extensions = (
    ObjectTypeExtensionNode,
    InterfaceTypeExtensionNode,
    UnionTypeExtensionNode,
    EnumTypeExtensionNode,
    InputObjectTypeExtensionNode,
    ScalarTypeExtensionNode,
)


def parse_subgraph(subgraph: Subgraph) -> SubgraphSchema:
    """Read a subgraph SDL into its model, dropping the federation machinery types."""
    try:
        document = parse(subgraph.sdl)
    except GraphQLError as error:
        raise CompositionError(
            f"invalid SDL: {error.message}", subgraphs=(subgraph.name,)
        ) from error
    names = _DirectiveNames(document)
    root_names = _root_type_names(document)
    types: dict[str, SubgraphType] = {}
    for definition in document.definitions:
        name_node = getattr(definition, "name", None)
        if name_node is None or isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
            continue
        original = name_node.value
        if original in FEDERATION_INTERNAL_TYPES or original.startswith("federation__"):
            continue
        kind = _kind_of(definition)
        if kind is None:
            continue  # directive definitions
        name = root_names.get(original, original)
        existing = types.get(name)
        sg_type = existing or SubgraphType(name=name, kind=kind)
        types[name] = sg_type
        if not isinstance(definition, _Extensions):
            sg_type.extension = False
            sg_type.description = sg_type.description or _description(definition)
        _read_type(sg_type, definition, names, subgraph.name)
    for root in ROOT_KINDS.values():
        root_type = types.get(root)
        if root_type is None:
            continue
        for internal in FEDERATION_ROOT_FIELDS:
            root_type.fields.pop(internal, None)
        if not root_type.fields:
            del types[root]
        else:
            root_type.extension = False
    return SubgraphSchema(name=subgraph.name, url=subgraph.url, types=types)


def _root_type_names(document: DocumentNode) -> dict[str, str]:
    renames: dict[str, str] = {}
    for definition in document.definitions:
        if isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
            for operation_type in definition.operation_types or ():
                standard = ROOT_KINDS[operation_type.operation.value]
                renames[operation_type.type.name.value] = standard
    return renames


def _kind_of(definition: object) -> TypeKind | None:
    if isinstance(definition, (ObjectTypeDefinitionNode, ObjectTypeExtensionNode)):
        return "object"
    if isinstance(definition, (InterfaceTypeDefinitionNode, InterfaceTypeExtensionNode)):
        return "interface"
    if isinstance(definition, (UnionTypeDefinitionNode, UnionTypeExtensionNode)):
        return "union"
    if isinstance(definition, (EnumTypeDefinitionNode, EnumTypeExtensionNode)):
        return "enum"
    if isinstance(definition, (InputObjectTypeDefinitionNode, InputObjectTypeExtensionNode)):
        return "input"
    if isinstance(definition, (ScalarTypeDefinitionNode, ScalarTypeExtensionNode)):
        return "scalar"
    return None


def _read_type(
    sg_type: SubgraphType, definition: object, names: _DirectiveNames, subgraph: str
) -> None:
    type_shareable = False
    for directive in getattr(definition, "directives", None) or ():
        spec = names.spec_name(directive)
        if spec == "key":
            fields = _string_argument(directive, "fields")
            if fields is None:
                raise CompositionError(
                    "@key needs a fields argument", type_name=sg_type.name, subgraphs=(subgraph,)
                )
            resolvable = _arguments(directive).get("resolvable")
            sg_type.keys.append(
                Key(fields, not (isinstance(resolvable, BooleanValueNode) and not resolvable.value))
            )
        elif spec == "shareable":
            type_shareable = True
        elif spec == "inaccessible":
            sg_type.inaccessible = True
        elif spec == "extends":
            sg_type.extension = True
    if isinstance(definition, _ObjectLike):
        for interface in definition.interfaces or ():
            if interface.name.value not in sg_type.interfaces:
                sg_type.interfaces.append(interface.name.value)
        for field_node in definition.fields or ():
            sg_field = _read_field(field_node, names)
            # A type-level @shareable covers the fields of that definition only.
            sg_field.shareable = sg_field.shareable or type_shareable
            sg_type.fields[sg_field.name] = sg_field
    elif isinstance(definition, (UnionTypeDefinitionNode, UnionTypeExtensionNode)):
        for member in definition.types or ():
            sg_type.members.append(member.name.value)
    elif isinstance(definition, (EnumTypeDefinitionNode, EnumTypeExtensionNode)):
        for value in definition.values or ():
            hidden = any(names.spec_name(d) == "inaccessible" for d in value.directives or ())
            sg_type.enum_values[value.name.value] = hidden
            sg_type.enum_descriptions[value.name.value] = _description(value)
    elif isinstance(definition, (InputObjectTypeDefinitionNode, InputObjectTypeExtensionNode)):
        for input_field in definition.fields or ():
            sg_field = _read_field(input_field, names)
            sg_field.default_value = input_field.default_value
            sg_type.fields[sg_field.name] = sg_field


def _read_field(
    node: FieldDefinitionNode | InputValueDefinitionNode, names: _DirectiveNames
) -> SubgraphField:
    sg_field = SubgraphField(
        name=node.name.value,
        type=node.type,
        arguments=tuple(getattr(node, "arguments", None) or ()),
        description=_description(node),
    )
    for directive in node.directives or ():
        spec = names.spec_name(directive)
        if spec == "external":
            sg_field.external = True
        elif spec == "shareable":
            sg_field.shareable = True
        elif spec == "inaccessible":
            sg_field.inaccessible = True
        elif spec == "requires":
            sg_field.requires = _string_argument(directive, "fields")
        elif spec == "provides":
            sg_field.provides = _string_argument(directive, "fields")
        elif spec == "override":
            sg_field.override = _string_argument(directive, "from")
            sg_field.override_label = _string_argument(directive, "label")
        elif directive.name.value == "deprecated":
            sg_field.deprecation = directive
    return sg_field

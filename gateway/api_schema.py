"""The client-facing API schema of a supergraph: no join/link machinery, nothing @inaccessible."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from graphql import (
    DefinitionNode,
    DirectiveDefinitionNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    build_ast_schema,
    validate_schema,
)

from gateway.errors import SupergraphError
from gateway.supergraph_header import MACHINERY_PREFIXES

_KEPT_DIRECTIVES = frozenset({"deprecated", "specifiedBy", "oneOf"})


def is_inaccessible(node: Any) -> bool:
    return any(d.name.value == "inaccessible" for d in getattr(node, "directives", None) or ())


def build_api_schema(document: DocumentNode) -> GraphQLSchema:
    """The schema clients validate against and introspect."""
    hidden_types = {
        d.name.value
        for d in document.definitions
        if isinstance(d, TypeDefinitionNode)
        and (d.name.value.startswith(MACHINERY_PREFIXES) or is_inaccessible(d))
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


def _public(node: Any, **changes: Any) -> Any:
    """A copy of a node without supergraph directives."""
    if getattr(node, "directives", None):
        changes["directives"] = tuple(
            d for d in node.directives if d.name.value in _KEPT_DIRECTIVES
        )
    return replace(node, **changes) if changes else node


def _public_type(definition: TypeDefinitionNode, hidden_types: set[str]) -> TypeDefinitionNode:
    public: TypeDefinitionNode
    if isinstance(definition, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
        fields = tuple(
            _public(
                f, arguments=tuple(_public(a) for a in f.arguments or () if not is_inaccessible(a))
            )
            for f in definition.fields or ()
            if not is_inaccessible(f)
        )
        interfaces = tuple(
            i for i in definition.interfaces or () if i.name.value not in hidden_types
        )
        public = _public(definition, fields=fields, interfaces=interfaces)
    elif isinstance(definition, UnionTypeDefinitionNode):
        members = tuple(t for t in definition.types or () if t.name.value not in hidden_types)
        public = _public(definition, types=members)
    elif isinstance(definition, EnumTypeDefinitionNode):
        values = tuple(_public(v) for v in definition.values or () if not is_inaccessible(v))
        public = _public(definition, values=values)
    elif isinstance(definition, InputObjectTypeDefinitionNode):
        inputs = tuple(_public(f) for f in definition.fields or () if not is_inaccessible(f))
        public = _public(definition, fields=inputs)
    else:
        public = _public(definition)
    return public

"""Federation field sets (`@key(fields:)`, `@requires`, `@provides`) parsed into selections."""

from __future__ import annotations

from functools import lru_cache

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, SelectionSetNode, parse


@lru_cache(maxsize=1024)
def parse_field_set(text: str) -> SelectionSetNode:
    """Parse a field set such as `id organization { id }` into a selection set."""
    try:
        document = parse("{" + text + "}", no_location=True)
    except GraphQLError as error:
        raise ValueError(f"invalid field set {text!r}: {error.message}") from error
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.selection_set


def field_set_names(text: str) -> list[str]:
    """Top-level field names of a field set (fragments inside a field set are flattened)."""
    return [s.name.value for s in _fields(parse_field_set(text))]


def _fields(selection_set: SelectionSetNode) -> list[FieldNode]:
    found: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        else:
            nested = getattr(selection, "selection_set", None)
            if nested is not None:
                found.extend(_fields(nested))
    return found


def field_nodes(selection_set: SelectionSetNode) -> list[FieldNode]:
    """Field nodes of a field set, looking through inline fragments."""
    return _fields(selection_set)

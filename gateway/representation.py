"""What an `_entities` representation holds: a key or `@requires` field set read into the
fields to copy from a merged object (under their internal aliases), with the types each applies
to when the field set has fragments."""

from __future__ import annotations

from graphql import FieldNode, InlineFragmentNode, SelectionSetNode, print_ast

from gateway.errors import PlanningError
from gateway.field_set import parse_field_set
from gateway.plan import (
    RepresentationField,
    internal_key,
    merge_representation,
    representation_slot,
)
from gateway.supergraph import Supergraph


def representation_of(
    supergraph: Supergraph, type_name: str, fields: str, *, key: bool
) -> dict[str, RepresentationField]:
    """The representation fields of a field set on `type_name`, by slot (name and types)."""
    found: dict[str, RepresentationField] = {}
    for rep in _fields(supergraph, type_name, parse_field_set(fields), None, key):
        slot = representation_slot(rep)
        found[slot] = merge_representation(found.get(slot), rep)
    return found


def _fields(
    supergraph: Supergraph,
    type_name: str,
    selection_set: SelectionSetNode,
    types: frozenset[str] | None,
    key: bool,
) -> list[RepresentationField]:
    found: list[RepresentationField] = []
    type_info = supergraph.types[type_name]
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            condition = (
                selection.type_condition.name.value if selection.type_condition else type_name
            )
            possible = _concrete(supergraph, condition)
            narrowed = possible if types is None else types & possible
            found.extend(_fields(supergraph, condition, selection.selection_set, narrowed, key))
            continue
        if not isinstance(selection, FieldNode) or selection.name.value == "__typename":
            continue
        info = type_info.fields.get(selection.name.value)
        if info is None:
            raise PlanningError(f"unknown field {type_name}.{selection.name.value}")
        children: tuple[RepresentationField, ...] = ()
        typename = False
        if selection.selection_set is not None:
            children = tuple(
                _fields(supergraph, info.type_name, selection.selection_set, None, False)
            )
            # The subgraph tells the nested objects' types apart by it.
            typename = any(
                isinstance(s, InlineFragmentNode) for s in selection.selection_set.selections
            )
        arguments = ""
        if selection.arguments:
            arguments = "(" + ", ".join(print_ast(a) for a in selection.arguments) + ")"
        found.append(
            RepresentationField(
                internal_key(info.name, arguments), info.name, children, types, key, typename
            )
        )
    return found


def _concrete(supergraph: Supergraph, type_name: str) -> frozenset[str]:
    info = supergraph.types[type_name]
    return frozenset((info.name,) if info.kind == "object" else info.possible_types)

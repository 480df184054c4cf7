"""Field collection: the fields a selection asks of one concrete type (GraphQL CollectFields)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
)

from gateway.supergraph import Supergraph


class FieldCollector:
    """Collects fields per concrete type, applying fragments, type conditions, @skip/@include."""

    def __init__(
        self,
        supergraph: Supergraph,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self._supergraph = supergraph
        self._fragments = fragments
        self._variables = variables

    def collect(
        self, type_name: str, selection_sets: Iterable[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        fields: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect(type_name, selection_set.selections, fields, visited)
        return fields

    def _collect(
        self,
        type_name: str,
        selections: Iterable[SelectionNode],
        fields: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self.applies(condition.name.value, type_name):
                    self._collect(type_name, selection.selection_set.selections, fields, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self.applies(fragment.type_condition.name.value, type_name):
                    self._collect(type_name, fragment.selection_set.selections, fields, visited)

    def applies(self, condition: str, type_name: str) -> bool:
        if condition == type_name:
            return True
        info = self._supergraph.types.get(condition)
        return info is not None and type_name in info.possible_types

    def _included(self, selection: SelectionNode) -> bool:
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            value = self._condition(directive.arguments[0].value if directive.arguments else None)
            if (name == "skip") == value:
                return False
        return True

    def _condition(self, value: object) -> bool:
        if isinstance(value, BooleanValueNode):
            return value.value
        if isinstance(value, VariableNode):
            return bool(self._variables.get(value.name.value))
        return False

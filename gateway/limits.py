"""Operation limits that protect the gateway and subgraphs from abusive queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from crmkit.query_limits import MAX_REPEATS, MAX_TOKENS
from crmkit.settings import MAX_BODY_BYTES


@dataclass(frozen=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 30
    max_operation_bytes: int = 64 * 1024
    max_body_bytes: int = MAX_BODY_BYTES
    # Checked while parsing, before validation (crmkit.query_limits).
    max_tokens: int = MAX_TOKENS
    max_repeats: int = MAX_REPEATS


@dataclass(frozen=True)
class LimitViolation:
    code: str
    message: str


def check_document(document: DocumentNode, limits: Limits) -> LimitViolation | None:
    """The first limit the document breaks, if any (depth counts fields, fragments inlined)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        depth = _depth(definition.selection_set, fragments, frozenset())
        if depth > limits.max_depth:
            return LimitViolation(
                "QUERY_TOO_DEEP",
                f"query depth {depth} exceeds the limit of {limits.max_depth}",
            )
    aliases = _aliases(document)
    if aliases > limits.max_aliases:
        return LimitViolation(
            "TOO_MANY_ALIASES",
            f"{aliases} aliases exceed the limit of {limits.max_aliases}",
        )
    return None


def _depth(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: frozenset[str],
) -> int:
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            nested = selection.selection_set
            deepest = max(deepest, 1 + (_depth(nested, fragments, seen) if nested else 0))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                deepest = max(deepest, _depth(fragment.selection_set, fragments, seen | {name}))
    return deepest


def _aliases(document: DocumentNode) -> int:
    count = 0
    pending: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, (OperationDefinitionNode, FragmentDefinitionNode))
    ]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode) and selection.alias is not None:
                count += 1
            nested = getattr(selection, "selection_set", None)
            if nested is not None:
                pending.append(nested)
    return count

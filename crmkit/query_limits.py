"""Bounds on an operation's text, checked while parsing and before validation, at the gateway
and at every service: validation's overlapping-fields rule is quadratic in the fields merged
into one selection set (``{ me { id } me { id } ... }`` 6,000 times took seconds of CPU, with
every other request waiting), so such a document must be refused before it is validated.

- at most ``MAX_TOKENS`` lexical tokens (graphql-core stops parsing at the limit);
- one response name at most ``MAX_REPEATS`` times in one merged selection set (inline
  fragments and fragment spreads counted where they are merged, and the selections of the
  fields of one name merged at the next level, as validation merges them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

MAX_TOKENS = 3_000
MAX_REPEATS = 30
CODE = "OPERATION_TOO_LARGE"
# Levels of selection sets looked at: beyond the depth limits of gateway and services (a
# fragment spread inside itself, which validation refuses, would otherwise never end).
MAX_SCAN_DEPTH = 32


class OperationTooLarge(Exception):
    """The operation breaks a bound; the message says which (safe to show)."""


def parse_bounded(
    query: str, *, max_tokens: int = MAX_TOKENS, max_repeats: int = MAX_REPEATS
) -> DocumentNode:
    """The parsed document; :class:`OperationTooLarge` past a bound, ``GraphQLError`` when it
    does not parse."""
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError as error:
        if "tokens" in error.message and "more than" in error.message:
            raise OperationTooLarge(
                f"operation has more than {max_tokens} tokens"
            ) from None
        raise
    repeated = most_repeated(document)
    if repeated is not None and repeated[1] > max_repeats:
        name, count = repeated
        raise OperationTooLarge(
            f"field {name!r} is selected {count} times in one selection set "
            f"(at most {max_repeats})"
        )
    return document


def most_repeated(document: DocumentNode) -> tuple[str, int] | None:
    """The response name selected most often in one merged selection set, and how often.
    Sets merge as validation merges them: fragments into the set they are spread in, and the
    selections of every field of one response name into one set at the next level."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    worst: tuple[str, int] | None = None
    pending: list[tuple[list[SelectionSetNode], int]] = [
        ([d.selection_set], 1) for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while pending:
        selection_sets, depth = pending.pop()
        counts, nested = _merged(selection_sets, fragments)
        if depth < MAX_SCAN_DEPTH:  # deeper is refused by the depth limit (or a cycle)
            pending.extend((sets, depth + 1) for sets in nested.values())
        if counts:
            name, count = counts.most_common(1)[0]
            if worst is None or count > worst[1]:
                worst = (name, count)
    return worst


def _merged(
    selection_sets: list[SelectionSetNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[Counter[str], dict[str, list[SelectionSetNode]]]:
    """How often each response name occurs in the merged ``selection_sets`` (each fragment
    merged once, a spread inside itself not followed), and each name's sub-selections."""
    counts: Counter[str] = Counter()
    nested: dict[str, list[SelectionSetNode]] = {}
    merged_fragments: set[str] = set()
    stack = list(selection_sets)
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                counts[key] += 1
                if selection.selection_set is not None:
                    nested.setdefault(key, []).append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                counts[f"...{name}"] += 1
                fragment = fragments.get(name)
                if fragment is not None and name not in merged_fragments:
                    merged_fragments.add(name)
                    stack.append(fragment.selection_set)
    return counts, nested

"""Bounds on an operation's text, checked while parsing and before validation, at the gateway
and at every service: validation's overlapping-fields rule is quadratic in the fields merged
into one selection set (``{ me { id } me { id } ... }`` 6,000 times took seconds of CPU, with
every other request waiting), so such a document must be refused before it is validated.

- at most ``MAX_TOKENS`` lexical tokens (graphql-core stops parsing at the limit);
- one response name at most ``MAX_REPEATS`` times in one merged selection set (inline
  fragments and fragment spreads counted where they are merged).
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

MAX_TOKENS = 10_000
MAX_REPEATS = 20
CODE = "OPERATION_TOO_LARGE"


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
    """The response name selected most often in one merged selection set, and how often."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    worst: tuple[str, int] | None = None
    pending: list[SelectionSetNode] = [
        d.selection_set for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    seen_sets: set[int] = set()
    while pending:
        selection_set = pending.pop()
        if id(selection_set) in seen_sets:
            continue
        seen_sets.add(id(selection_set))
        counts, nested = _merged(selection_set, fragments)
        pending.extend(nested)
        if counts:
            name, count = counts.most_common(1)[0]
            if worst is None or count > worst[1]:
                worst = (name, count)
    return worst


def _merged(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[Counter[str], list[SelectionSetNode]]:
    """Response names of a selection set with its fragments merged in (each fragment once
    per spread, a spread inside itself not followed), and the fields' own selection sets."""
    counts: Counter[str] = Counter()
    nested: list[SelectionSetNode] = []
    stack: list[tuple[SelectionSetNode, frozenset[str]]] = [(selection_set, frozenset())]
    while stack:
        current, inside = stack.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                counts[(selection.alias or selection.name).value] += 1
                if selection.selection_set is not None:
                    nested.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, inside))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in inside:
                    counts[f"...{name}"] += 1
                    if counts[f"...{name}"] == 1:
                        stack.append((fragment.selection_set, inside | {name}))
    return counts, nested

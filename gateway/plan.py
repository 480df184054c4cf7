"""Query plan data: subgraph selections, fetches, and the requests each plan step sends."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from gateway.errors import PlanningError

# Fields the gateway adds for its own needs (keys, @requires inputs) carry this alias prefix,
# so they never collide with a client's response keys.
INTERNAL_PREFIX = "_k_"
REPRESENTATIONS_PREFIX = "_r"
# Fields whose types conflict between sibling fragments (FieldsInSetCanMerge) are renamed in
# the subgraph query with this marker and renamed back when the answer is merged.
CONFLICT_MARKER = "__t_"


def internal_key(name: str, arguments: str) -> str:
    """The response key of an internal field; arguments make their own key (`price(EUR)`)."""
    if not arguments:
        return INTERNAL_PREFIX + name
    digest = hashlib.blake2s(arguments.encode(), digest_size=4).hexdigest()
    return f"{INTERNAL_PREFIX}{name}_{digest}"


@dataclass
class SelectedField:
    name: str
    arguments: str
    # The field's type in the subgraph, printed: sibling fragments may disagree on it.
    type_text: str
    selection: Selection | None = None


@dataclass
class Selection:
    """A subgraph selection set under construction, keyed by response key."""

    fields: dict[str, SelectedField] = field(default_factory=dict)
    fragments: dict[str, Selection] = field(default_factory=dict)
    typename: bool = False

    def add(
        self, key: str, name: str, arguments: str, type_text: str, composite: bool
    ) -> SelectedField:
        existing = self.fields.get(key)
        if existing is None:
            existing = SelectedField(name, arguments, type_text, Selection() if composite else None)
            self.fields[key] = existing
        elif existing.name != name or existing.arguments != arguments:
            raise PlanningError(f"response key {key!r} is used for two different fields")
        return existing

    def fragment(self, type_name: str) -> Selection:
        return self.fragments.setdefault(type_name, Selection())

    def render(self, renamed: frozenset[str] = frozenset(), scoped: bool = False) -> str:
        """The selection as GraphQL text; `scoped`: somewhere under a type condition, where
        fields in `renamed` get their type-specific alias."""
        parts = ["__typename"] if self.typename else []
        for key, selected in self.fields.items():
            alias = conflict_alias(key, selected.type_text) if scoped and key in renamed else key
            head = selected.name if alias == selected.name else f"{alias}: {selected.name}"
            text = head + selected.arguments
            if selected.selection is not None:
                text += " { " + (selected.selection.render(renamed, scoped) or "__typename") + " }"
            parts.append(text)
        for type_name, nested in self.fragments.items():
            parts.append(f"... on {type_name} {{ {nested.render(renamed, True) or '__typename'} }}")
        return " ".join(parts)


def conflict_alias(key: str, type_text: str) -> str:
    tag = type_text.replace("[", "L").replace("]", "R").replace("!", "N")
    return f"{key}{CONFLICT_MARKER}{tag}"


def fragment_conflicts(selection: Selection) -> frozenset[str]:
    """Response keys that appear with different subgraph types somewhere under a fragment.

    Such fields are aliased by type everywhere under fragments, so no two fields with one
    response name and different types ever meet when the subgraph merges selections."""
    types: dict[str, set[str]] = {}

    def walk(current: Selection, scoped: bool) -> None:
        for key, selected in current.fields.items():
            if scoped:
                types.setdefault(key, set()).add(selected.type_text)
            if selected.selection is not None:
                walk(selected.selection, scoped)
        for nested in current.fragments.values():
            walk(nested, True)

    walk(selection, False)
    return frozenset(k for k, found in types.items() if len(found) > 1)


@dataclass(frozen=True)
class RepresentationField:
    """One field copied from a merged entity object into an `_entities` representation.

    `types`: the concrete types it applies to (a fragment in the field set), None for all;
    `key`: a key field, without which (null) the object cannot be referenced at all."""

    data_key: str
    name: str
    children: tuple[RepresentationField, ...] = ()
    types: frozenset[str] | None = None
    key: bool = False
    typename: bool = False


def representation_slot(rep: RepresentationField) -> str:
    """Where a representation field sits: its name, under the types it applies to."""
    return rep.name if rep.types is None else rep.name + "|" + ",".join(sorted(rep.types))


def merge_representation(
    existing: RepresentationField | None, new: RepresentationField
) -> RepresentationField:
    """One representation field from two field sets asking for it (their children united)."""
    if existing is None:
        return new
    children = {representation_slot(c): c for c in existing.children}
    for child in new.children:
        slot = representation_slot(child)
        children[slot] = merge_representation(children.get(slot), child)
    return replace(
        existing,
        children=tuple(children.values()),
        key=existing.key or new.key,
        typename=existing.typename or new.typename,
    )


@dataclass(eq=False)
class Fetch:
    """One subgraph operation: the root fields of a graph, or entities at a response path."""

    graph: str
    selection: Selection
    type_name: str
    path: tuple[str, ...] = ()
    is_entity: bool = False
    # The __typename values of the objects at `path` this fetch takes; None: every object.
    matches: frozenset[str] | None = None
    representation: dict[str, RepresentationField] = field(default_factory=dict)
    depends_on: set[Fetch] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)
    # Response keys renamed in the subgraph query because sibling fragments disagree on types.
    renamed: frozenset[str] = frozenset()

    def depends_transitively_on(self, other: Fetch) -> bool:
        pending = list(self.depends_on)
        seen: set[int] = set()
        while pending:
            current = pending.pop()
            if current is other:
                return True
            if id(current) in seen:
                continue
            seen.add(id(current))
            pending.extend(current.depends_on)
        return False


@dataclass
class Request:
    """The single HTTP request a plan step sends to one subgraph."""

    graph: str
    fetches: list[Fetch]
    operation: str
    variables: tuple[str, ...]


@dataclass
class Phase:
    """Steps run one after another; the requests inside a step run in parallel."""

    steps: list[list[Request]]


@dataclass
class QueryPlan:
    """Phases run in order: one for a query, one per group of mutation root fields."""

    phases: list[Phase]
    operation_type: str

    @property
    def request_count(self) -> int:
        return sum(len(step) for phase in self.phases for step in phase.steps)

"""Query plan data: subgraph selections, fetches, and the requests each plan step sends."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.errors import PlanningError

# Fields the gateway adds for its own needs (keys, @requires inputs) carry this alias prefix,
# so they never collide with a client's response keys.
INTERNAL_PREFIX = "_k_"
REPRESENTATIONS_PREFIX = "_r"


@dataclass
class SelectedField:
    name: str
    arguments: str = ""
    selection: Selection | None = None


@dataclass
class Selection:
    """A subgraph selection set under construction, keyed by response key."""

    fields: dict[str, SelectedField] = field(default_factory=dict)
    fragments: dict[str, Selection] = field(default_factory=dict)
    typename: bool = False

    def add(self, key: str, name: str, arguments: str, composite: bool) -> SelectedField:
        existing = self.fields.get(key)
        if existing is None:
            existing = SelectedField(name, arguments, Selection() if composite else None)
            self.fields[key] = existing
        elif existing.name != name or existing.arguments != arguments:
            raise PlanningError(f"response key {key!r} is used for two different fields")
        return existing

    def fragment(self, type_name: str) -> Selection:
        return self.fragments.setdefault(type_name, Selection())

    def render(self) -> str:
        parts = ["__typename"] if self.typename else []
        for key, selected in self.fields.items():
            head = selected.name if key == selected.name else f"{key}: {selected.name}"
            text = head + selected.arguments
            if selected.selection is not None:
                text += " { " + selected.selection.render() + " }"
            parts.append(text)
        for type_name, nested in self.fragments.items():
            parts.append(f"... on {type_name} {{ {nested.render()} }}")
        return " ".join(parts)


@dataclass(frozen=True)
class RepresentationField:
    """One field copied from a merged entity object into an `_entities` representation."""

    data_key: str
    name: str
    children: tuple[RepresentationField, ...] = ()


@dataclass(eq=False)
class Fetch:
    """One subgraph operation: the root fields of a graph, or entities at a response path."""

    graph: str
    selection: Selection
    type_name: str
    path: tuple[str, ...] = ()
    is_entity: bool = False
    representation: dict[str, RepresentationField] = field(default_factory=dict)
    depends_on: set[Fetch] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)


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

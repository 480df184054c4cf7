"""Typed errors raised by composition, supergraph loading and planning."""

from __future__ import annotations


class CompositionError(Exception):
    """Subgraph schemas cannot be composed; names the type, field and subgraphs at fault."""

    def __init__(
        self,
        message: str,
        *,
        type_name: str | None = None,
        field_name: str | None = None,
        subgraphs: tuple[str, ...] = (),
    ) -> None:
        self.type_name = type_name
        self.field_name = field_name
        self.subgraphs = subgraphs
        coordinate = type_name or ""
        if field_name:
            coordinate = f"{coordinate}.{field_name}"
        where = f" [{coordinate}]" if coordinate else ""
        graphs = f" (subgraphs: {', '.join(subgraphs)})" if subgraphs else ""
        super().__init__(f"{message}{where}{graphs}")


class SupergraphError(Exception):
    """A supergraph document is not a valid join/v0.3 supergraph."""


class PlanningError(Exception):
    """An operation cannot be planned against the supergraph."""

"""Rows to domain objects and back, for SQLAlchemy's rows and asyncpg's records alike (both
are read by column name). The opportunity's and the activity's columns are their domain
fields: the one field list is the dataclass (a unit test holds the tables to it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from crmkit.rows import from_columns
from crmkit.values import search_form
from services.pipeline import domain as d


class Record(Protocol):
    """A row read by column name: ``row._mapping`` of SQLAlchemy, an asyncpg record."""

    def __getitem__(self, key: str, /) -> Any: ...

# The opportunity's nested parts and the prefix of their columns.
_PARTS: dict[str, tuple[Any, str]] = {
    "qualification": (d.Qualification, ""),
    "negotiation": (d.Negotiation, "negotiation_"),
}
_FLAT = tuple(f.name for f in dataclasses.fields(d.Opportunity) if f.name not in _PARTS)

OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    *_FLAT,
    *(prefix + f.name for part, prefix in _PARTS.values() for f in dataclasses.fields(part)),
)
ACTIVITY_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(d.Activity))
# Kept beside the fields, derived from them on every write; never read back.
DERIVED_OPPORTUNITY_COLUMNS = ("search_text",)


def opportunity_values(opp: d.Opportunity) -> dict[str, Any]:
    values = {name: getattr(opp, name) for name in _FLAT}
    values["status"] = opp.status.value
    for attribute, (part, prefix) in _PARTS.items():
        held = getattr(opp, attribute)
        values.update({prefix + f.name: getattr(held, f.name) for f in dataclasses.fields(part)})
    values["search_text"] = search_form(opp.name)
    return values


def _compiled_opportunity_of() -> Callable[[Record], d.Opportunity]:
    """The row -> opportunity mapper, written out from the dataclasses once (as dataclasses
    write their ``__init__``): a page maps 50 rows, and a generic loop over the fields cost
    three times as much CPU."""
    converted = {"status": "OpportunityStatus({})"}
    parts = {
        attribute: f"{part.__name__}(" + ", ".join(
            f"{f.name}=r[{prefix + f.name!r}]" for f in dataclasses.fields(part)) + ")"
        for attribute, (part, prefix) in _PARTS.items()
    }
    arguments = ", ".join(
        f"{name}={parts[name]}" if name in parts
        else f"{name}={converted.get(name, '{}').format(f'r[{name!r}]')}"
        for name in (f.name for f in dataclasses.fields(d.Opportunity))
    )
    namespace = {"Opportunity": d.Opportunity, "OpportunityStatus": d.OpportunityStatus,
                 "Qualification": d.Qualification, "Negotiation": d.Negotiation}
    exec(f"def opportunity_of(r):\n    return Opportunity({arguments})", namespace)  # noqa: S102
    compiled: Callable[[Record], d.Opportunity] = namespace["opportunity_of"]  # type: ignore[assignment]
    return compiled


opportunity_of = _compiled_opportunity_of()


def activity_values(a: d.Activity) -> dict[str, Any]:
    values = {name: getattr(a, name) for name in ACTIVITY_COLUMNS}
    values["kind"] = a.kind.value
    values["status"] = a.status.value
    return values


def activity_of(r: Record) -> d.Activity:
    return from_columns(d.Activity, r, kind=d.ActivityKind(r["kind"]),
                        status=d.ActivityStatus(r["status"]))


def stage_values(org_id: Any, stage: d.Stage) -> dict[str, Any]:
    return {
        "id": stage.id, "org_id": org_id, "pipeline_id": stage.pipeline_id, "name": stage.name,
        "position": stage.position, "probability": stage.probability, "kind": stage.kind.value,
        "rotting_days": stage.rotting_days, "requirements": [r.value for r in stage.requirements],
    }


def stage_of(r: Record, *, prefix: str = "") -> d.Stage:
    """A stage; ``prefix`` names its columns in a join (``stage_id``, ``stage_name``)."""
    return d.Stage(
        id=r[f"{prefix}id"], pipeline_id=r["pipeline_id"], name=r[f"{prefix}name"],
        position=r["position"], probability=r["probability"], kind=d.StageKind(r["kind"]),
        rotting_days=r["rotting_days"],
        requirements=tuple(d.Requirement(x) for x in r["requirements"]),
    )


def lost_reason_of(r: Record) -> d.LostReason:
    return from_columns(d.LostReason, r)


def stage_change_of(r: Record) -> d.StageChange:
    return from_columns(d.StageChange, r)

"""The API's typed errors, as the pages show them: a message, field errors keyed by the form
field they belong to, and the details some carry (a gate's missing items, what fits a cap)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web.api import InvalidInput
from web.i18n import N_
from web.i18n import gettext as _

REQUIREMENT_LABELS = {
    "CONTACT_MADE": N_("A contact made with the client"),
    "NEXT_CONTACT_SCHEDULED": N_("The next contact scheduled"),
    "NEEDS": N_("The client's needs"),
    "PAIN_POINTS": N_("The client's pain points"),
    "BUDGET": N_("The client's budget"),
    "DECISION_MAKER": N_("The decision makers"),
    "OFFER_ISSUED": N_("An offer issued"),
    "CLOSE_REASON": N_("The reason it was lost"),
    "CLOSE_COMMENT": N_("A closing comment"),
}


def requirement_label(code: str) -> str:
    return _(REQUIREMENT_LABELS.get(code, code))


@dataclass
class Problem:
    kind: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def problem_of(result: dict[str, Any], field_names: dict[str, str] | None = None) -> Problem | None:
    """None for a success payload; else the typed error, with ``ValidationError`` paths mapped to
    form field names (``field_names``: the dotted path, or its last element that is no list
    index, -> the form's field; by default that element)."""
    kind = result.get("__typename", "")
    if kind.endswith("Payload") or kind in ("ImportReport", "ExchangeRates"):
        return None
    message = str(result.get("message") or _("The request was refused"))
    if kind == "ValidationError":
        fields: dict[str, str] = {}
        for error in result.get("fields") or []:
            path = [str(p) for p in error.get("path") or []]
            fields.setdefault(form_field(path, field_names), str(error.get("message")))
        return Problem(kind, message, fields)
    if kind == "VersionConflict":
        message = _("Someone else changed this in the meantime; here is the current version.")
    if kind == "Forbidden":
        message = _("You are not allowed to do this.") + " " + message
    if kind == "NotFound":
        message = _("It no longer exists or you cannot see it.")
    details = {k: v for k, v in result.items() if k not in ("__typename", "message")}
    return Problem(kind, message, {}, details)


def form_field(path: list[str], field_names: dict[str, str] | None = None) -> str:
    """The form field a value's path (``input.tags.1``) belongs to: ``field_names`` maps the
    dotted path, or its last element that is no list index, to the form's field; by default
    that element. A list item's path ends with its index: its form field is the list's."""
    names = field_names or {}
    last = next((p for p in reversed(path) if not p.isdigit()), "")
    return names.get(".".join(path), names.get(last, last))


def refused_input(error: InvalidInput, field_names: dict[str, str] | None = None) -> Problem:
    """A query's variable the API refused whole (a control character in a search box), as a
    field error on the box it came from (``field_names`` as for :func:`form_field`)."""
    return Problem("ValidationError", error.problem,
                   {form_field(error.path, field_names): error.problem})


FIX_LABELS = {
    "CONTACT_MADE": N_("log the contact"),
    "NEXT_CONTACT_SCHEDULED": N_("schedule it"),
    "NEEDS": N_("fill in"),
    "PAIN_POINTS": N_("fill in"),
    "BUDGET": N_("fill in"),
    "DECISION_MAKER": N_("fill in"),
    "OFFER_ISSUED": N_("issue an offer"),
}


def fix_label(item: str) -> str:
    """What the link beside a missing gate item does."""
    return _(FIX_LABELS.get(item, "fix it"))


# The fields the pages show of each typed error.
ERROR_FIELDS = {
    "ValidationError": "message fields { path message }",
    "NotFound": "message",
    "Forbidden": "message",
    "VersionConflict": "message currentVersion",
    "GateNotSatisfied": "message stageId stageName missing",
    "CapExceeded": "message memberId leadCap activeLeads requested fits",
    "InvalidLeadState": "message status",
    "DuplicateLead": "message existingLeadId matchedOn",
}


def on(*types: str) -> str:
    """Selections of these typed errors (the members of a mutation's result union)."""
    return " ".join(f"... on {name} {{ {ERROR_FIELDS[name]} }}" for name in types)

"""A variable's value an operation cannot take (``Int`` given ``"soon"``, a Decimal that is
none) is the caller's input: ``BAD_USER_INPUT`` with the variable it is in ``variablePath``,
as the service edge names the variable of a control character. One rule for the gateway's
refusals and every service's, so a client can show each where that value was typed."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, VariableDefinitionNode

BAD_USER_INPUT = "BAD_USER_INPUT"


def refused_variable(error: GraphQLError) -> dict[str, Any] | None:
    """``error`` as the client sees it when it refuses a variable's value; None when it is
    about something else (or already coded)."""
    if error.path is not None or (error.extensions or {}).get("code"):
        return None
    names = [n.variable.name.value for n in error.nodes or ()
             if isinstance(n, VariableDefinitionNode)]
    if not names:
        return None
    formatted: dict[str, Any] = dict(error.formatted)
    formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": BAD_USER_INPUT,
                               "variablePath": names[:1]}
    return formatted

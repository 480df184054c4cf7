"""What the gateway refuses when a supergraph loads: features it cannot execute faithfully.

Per the link spec, a consumer must refuse a schema that links a spec `for: SECURITY` or
`for: EXECUTION` it does not implement, since ignoring it would answer wrongly (or leak data).
The gateway implements `join` (v0.1-v0.5) and `inaccessible`; `@fromContext` arguments
(`join__field(contextArguments:)`) and `@join__directive` applications (connectors) are refused
too. Each refusal names the type, the field where there is one, and the directive.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumValueNode,
    SchemaDefinitionNode,
    StringValueNode,
    TypeDefinitionNode,
)

from gateway.errors import SupergraphError

# Specs the gateway implements; any other spec linked for SECURITY or EXECUTION is refused.
SUPPORTED_SPECS = frozenset({"link", "core", "join", "inaccessible"})


def check_supported(document: DocumentNode) -> None:
    for name, url, purpose in _critical_links(document):
        if name in SUPPORTED_SPECS:
            continue
        where = next(_usages(document, name), None)
        place = f"{where[0]} uses @{where[1]}" if where else f"the schema links @{name}"
        raise SupergraphError(
            f"{place} ({url}, for: {purpose}), which this gateway does not implement; "
            "the supergraph is refused rather than served without it"
        )
    for coordinate, directive in _directive_uses(document):
        if directive.name.value == "join__directive":
            applied = _string(directive, "name") or "?"
            raise SupergraphError(
                f"{coordinate} uses @{applied} (carried by @join__directive), which this "
                "gateway does not implement"
            )
        if directive.name.value == "join__field" and any(
            a.name.value == "contextArguments" for a in directive.arguments or ()
        ):
            raise SupergraphError(
                f"{coordinate} uses @fromContext (join__field contextArguments), which this "
                "gateway does not implement"
            )


def _string(directive: DirectiveNode, name: str) -> str | None:
    for argument in directive.arguments or ():
        if argument.name.value == name and isinstance(argument.value, StringValueNode):
            return argument.value.value
    return None


def _critical_links(document: DocumentNode) -> Iterator[tuple[str, str, str]]:
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value not in ("link", "core"):
                continue
            url = _string(directive, "url") or _string(directive, "feature") or ""
            purpose = next(
                (
                    a.value.value
                    for a in directive.arguments or ()
                    if a.name.value == "for" and isinstance(a.value, EnumValueNode)
                ),
                None,
            )
            if purpose not in ("SECURITY", "EXECUTION"):
                continue
            parts = [p for p in url.rstrip("/").split("/") if p]
            spec = parts[-2] if len(parts) >= 2 else url
            yield _string(directive, "as") or spec, url, purpose


def _usages(document: DocumentNode, spec: str) -> Iterator[tuple[str, str]]:
    for coordinate, directive in _directive_uses(document):
        name = directive.name.value
        if name == spec or name.startswith(spec + "__"):
            yield coordinate, name


def _directive_uses(document: DocumentNode) -> Iterator[tuple[str, DirectiveNode]]:
    """Every directive application on a type, field, argument or enum value, with its place."""
    for definition in document.definitions:
        if not isinstance(definition, TypeDefinitionNode):
            continue
        type_name = definition.name.value
        for directive in definition.directives or ():
            yield f"type {type_name}", directive
        for member in [
            *(getattr(definition, "fields", None) or ()),
            *(getattr(definition, "values", None) or ()),
        ]:
            coordinate = f"{type_name}.{member.name.value}"
            for directive in member.directives or ():
                yield coordinate, directive
            for argument in getattr(member, "arguments", None) or ():
                for directive in argument.directives or ():
                    yield f"{coordinate}({argument.name.value}:)", directive

"""Compose subgraph SDLs into a join/v0.3 supergraph, enforcing the federation 2 rules."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from graphql import ListTypeNode, NamedTypeNode, NonNullTypeNode, TypeNode, print_ast
from graphql.language.block_string import print_block_string

from gateway.errors import CompositionError, SupergraphError
from gateway.field_set import field_nodes, parse_field_set
from gateway.subgraph import Subgraph, SubgraphField, SubgraphSchema, SubgraphType, parse_subgraph
from gateway.supergraph import load_supergraph
from gateway.supergraph_header import SUPERGRAPH_HEADER, graph_enum_name

__all__ = [
    "Subgraph",
    "compose",
    "compose_from_urls",
    "fetch_sdl",
    "write_supergraph",
]

_SDL_QUERY = b'{"query":"{ _service { sdl } }"}'
_BUILTIN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})


@dataclass(frozen=True)
class _Definition:
    """One subgraph's definition of a type."""

    graph: str
    schema: SubgraphSchema
    type: SubgraphType


def compose(subgraphs: Sequence[Subgraph]) -> str:
    """Compose subgraphs into supergraph SDL; raise CompositionError naming what is at fault."""
    if not subgraphs:
        raise CompositionError("no subgraphs to compose")
    schemas = [parse_subgraph(s) for s in subgraphs]
    enum_names = _graph_enum_names(schemas)
    by_type: dict[str, list[_Definition]] = {}
    for schema in schemas:
        for sg_type in schema.types.values():
            by_type.setdefault(sg_type.name, []).append(_Definition(schema.name, schema, sg_type))
    for name, definitions in by_type.items():
        _check_kinds(name, definitions)
    for schema in schemas:
        _check_field_sets(schema)
    printer = _Printer(enum_names)
    root_names = [n for n in ("Query", "Mutation", "Subscription") if n in by_type]
    if "Query" not in by_type:
        raise CompositionError("no subgraph defines a Query type", type_name="Query")
    header = SUPERGRAPH_HEADER
    if any(f.override_label for s in schemas for t in s.types.values() for f in t.fields.values()):
        # join v0.4's argument, declared only when a progressive override uses it.
        header = header.replace(
            "usedOverridden: Boolean)", "usedOverridden: Boolean, overrideLabel: String)"
        )
    blocks = [_schema_block(root_names), header, _graph_enum(schemas, enum_names)]
    for name in sorted(by_type):
        blocks.append(printer.type_block(name, by_type[name]))
    text = "\n\n".join(blocks) + "\n"
    try:
        load_supergraph(text)
    except SupergraphError as error:
        raise CompositionError(f"composed supergraph is invalid: {error}") from error
    return text


async def fetch_sdl(client: httpx.AsyncClient, url: str) -> str:
    """Ask a running subgraph for its SDL through `_service { sdl }`."""
    response = await client.post(
        url, content=_SDL_QUERY, headers={"content-type": "application/json"}
    )
    response.raise_for_status()
    body = orjson.loads(response.content)
    if body.get("errors"):
        raise CompositionError(f"subgraph at {url} refused _service: {body['errors']}")
    sdl = body["data"]["_service"]["sdl"]
    if not isinstance(sdl, str):
        raise CompositionError(f"subgraph at {url} returned no SDL")
    return sdl


async def compose_from_urls(subgraphs: dict[str, str], *, wait_seconds: float = 10.0) -> str:
    """Fetch each subgraph's SDL from its URL (name -> URL) and compose them."""
    async with httpx.AsyncClient(timeout=wait_seconds) as client:
        sdls = await asyncio.gather(*(fetch_sdl(client, url) for url in subgraphs.values()))
    return compose([Subgraph(n, u, s) for (n, u), s in zip(subgraphs.items(), sdls, strict=True)])


def compose_from_files(subgraphs: dict[str, tuple[str, Path]]) -> str:
    """Compose from SDL files: name -> (routing URL, path of the SDL file)."""
    return compose(
        [Subgraph(name, url, path.read_text()) for name, (url, path) in subgraphs.items()]
    )


def write_supergraph(
    path: Path | str,
    subgraphs: Sequence[Subgraph] | None = None,
    *,
    urls: dict[str, str] | None = None,
) -> str:
    """Compose (from given subgraphs, or from running services at `urls`) and write the file."""
    if subgraphs is not None:
        text = compose(subgraphs)
    elif urls is not None:
        text = asyncio.run(compose_from_urls(urls))
    else:
        raise ValueError("write_supergraph needs subgraphs or urls")
    Path(path).write_text(text)
    return text


def _graph_enum_names(schemas: Iterable[SubgraphSchema]) -> dict[str, str]:
    names: dict[str, str] = {}
    for schema in schemas:
        enum_name = graph_enum_name(schema.name)
        if enum_name in names.values() or schema.name in names:
            raise CompositionError("two subgraphs share a name", subgraphs=(schema.name,))
        names[schema.name] = enum_name
    return names


def _schema_block(root_names: Sequence[str]) -> str:
    roots = "\n".join(f"  {name.lower()}: {name}" for name in root_names)
    return (
        "schema\n"
        '  @link(url: "https://specs.apollo.dev/link/v1.0")\n'
        '  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)\n'
        '  @link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)\n'
        "{\n" + roots + "\n}"
    )


def _graph_enum(schemas: Sequence[SubgraphSchema], enum_names: dict[str, str]) -> str:
    lines = [
        f"  {enum_names[s.name]} @join__graph(name: {_quote(s.name)}, url: {_quote(s.url)})"
        for s in schemas
    ]
    return "enum join__Graph {\n" + "\n".join(lines) + "\n}"


def _quote(value: str) -> str:
    return orjson.dumps(value).decode()


def _check_kinds(name: str, definitions: list[_Definition]) -> None:
    kinds = {d.type.kind for d in definitions}
    if len(kinds) > 1:
        raise CompositionError(
            f"type is defined with different kinds ({', '.join(sorted(kinds))})",
            type_name=name,
            subgraphs=tuple(d.graph for d in definitions),
        )


def _named_type(type_node: TypeNode) -> str:
    while isinstance(type_node, (NonNullTypeNode, ListTypeNode)):
        type_node = type_node.type
    assert isinstance(type_node, NamedTypeNode)
    return type_node.name.value


def _check_field_sets(schema: SubgraphSchema) -> None:
    """Keys, @requires and @provides must name fields that exist where they are used."""
    for sg_type in schema.types.values():
        for key in sg_type.keys:
            missing = _missing_field(schema, sg_type.name, key.fields)
            if missing:
                raise CompositionError(
                    f"@key(fields: {key.fields!r}) names field {missing!r} that does not exist",
                    type_name=sg_type.name,
                    field_name=missing.rsplit(".", 1)[-1],
                    subgraphs=(schema.name,),
                )
        for sg_field in sg_type.fields.values():
            if sg_field.requires is not None:
                _check_requires(schema, sg_type, sg_field, sg_field.requires)
            if sg_field.provides is not None:
                target = _named_type(sg_field.type)
                missing = _missing_field(schema, target, sg_field.provides)
                if missing:
                    raise CompositionError(
                        f"@provides(fields: {sg_field.provides!r}) names field {missing!r} "
                        f"that does not exist on {target}",
                        type_name=sg_type.name,
                        field_name=sg_field.name,
                        subgraphs=(schema.name,),
                    )


def _check_requires(
    schema: SubgraphSchema, sg_type: SubgraphType, sg_field: SubgraphField, fields: str
) -> None:
    missing = _missing_field(schema, sg_type.name, fields)
    if missing:
        raise CompositionError(
            f"@requires(fields: {fields!r}) names field {missing!r} that does not exist",
            type_name=sg_type.name,
            field_name=sg_field.name,
            subgraphs=(schema.name,),
        )
    for node in field_nodes(parse_field_set(fields)):
        required = sg_type.fields[node.name.value]
        if not required.external:
            raise CompositionError(
                f"@requires(fields: {fields!r}) needs {sg_type.name}.{required.name} "
                "to be marked @external",
                type_name=sg_type.name,
                field_name=sg_field.name,
                subgraphs=(schema.name,),
            )


def _missing_field(schema: SubgraphSchema, type_name: str, fields: str) -> str | None:
    """The first field of a field set that the subgraph's type lacks, as Type.field."""
    try:
        selection = parse_field_set(fields)
    except ValueError:
        return fields
    pending = [(type_name, selection)]
    while pending:
        current, selection_set = pending.pop()
        sg_type = schema.types.get(current)
        for node in field_nodes(selection_set):
            if node.name.value == "__typename":
                continue
            if sg_type is None or node.name.value not in sg_type.fields:
                return f"{current}.{node.name.value}"
            if node.selection_set is not None:
                child = _named_type(sg_type.fields[node.name.value].type)
                pending.append((child, node.selection_set))
    return None


def _merge_output_types(a: TypeNode, b: TypeNode) -> TypeNode | None:
    """The most nullable type both subgraph types fit in, or None when they conflict."""
    a_inner = a.type if isinstance(a, NonNullTypeNode) else a
    b_inner = b.type if isinstance(b, NonNullTypeNode) else b
    if isinstance(a_inner, ListTypeNode) and isinstance(b_inner, ListTypeNode):
        item = _merge_output_types(a_inner.type, b_inner.type)
        if item is None:
            return None
        merged: TypeNode = ListTypeNode(type=item)
    elif isinstance(a_inner, NamedTypeNode) and isinstance(b_inner, NamedTypeNode):
        if a_inner.name.value != b_inner.name.value:
            return None
        merged = a_inner
    else:
        return None
    both_non_null = isinstance(a, NonNullTypeNode) and isinstance(b, NonNullTypeNode)
    if both_non_null and isinstance(merged, (NamedTypeNode, ListTypeNode)):
        return NonNullTypeNode(type=merged)
    return merged


def _key_field_names(sg_type: SubgraphType) -> set[str]:
    names: set[str] = set()
    for key in sg_type.keys:
        names.update(n.name.value for n in field_nodes(parse_field_set(key.fields)))
    return names


def _required_names(sg_type: SubgraphType) -> set[str]:
    names: set[str] = set()
    for sg_field in sg_type.fields.values():
        if sg_field.requires:
            names.update(n.name.value for n in field_nodes(parse_field_set(sg_field.requires)))
    return names


class _Printer:
    """Prints merged types with their join__ directives."""

    def __init__(self, enum_names: dict[str, str]) -> None:
        self._enum = enum_names

    def type_block(self, name: str, definitions: list[_Definition]) -> str:
        kind = definitions[0].type.kind
        description = next((d.type.description for d in definitions if d.type.description), None)
        head = _description_lines(description, "")
        directives = self._type_directives(definitions)
        if any(d.type.inaccessible for d in definitions):
            directives.append("@inaccessible")
        if kind in ("object", "interface"):
            interfaces: list[str] = []
            for d in definitions:
                interfaces.extend(i for i in d.type.interfaces if i not in interfaces)
            for d in definitions:
                directives.extend(
                    f"@join__implements(graph: {self._enum[d.graph]}, interface: {_quote(i)})"
                    for i in d.type.interfaces
                )
            keyword = "type" if kind == "object" else "interface"
            implements = f" implements {' & '.join(interfaces)}" if interfaces else ""
            body = self._object_fields(name, kind, definitions)
            return (
                f"{head}{keyword} {name}{implements}{_directive_lines(directives)}\n{{\n{body}\n}}"
            )
        if kind == "union":
            members: list[str] = []
            for d in definitions:
                members.extend(m for m in d.type.members if m not in members)
                directives.extend(
                    f"@join__unionMember(graph: {self._enum[d.graph]}, member: {_quote(m)})"
                    for m in d.type.members
                )
            return f"{head}union {name}{_directive_lines(directives)}\n  = {' | '.join(members)}"
        if kind == "enum":
            values = self._enum_values(definitions)
            return f"{head}enum {name}{_directive_lines(directives)}\n{{\n{values}\n}}"
        if kind == "input":
            body = self._input_fields(name, definitions)
            return f"{head}input {name}{_directive_lines(directives)}\n{{\n{body}\n}}"
        return f"{head}scalar {name}{_directive_lines(directives)}"

    def _type_directives(self, definitions: list[_Definition]) -> list[str]:
        directives: list[str] = []
        for d in definitions:
            graph = self._enum[d.graph]
            extension = ", extension: true" if d.type.extension and d.type.keys else ""
            if not d.type.keys:
                directives.append(f"@join__type(graph: {graph})")
            for key in d.type.keys:
                resolvable = "" if key.resolvable else ", resolvable: false"
                directives.append(
                    f"@join__type(graph: {graph}, key: {_quote(key.fields)}{extension}{resolvable})"
                )
        return directives

    def _enum_values(self, definitions: list[_Definition]) -> str:
        values: dict[str, list[str]] = {}
        hidden: set[str] = set()
        descriptions: dict[str, str | None] = {}
        for d in definitions:
            for value, inaccessible in d.type.enum_values.items():
                values.setdefault(value, []).append(self._enum[d.graph])
                descriptions.setdefault(value, d.type.enum_descriptions.get(value))
                if inaccessible:
                    hidden.add(value)
        lines = []
        for value, graphs in values.items():
            directives = [f"@join__enumValue(graph: {g})" for g in graphs]
            if value in hidden:
                directives.append("@inaccessible")
            lines.append(
                _description_lines(descriptions[value], "  ") + f"  {value} {' '.join(directives)}"
            )
        return "\n".join(lines)

    def _input_fields(self, type_name: str, definitions: list[_Definition]) -> str:
        # Input types compose to the fields every subgraph accepts.
        common = [
            n for n in definitions[0].type.fields if all(n in d.type.fields for d in definitions)
        ]
        for d in definitions:
            for sg_field in d.type.fields.values():
                if sg_field.name in common:
                    continue
                if isinstance(sg_field.type, NonNullTypeNode) and sg_field.default_value is None:
                    raise CompositionError(
                        "required input field is not defined in every subgraph",
                        type_name=type_name,
                        field_name=sg_field.name,
                        subgraphs=(d.graph,),
                    )
        lines = []
        for field_name in common:
            fields = [d.type.fields[field_name] for d in definitions]
            first = fields[0]
            if any(print_ast(f.type) != first.type_text for f in fields):
                raise CompositionError(
                    "input field has conflicting types",
                    type_name=type_name,
                    field_name=field_name,
                    subgraphs=tuple(d.graph for d in definitions),
                )
            default = f" = {print_ast(first.default_value)}" if first.default_value else ""
            extra = " @inaccessible" if any(f.inaccessible for f in fields) else ""
            joins = "".join(f" @join__field(graph: {self._enum[d.graph]})" for d in definitions)
            lines.append(
                _description_lines(first.description, "  ")
                + f"  {field_name}: {first.type_text}{default}{joins}{extra}"
            )
        return "\n".join(lines)

    def _object_fields(self, type_name: str, kind: str, definitions: list[_Definition]) -> str:
        field_names: list[str] = []
        for d in definitions:
            field_names.extend(f for f in d.type.fields if f not in field_names)
        return "\n".join(
            self._object_field(type_name, kind, field_name, definitions)
            for field_name in field_names
        )

    def _object_field(
        self, type_name: str, kind: str, field_name: str, definitions: list[_Definition]
    ) -> str:
        present = [
            (d, d.type.fields[field_name]) for d in definitions if field_name in d.type.fields
        ]
        graphs = tuple(d.graph for d, _ in present)
        merged_type = present[0][1].type
        for _, sg_field in present[1:]:
            merged = _merge_output_types(merged_type, sg_field.type)
            if merged is None:
                raise CompositionError(
                    f"field has conflicting types ({print_ast(merged_type)} vs "
                    f"{sg_field.type_text})",
                    type_name=type_name,
                    field_name=field_name,
                    subgraphs=graphs,
                )
            merged_type = merged
        overridden = {
            f.override
            for _, f in present
            if f.override and not f.external and f.override_label is None
        }
        # A progressive override leaves the field with its old subgraph while its label is
        # off: both resolve it, one at a time.
        labelled: dict[str, str] = {
            f.override: f.override_label
            for _, f in present
            if f.override and not f.external and f.override_label is not None
        }
        resolving = [(d, f) for d, f in present if not f.external and d.graph not in overridden]
        if not resolving:
            raise CompositionError(
                "field is @external in every subgraph that defines it; no subgraph resolves it",
                type_name=type_name,
                field_name=field_name,
                subgraphs=graphs,
            )
        if len(resolving) - len(labelled) > 1 and kind == "object":
            unshared = [
                d.graph
                for d, f in resolving
                if not f.shareable
                and field_name not in _key_field_names(d.type)
                and d.graph not in labelled
            ]
            if unshared:
                raise CompositionError(
                    "non-shareable field is resolved by several subgraphs; mark it @shareable "
                    "everywhere or use @override",
                    type_name=type_name,
                    field_name=field_name,
                    subgraphs=tuple(d.graph for d, _ in resolving),
                )
        merged_text = print_ast(merged_type)
        special = any(
            f.external or f.requires or f.provides or f.override or f.type_text != merged_text
            for _, f in present
        )
        joins: list[str] = []
        if special or len(present) != len(definitions) or overridden:
            joins = self._join_fields(field_name, present, merged_text, overridden, labelled)
        first = present[0][1]
        arguments = _print_arguments(first)
        extra = [f"@join__field({j})" for j in joins]
        deprecation = next((f.deprecation for _, f in present if f.deprecation), None)
        if deprecation is not None:
            extra.append(print_ast(deprecation))
        if any(f.inaccessible for _, f in present):
            extra.append("@inaccessible")
        suffix = (" " + " ".join(extra)) if extra else ""
        description = next((f.description for _, f in present if f.description), None)
        return (
            _description_lines(description, "  ")
            + f"  {field_name}{arguments}: {merged_text}{suffix}"
        )

    def _join_fields(
        self,
        field_name: str,
        present: list[tuple[_Definition, SubgraphField]],
        merged_text: str,
        overridden: set[str],
        labelled: dict[str, str],
    ) -> list[str]:
        joins: list[str] = []
        for d, sg_field in present:
            args = [f"graph: {self._enum[d.graph]}"]
            if d.graph in labelled and not sg_field.external:
                args.append(f"overrideLabel: {_quote(labelled[d.graph])}")
            if d.graph in overridden:
                used = field_name in _key_field_names(d.type) | _required_names(d.type)
                if not used:
                    continue
                args.append("usedOverridden: true")
            if sg_field.requires:
                args.append(f"requires: {_quote(sg_field.requires)}")
            if sg_field.provides:
                args.append(f"provides: {_quote(sg_field.provides)}")
            if sg_field.type_text != merged_text:
                args.append(f"type: {_quote(sg_field.type_text)}")
            if sg_field.external:
                args.append("external: true")
            if sg_field.override and not sg_field.external:
                args.append(f"override: {_quote(sg_field.override)}")
                if sg_field.override_label is not None:
                    args.append(f"overrideLabel: {_quote(sg_field.override_label)}")
            joins.append(", ".join(args))
        return joins


def _print_arguments(sg_field: SubgraphField) -> str:
    if not sg_field.arguments:
        return ""
    printed = []
    for argument in sg_field.arguments:
        text = f"{argument.name.value}: {print_ast(argument.type)}"
        if argument.default_value is not None:
            text += f" = {print_ast(argument.default_value)}"
        for directive in argument.directives or ():
            if directive.name.value == "deprecated":
                text += " " + print_ast(directive)
        printed.append(text)
    return "(" + ", ".join(printed) + ")"


def _description_lines(description: str | None, indent: str) -> str:
    if not description:
        return ""
    block = print_block_string(description)
    return "\n".join(indent + line for line in block.split("\n")) + "\n"


def _directive_lines(directives: list[str]) -> str:
    return "".join(f"\n  {d}" for d in directives)

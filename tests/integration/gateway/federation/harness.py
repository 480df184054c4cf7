"""Small federation subgraphs for gateway tests, built from SDL with graphql-core.

A `SubgraphSpec` is a subgraph's SDL (as it would serve from `_service { sdl }`) with its data:
resolvers for root fields and fields that take arguments, and a reference resolver per entity
type. `SubgraphServer` turns it into a subgraph over HTTP (ASGI, in process) that answers
`_entities` and `_service` as the Federation v2 subgraph spec says, counts the requests it gets
and keeps their bodies. `Federation` puts a gateway in front of such subgraphs, on the
supergraph composed from them (the `.graphql` file of the case).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import orjson
from graphql import (
    DocumentNode,
    GraphQLResolveInfo,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    Node,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    build_ast_schema,
    graphql_sync,
    parse,
)
from starlette.types import Receive, Scope, Send

from gateway.engine import Gateway
from gateway.supergraph import Supergraph, load_supergraph
from gateway.transport import SubgraphClient

Resolver = Callable[..., Any]
Reference = Callable[[dict[str, Any]], dict[str, Any] | None]
CASES = Path(__file__).with_name("cases")

_FEDERATION_TYPES = """
scalar _Any
type _Service { sdl: String }
"""


@dataclass
class SubgraphSpec:
    name: str
    sdl: str
    # Root fields and fields with arguments: {"Query": {"users": fn(parent, info, **args)}}
    resolvers: dict[str, dict[str, Resolver]] = field(default_factory=dict)
    # Entity types (and entity interfaces): representation -> object with `__typename`, or None
    references: dict[str, Reference] = field(default_factory=dict)


def _strip_directives(node: Any) -> Any:
    """The SDL without federation directives (graphql-core does not know their definitions)."""
    if isinstance(node, tuple):
        return tuple(_strip_directives(n) for n in node)
    if not isinstance(node, Node):
        return node
    changes = {}
    for key in node.keys:
        value = getattr(node, key)
        if key == "directives":
            changes[key] = ()
        elif isinstance(value, (Node, tuple)):
            changes[key] = _strip_directives(value)
    return replace(node, **changes)


def _keyed_types(document: DocumentNode) -> tuple[set[str], set[str]]:
    """Object types with a resolvable @key (the `_Entity` union), and interfaces with @key."""
    objects: set[str] = set()
    interfaces: set[str] = set()
    for definition in document.definitions:
        if not isinstance(definition, (TypeDefinitionNode, TypeExtensionNode)):
            continue
        for directive in getattr(definition, "directives", None) or ():
            if directive.name.value != "key":
                continue
            resolvable = next(
                (a.value for a in directive.arguments or () if a.name.value == "resolvable"), None
            )
            if resolvable is not None and getattr(resolvable, "value", True) is False:
                continue
            if isinstance(definition, (ObjectTypeDefinitionNode, ObjectTypeExtensionNode)):
                objects.add(definition.name.value)
            elif isinstance(definition, (InterfaceTypeDefinitionNode, InterfaceTypeExtensionNode)):
                interfaces.add(definition.name.value)
    return objects, interfaces


def _as_definitions(document: DocumentNode) -> DocumentNode:
    """Federation 1 subgraphs extend types they never define: make those definitions."""
    defined = {d.name.value for d in document.definitions if isinstance(d, TypeDefinitionNode)}
    definitions: list[Any] = []
    for definition in document.definitions:
        if isinstance(definition, SchemaExtensionNode):
            continue
        if isinstance(definition, ObjectTypeExtensionNode) and definition.name.value not in defined:
            definition = ObjectTypeDefinitionNode(
                name=definition.name,
                interfaces=definition.interfaces,
                directives=definition.directives,
                fields=definition.fields,
            )
            defined.add(definition.name.value)
        elif (
            isinstance(definition, InterfaceTypeExtensionNode)
            and definition.name.value not in defined
        ):
            definition = InterfaceTypeDefinitionNode(
                name=definition.name,
                interfaces=definition.interfaces,
                directives=definition.directives,
                fields=definition.fields,
            )
            defined.add(definition.name.value)
        definitions.append(definition)
    return DocumentNode(definitions=tuple(definitions))


class SubgraphServer:
    """One subgraph over ASGI: executes operations, answers `_entities`, counts requests."""

    def __init__(self, spec: SubgraphSpec) -> None:
        self.spec = spec
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []
        self.schema = self._build()

    def _build(self) -> GraphQLSchema:
        document = _as_definitions(parse(self.spec.sdl))
        entities, _ = _keyed_types(document)
        has_query = any(
            getattr(d, "name", None) is not None and d.name.value == "Query"
            for d in document.definitions
        )
        extra = _FEDERATION_TYPES
        if entities:
            extra += f"union _Entity = {' | '.join(sorted(entities))}\n"
        root_fields = "_service: _Service!"
        if entities:
            root_fields += " _entities(representations: [_Any!]!): [_Entity]!"
        extra += ("extend type Query" if has_query else "type Query") + f" {{ {root_fields} }}\n"
        full = DocumentNode(definitions=(*document.definitions, *parse(extra).definitions))
        return build_ast_schema(_strip_directives(full), assume_valid_sdl=True)

    def _resolve_field(self, parent: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        type_resolvers = self.spec.resolvers.get(info.parent_type.name, {})
        resolver = type_resolvers.get(info.field_name)
        if resolver is not None:
            return resolver(parent, info, **args)
        if info.field_name == "_entities":
            return [self._reference(r) for r in args["representations"]]
        if info.field_name == "_service":
            return {"sdl": self.spec.sdl}
        if isinstance(parent, Mapping):
            return parent.get(info.field_name)
        return None

    def _reference(self, representation: dict[str, Any]) -> dict[str, Any] | None:
        typename = representation["__typename"]
        reference = self.spec.references.get(typename)
        if reference is None:
            return dict(representation)
        found = reference(representation)
        if found is None:
            return None
        return {"__typename": typename, **found}

    @staticmethod
    def _resolve_type(value: Any, info: GraphQLResolveInfo, abstract: Any) -> str | None:
        if isinstance(value, Mapping):
            name = value.get("__typename")
            return str(name) if name is not None else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        payload = orjson.loads(body)
        self.requests += 1
        self.bodies.append(payload)
        result = graphql_sync(
            self.schema,
            payload["query"],
            variable_values=payload.get("variables"),
            field_resolver=self._resolve_field,
            type_resolver=self._resolve_type,
        )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        content = orjson.dumps(answer)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": content})


def subgraph_url(name: str) -> str:
    return f"http://{name}.test/graphql"


@dataclass
class Federation:
    """A gateway in front of in-process subgraphs, with their request counts."""

    gateway: Gateway
    servers: dict[str, SubgraphServer]

    async def run(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = await self.gateway.execute(query, variables)
        return response.body

    def counts(self) -> dict[str, int]:
        return {name: s.requests for name, s in self.servers.items() if s.requests}

    def sent(self, name: str) -> list[dict[str, Any]]:
        return self.servers[name].bodies

    def reset(self) -> None:
        for server in self.servers.values():
            server.requests = 0
            server.bodies.clear()


def supergraph_of(case: str) -> Supergraph:
    return load_supergraph((CASES / f"{case}.graphql").read_text())


class FederationFactory:
    """Builds a `Federation` for a case; closes the HTTP clients it opened."""

    def __init__(self) -> None:
        self._clients: list[httpx.AsyncClient] = []

    def __call__(
        self,
        case: str,
        specs: list[SubgraphSpec],
        *,
        override_labels: frozenset[str] = frozenset(),
    ) -> Federation:
        servers = {spec.name: SubgraphServer(spec) for spec in specs}
        mounts: dict[str, httpx.AsyncBaseTransport] = {
            f"http://{name}.test": httpx.ASGITransport(server) for name, server in servers.items()
        }
        http = httpx.AsyncClient(mounts=mounts)
        self._clients.append(http)
        client = SubgraphClient({n: subgraph_url(n) for n in servers}, timeout=5.0, http=http)
        gateway = Gateway(supergraph_of(case), client, override_labels=override_labels)
        return Federation(gateway, servers)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

"""Two federation subgraphs for the gateway benchmark, served by uvicorn in one process.

catalog: Query.products(first) -> [Product] with id, name, price.
stock:   Product @key(id) extended with quantity and warehouse (a third hop-free entity field).
Each app counts the POSTs it receives; GET /stats returns and resets the count.

They are lean on purpose: graphql-core over the SDL with plain resolvers, parsed and validated
documents cached, uvloop and httptools. A benchmark of gateways must be bound by the gateways;
with strawberry's HTTP view a single subgraph process was the limit for both gateways being
compared, whatever they did.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from typing import Any

import orjson
import uvicorn
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    validate,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])\n'
SDL = {
    "catalog": _LINK
    + """type Query { products(first: Int = 10): [Product!]! }
type Product @key(fields: "id") { id: ID! name: String! price: Int! }
""",
    "stock": _LINK
    + """type Query { warehouses: [String!]! }
type Product @key(fields: "id") { id: ID! quantity: Int! warehouse: String! }
""",
}
# What graphql-core needs to run the SDL: the federation directive and the _entities machinery.
_RUNTIME = """
directive @key(fields: String!) repeatable on OBJECT | INTERFACE
directive @link(url: String, import: [String]) repeatable on SCHEMA
scalar _Any
type _Service { sdl: String! }
union _Entity = Product
extend type Query {
  _service: _Service!
  _entities(representations: [_Any!]!): [_Entity]!
}
"""


def _product(index: int) -> dict[str, Any]:
    return {
        "__typename": "Product",
        "id": f"p{index}",
        "name": f"Product {index}",
        "price": index * 10,
    }


def _stocked(representation: dict[str, Any]) -> dict[str, Any]:
    index = int(representation["id"][1:])
    return {
        "__typename": "Product",
        "id": representation["id"],
        "quantity": index % 7,
        "warehouse": "north" if index % 2 else "south",
    }


ROOTS: dict[str, dict[str, Callable[..., Any]]] = {
    "catalog": {"products": lambda first=10: [_product(i) for i in range(first)]},
    "stock": {
        "warehouses": lambda: ["north", "south"],
        "_entities": lambda representations: [_stocked(r) for r in representations],
    },
}


class _Subgraph:
    """POSTed GraphQL over graphql-core; counts the requests it receives."""

    def __init__(self, name: str) -> None:
        self.sdl = SDL[name]
        self.schema: GraphQLSchema = build_schema(self.sdl + _RUNTIME)
        self.roots = {**ROOTS[name], "_service": lambda: {"sdl": self.sdl}}
        self.requests = 0
        self.prepare = functools.lru_cache(maxsize=256)(self._prepare)

    def _prepare(self, query: str) -> DocumentNode | list[GraphQLError]:
        try:
            document = parse(query)
        except GraphQLError as error:
            return [error]
        errors = validate(self.schema, document)
        return errors or document

    def _resolve(self, parent: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        if parent is None:
            return self.roots[info.field_name](**args)
        return parent.get(info.field_name)

    @staticmethod
    def _type_of(value: Any, info: GraphQLResolveInfo, abstract: Any) -> str:
        return str(value["__typename"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.requests += 1
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        payload = orjson.loads(body)
        prepared = self.prepare(payload["query"])
        if isinstance(prepared, list):
            answer: dict[str, Any] = {"errors": [e.formatted for e in prepared]}
        else:
            result = execute(
                self.schema,
                prepared,
                variable_values=payload.get("variables"),
                field_resolver=self._resolve,
                type_resolver=self._type_of,
            )
            answer = {"data": result.data}
            if result.errors:
                answer["errors"] = [e.formatted for e in result.errors]
        content = orjson.dumps(answer)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def app_for(name: str) -> Starlette:
    subgraph = _Subgraph(name)

    async def stats(request: Request) -> Response:
        count = subgraph.requests
        subgraph.requests = 0
        return JSONResponse({"requests": count})

    return Starlette(routes=[Route("/graphql", subgraph, methods=["POST"]), Route("/stats", stats)])


async def serve(ports: dict[str, int]) -> None:
    servers: list[Any] = [
        uvicorn.Server(
            uvicorn.Config(
                app_for(name),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                loop="uvloop",
                http="httptools",
            )
        )
        for name, port in ports.items()
    ]
    await asyncio.gather(*(s.serve() for s in servers))


if __name__ == "__main__":
    catalog_port, stock_port = int(sys.argv[1]), int(sys.argv[2])
    asyncio.run(serve({"catalog": catalog_port, "stock": stock_port}))

"""Two strawberry subgraphs for the gateway benchmark, served by uvicorn in one process.

catalog: Query.products(first) -> [Product] with id, name, price.
stock:   Product @key(id) extended with quantity and warehouse (a third hop-free entity field).
Each app counts the POSTs it receives; GET /stats returns and resets the count.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    name: str
    price: int


@strawberry.type
class CatalogQuery:
    @strawberry.field
    def products(self, first: int = 10) -> list[Product]:
        return [
            Product(id=strawberry.ID(f"p{i}"), name=f"Product {i}", price=i * 10)
            for i in range(first)
        ]


@strawberry.federation.type(keys=["id"], name="Product")
class StockedProduct:
    id: strawberry.ID

    @strawberry.field
    def quantity(self) -> int:
        return int(self.id[1:]) % 7

    @strawberry.field
    def warehouse(self) -> str:
        return "north" if int(self.id[1:]) % 2 else "south"

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> StockedProduct:
        return cls(id=id)


@strawberry.type
class StockQuery:
    @strawberry.field
    def warehouses(self) -> list[str]:
        return ["north", "south"]


SCHEMAS = {
    "catalog": strawberry.federation.Schema(query=CatalogQuery, federation_version="2.9"),
    "stock": strawberry.federation.Schema(
        query=StockQuery, types=[StockedProduct], federation_version="2.9"
    ),
}


class _Counted:
    """ASGI wrapper counting the GraphQL POSTs a subgraph receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.requests += 1
        await self.app(scope, receive, send)


def app_for(name: str) -> Starlette:
    counted = _Counted(GraphQL[None, None](SCHEMAS[name], graphql_ide=None))

    async def stats(request: Request) -> Response:
        count = counted.requests
        counted.requests = 0
        return JSONResponse({"requests": count})

    return Starlette(routes=[Route("/graphql", counted), Route("/stats", stats)])


async def serve(ports: dict[str, int]) -> None:
    servers: list[Any] = [
        uvicorn.Server(uvicorn.Config(app_for(n), host="127.0.0.1", port=p, log_level="warning"))
        for n, p in ports.items()
    ]
    await asyncio.gather(*(s.serve() for s in servers))


if __name__ == "__main__":
    catalog_port, stock_port = int(sys.argv[1]), int(sys.argv[2])
    asyncio.run(serve({"catalog": catalog_port, "stock": stock_port}))

"""A small federated shop used to test the gateway: four strawberry subgraphs.

- products:  Product (keys `upc` and `sku variant { id }`), Book/Movie (interface Media),
             union SearchResult, an @inaccessible field, mutations, failing fields.
- reviews:   Review, Product.reviews, Review.product @provides(name), User stub, Book.reviewCount.
- inventory: Product by composite key, @external price/weight, shippingEstimate @requires.
- accounts:  User, User.username taken over from reviews with @override.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

import httpx
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

FEDERATION: Final = "2.9"


@dataclass
class Control:
    """Per-subgraph test switches and counters."""

    requests: int = 0
    delay: float = 0.0
    last_headers: dict[str, str] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- data
PRODUCTS: dict[str, dict[str, Any]] = {
    "p1": {"upc": "p1", "sku": "S1", "variant": "V1", "name": "Table", "price": 100, "weight": 10},
    "p2": {"upc": "p2", "sku": "S2", "variant": "V2", "name": "Chair", "price": 50, "weight": 4},
    "p3": {"upc": "p3", "sku": "S3", "variant": "V3", "name": "Lamp", "price": 20, "weight": 1},
}
REVIEWS: list[dict[str, Any]] = [
    {"id": "r1", "body": "Solid", "upc": "p1", "author": "u1"},
    {"id": "r2", "body": "Wobbly", "upc": "p1", "author": "u2"},
    {"id": "r3", "body": "Comfy", "upc": "p2", "author": "u1"},
]
USERS = {"u1": "ada", "u2": "grace"}
STOCK = {"S1": True, "S2": False, "S3": True}
MUTATION_LOG: list[str] = []


# ------------------------------------------------------------------------------------ products
@strawberry.federation.type(shareable=True)
class Variant:
    id: strawberry.ID


@strawberry.federation.type(keys=["upc", "sku variant { id }"])
class Product:
    upc: str
    sku: str
    variant: Variant
    name: str = strawberry.federation.field(shareable=True)
    price: int
    weight: int
    internal_code: str = strawberry.federation.field(inaccessible=True, default="X")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Product:
        return cls(
            upc=row["upc"],
            sku=row["sku"],
            variant=Variant(id=strawberry.ID(row["variant"])),
            name=row["name"],
            price=row["price"],
            weight=row["weight"],
        )

    @classmethod
    def resolve_reference(cls, **key: Any) -> Product | None:
        if "upc" in key:
            row = PRODUCTS.get(key["upc"])
        else:
            row = next((r for r in PRODUCTS.values() if r["sku"] == key["sku"]), None)
        return cls.from_row(row) if row else None

    @strawberry.field
    def broken_price(self) -> int:
        raise ValueError(f"no price for {self.upc}")


@strawberry.federation.interface
class Media:
    id: strawberry.ID
    title: str


@strawberry.federation.type(keys=["id"])
class Book(Media):
    pages: int

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Book:
        return BOOKS[id]


@strawberry.federation.type(keys=["id"])
class Movie(Media):
    minutes: int


BOOKS = {"b1": Book(id=strawberry.ID("b1"), title="Dune", pages=412)}
MOVIES = {"m1": Movie(id=strawberry.ID("m1"), title="Alien", minutes=117)}

SearchResult = Annotated[Product | Book, strawberry.union("SearchResult")]


@strawberry.type
class ProductsQuery:
    @strawberry.field
    def top_products(self, first: int = 5) -> list[Product]:
        return [Product.from_row(r) for r in list(PRODUCTS.values())[:first]]

    @strawberry.field
    def product(self, upc: str) -> Product | None:
        row = PRODUCTS.get(upc)
        return Product.from_row(row) if row else None

    @strawberry.field
    def media(self) -> list[Media]:
        return [*BOOKS.values(), *MOVIES.values()]

    @strawberry.field
    def search(self, text: str) -> list[SearchResult]:
        found: list[Any] = [Product.from_row(r) for r in PRODUCTS.values() if text in r["name"]]
        found.extend(b for b in BOOKS.values() if text in b.title)
        return found

    @strawberry.field
    def failing(self) -> str | None:
        raise ValueError("products failed on purpose")

    @strawberry.field
    def must_not_fail(self) -> str:
        raise ValueError("non-null field failed")


@strawberry.type
class ProductsMutation:
    @strawberry.mutation
    def rename_product(self, upc: str, name: str) -> Product:
        MUTATION_LOG.append(f"products.rename:{name}")
        PRODUCTS[upc]["name"] = name
        return Product.from_row(PRODUCTS[upc])


products_schema = strawberry.federation.Schema(
    query=ProductsQuery,
    mutation=ProductsMutation,
    types=[Book, Movie],
    federation_version=FEDERATION,
)


# ------------------------------------------------------------------------------------- reviews
@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    username: str = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User:
        return User(id=id, username="legacy-" + USERS[id])


@strawberry.federation.type(keys=["upc"], name="Product")
class ReviewedProduct:
    upc: str
    name: str = strawberry.federation.field(external=True)

    @strawberry.field
    def reviews(self) -> list[Review]:
        return [Review.from_row(r) for r in REVIEWS if r["upc"] == self.upc]

    @strawberry.field
    def review_summary(self, prefix: str = "") -> str | None:
        if self.upc == "p2":
            raise ValueError("no summary for p2")
        return f"{prefix}{sum(r['upc'] == self.upc for r in REVIEWS)} reviews"

    @classmethod
    def resolve_reference(cls, upc: str) -> ReviewedProduct:
        return ReviewedProduct(upc=upc, name="")


@strawberry.federation.type(keys=["id"])
class Review:
    id: strawberry.ID
    body: str
    upc: strawberry.Private[str]
    author_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Review:
        return cls(
            id=strawberry.ID(row["id"]), body=row["body"], upc=row["upc"], author_id=row["author"]
        )

    # Reviews keeps a copy of product names, so it can serve `name` here (@provides).
    product: ReviewedProduct = strawberry.federation.field(
        provides=["name"], resolver=lambda self: _reviewed_product(self.upc)
    )

    @strawberry.field
    def author(self) -> User:
        return User(id=strawberry.ID(self.author_id), username="legacy")

    @strawberry.field
    def rating(self) -> int:
        if self.id == "r2":
            raise ValueError("rating unavailable for r2")
        return 5


def _reviewed_product(upc: str) -> ReviewedProduct:
    return ReviewedProduct(upc=upc, name=PRODUCTS[upc]["name"] + " (cached)")


@strawberry.federation.type(keys=["id"], name="Book")
class ReviewedBook:
    id: strawberry.ID

    @strawberry.field
    def review_count(self) -> int:
        return 7

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewedBook:
        return ReviewedBook(id=id)


@strawberry.type
class ReviewsQuery:
    @strawberry.field
    def reviews(self) -> list[Review]:
        return [Review.from_row(r) for r in REVIEWS]


@strawberry.type
class ReviewsMutation:
    @strawberry.mutation
    def add_review(self, upc: str, body: str) -> Review:
        MUTATION_LOG.append(f"reviews.add:{body}")
        row = {"id": f"r{len(REVIEWS) + 1}", "body": body, "upc": upc, "author": "u1"}
        REVIEWS.append(row)
        return Review.from_row(row)


reviews_schema = strawberry.federation.Schema(
    query=ReviewsQuery,
    mutation=ReviewsMutation,
    types=[ReviewedProduct, ReviewedBook],
    federation_version=FEDERATION,
)


# ----------------------------------------------------------------------------------- inventory
@strawberry.federation.type(keys=["sku variant { id }"], name="Product")
class StockedProduct:
    sku: str
    variant: Variant
    price: int = strawberry.federation.field(external=True)
    weight: int = strawberry.federation.field(external=True)

    @strawberry.field
    def in_stock(self) -> bool | None:
        return STOCK[self.sku]

    shipping_estimate: int = strawberry.federation.field(
        requires=["price weight"], resolver=lambda self: _shipping_estimate(self)
    )

    @classmethod
    def resolve_reference(cls, **key: Any) -> StockedProduct:
        return cls(
            sku=key["sku"],
            variant=Variant(id=strawberry.ID(key["variant"]["id"])),
            price=key.get("price", -1),
            weight=key.get("weight", -1),
        )


def _shipping_estimate(product: StockedProduct) -> int:
    # Free shipping over 60; otherwise 2 per kg.
    return 0 if product.price > 60 else product.weight * 2


@strawberry.type
class InventoryQuery:
    @strawberry.field
    def warehouse_count(self) -> int | None:
        return 3


inventory_schema = strawberry.federation.Schema(
    query=InventoryQuery, types=[StockedProduct], federation_version=FEDERATION
)


# ------------------------------------------------------------------------------------ accounts
@strawberry.federation.type(keys=["id"], name="User")
class Account:
    id: strawberry.ID
    username: str = strawberry.federation.field(override="reviews", shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Account:
        return Account(id=id, username=USERS[id])


@strawberry.type
class AccountsQuery:
    @strawberry.field
    def me(self) -> Account | None:
        return Account(id=strawberry.ID("u1"), username=USERS["u1"])


accounts_schema = strawberry.federation.Schema(
    query=AccountsQuery, types=[Account], federation_version=FEDERATION
)

SCHEMAS = {
    "products": products_schema,
    "reviews": reviews_schema,
    "inventory": inventory_schema,
    "accounts": accounts_schema,
}


def subgraph_sdl(name: str) -> str:
    """The SDL as each subgraph serves it from `_service { sdl }`."""
    return SCHEMAS[name].as_str()


class SwitchTransport(httpx.AsyncBaseTransport):
    """In-process transport to a subgraph app that a test can take down, recording bodies."""

    def __init__(self, app: ASGIApp, control: Control) -> None:
        self._inner = httpx.ASGITransport(app)
        self.control = control
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.control.bodies.append(request.content)
        return await self._inner.handle_async_request(request)


class CountingApp:
    """ASGI wrapper that counts GraphQL requests, records headers and can be slowed down."""

    def __init__(self, app: ASGIApp, control: Control) -> None:
        self.app = app
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.control.requests += 1
            self.control.last_headers = {
                k.decode(): v.decode() for k, v in scope.get("headers", [])
            }
            if self.control.delay:
                await asyncio.sleep(self.control.delay)
        await self.app(scope, receive, send)


def subgraph_app(name: str, control: Control) -> ASGIApp:
    schema = SCHEMAS[name]
    graphql_app = GraphQL[None, None](schema)
    app = Starlette(routes=[Route("/graphql", graphql_app)])
    return CountingApp(app, control)

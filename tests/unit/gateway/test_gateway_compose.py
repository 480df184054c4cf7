"""Composition: join/v0.3 output, read back by our own loader, and typed errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import strawberry
from graphql import print_schema
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

from gateway.compose import compose, compose_from_urls, fetch_sdl, write_supergraph
from gateway.errors import CompositionError
from gateway.subgraph import Subgraph
from gateway.supergraph import load_supergraph, load_supergraph_file

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: '
    '["@key", "@shareable", "@external", "@requires", "@provides", "@override", "@inaccessible"])\n'
)

PRODUCTS = (
    LINK
    + """
type Query { products: [Product!]! }
type Product @key(fields: "id") @key(fields: "sku vendor { id }") {
  id: ID!
  sku: String!
  vendor: Vendor!
  name: String! @shareable
  price: Int
  code: String @inaccessible
}
type Vendor @shareable { id: ID! }
"""
)

SHIPPING = (
    LINK
    + """
type Product @key(fields: "id") {
  id: ID!
  name: String! @shareable
  price: Int @external
  estimate: Int @requires(fields: "price")
}
"""
)

REVIEWS = (
    LINK
    + """
type Query { reviews: [Review!]! }
type Review @key(fields: "id") { id: ID! product: Product @provides(fields: "price") }
type Product @key(fields: "id", resolvable: false) { id: ID! price: Int @external }
union Post = Review
enum Mood { HAPPY SAD @inaccessible }
interface Node { id: ID! }
"""
)


def _compose(**sdls: str) -> str:
    return compose([Subgraph(name, f"http://{name}/graphql", sdl) for name, sdl in sdls.items()])


def test_composes_standard_join_v03_supergraph() -> None:
    text = _compose(products=PRODUCTS, shipping=SHIPPING, reviews=REVIEWS)

    assert '@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)' in text
    assert '@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)' in text
    assert 'PRODUCTS @join__graph(name: "products", url: "http://products/graphql")' in text
    assert '@join__type(graph: PRODUCTS, key: "id")' in text
    assert '@join__type(graph: PRODUCTS, key: "sku vendor { id }")' in text
    assert '@join__type(graph: REVIEWS, key: "id", resolvable: false)' in text
    assert 'estimate: Int @join__field(graph: SHIPPING, requires: "price")' in text
    assert "@join__field(graph: SHIPPING, external: true)" in text
    assert '@join__field(graph: REVIEWS, provides: "price")' in text
    assert "code: String @join__field(graph: PRODUCTS) @inaccessible" in text
    assert '@join__unionMember(graph: REVIEWS, member: "Review")' in text
    assert "SAD @join__enumValue(graph: REVIEWS) @inaccessible" in text


def test_composed_output_reads_back_with_routing_and_api_schema() -> None:
    supergraph = load_supergraph(_compose(products=PRODUCTS, shipping=SHIPPING, reviews=REVIEWS))

    product = supergraph.types["Product"]
    assert product.keys == {
        "products": ["id", "sku vendor { id }"],
        "shipping": ["id"],
    }
    assert product.fields["price"].owners == ("products",)
    assert product.fields["name"].owners == ("products", "shipping")
    assert product.fields["estimate"].requires == {"shipping": "price"}
    assert supergraph.types["Review"].fields["product"].provides == {"reviews": "price"}
    api = print_schema(supergraph.api_schema)
    assert "join__" not in api and "link__" not in api and "@" not in api
    assert "code" not in api and "SAD" not in api
    assert supergraph.graphs["shipping"].url == "http://shipping/graphql"


def test_composition_is_deterministic() -> None:
    assert _compose(products=PRODUCTS, shipping=SHIPPING) == _compose(
        products=PRODUCTS, shipping=SHIPPING
    )


def test_override_marks_the_new_owner_and_drops_the_old() -> None:
    old = LINK + 'type Query { me: User } type User @key(fields: "id") { id: ID! name: String }'
    new = LINK + ('type User @key(fields: "id") { id: ID! name: String @override(from: "old") }')
    text = _compose(old=old, new=new)

    assert 'name: String @join__field(graph: NEW, override: "old")' in text
    assert load_supergraph(text).types["User"].fields["name"].owners == ("new",)


def test_progressive_override_keeps_both_owners_under_the_label() -> None:
    old = LINK + 'type Query { me: User } type User @key(fields: "id") { id: ID! name: String }'
    new = LINK + (
        'type User @key(fields: "id") { id: ID! '
        'name: String @override(from: "old", label: "percent(20)") }'
    )
    text = _compose(old=old, new=new)

    assert '@join__field(graph: OLD, overrideLabel: "percent(20)")' in text
    assert '@join__field(graph: NEW, override: "old", overrideLabel: "percent(20)")' in text
    assert "overrideLabel: String)" in text
    name = load_supergraph(text).types["User"].fields["name"]
    assert name.owners_for(frozenset()) == ("old",)
    assert name.owners_for(frozenset({"percent(20)"})) == ("new",)


def test_non_shareable_field_in_two_subgraphs_names_type_field_and_graphs() -> None:
    a = LINK + 'type Query { a: Int } type Thing @key(fields: "id") { id: ID! label: String }'
    b = LINK + 'type Thing @key(fields: "id") { id: ID! label: String }'

    with pytest.raises(CompositionError) as caught:
        _compose(a=a, b=b)

    error = caught.value
    assert (error.type_name, error.field_name, error.subgraphs) == ("Thing", "label", ("a", "b"))
    assert "shareable" in str(error)


def test_conflicting_field_types_are_an_error() -> None:
    a = LINK + "type Query { a: Int } type Thing @shareable { size: Int }"
    b = LINK + "type Thing @shareable { size: String }"

    with pytest.raises(CompositionError) as caught:
        _compose(a=a, b=b)

    assert (caught.value.type_name, caught.value.field_name) == ("Thing", "size")
    assert "conflicting types (Int vs String)" in str(caught.value)


def test_nullability_differences_compose_to_the_nullable_type() -> None:
    a = LINK + "type Query { a: Thing } type Thing @shareable { size: Int! }"
    b = LINK + "type Query { b: Thing } type Thing @shareable { size: Int }"

    text = _compose(a=a, b=b)

    assert 'size: Int @join__field(graph: A, type: "Int!") @join__field(graph: B)' in text


def test_requires_on_a_field_not_marked_external_is_an_error() -> None:
    a = LINK + 'type Query { a: Thing } type Thing @key(fields: "id") { id: ID! size: Int }'
    b = LINK + (
        'type Thing @key(fields: "id") { id: ID! size: Int @shareable '
        'double: Int @requires(fields: "size") }'
    )

    with pytest.raises(CompositionError) as caught:
        _compose(a=a, b=b)

    assert (caught.value.type_name, caught.value.field_name) == ("Thing", "double")
    assert caught.value.subgraphs == ("b",)
    assert "@external" in str(caught.value)


def test_key_naming_a_missing_field_is_an_error() -> None:
    a = LINK + 'type Query { a: Thing } type Thing @key(fields: "uuid") { id: ID! }'

    with pytest.raises(CompositionError) as caught:
        _compose(a=a)

    assert (caught.value.type_name, caught.value.field_name) == ("Thing", "uuid")
    assert "does not exist" in str(caught.value)


def test_provides_naming_a_missing_field_is_an_error() -> None:
    a = LINK + (
        'type Query { a: Thing @provides(fields: "nope") } '
        'type Thing @key(fields: "id") { id: ID! }'
    )

    with pytest.raises(CompositionError) as caught:
        _compose(a=a)

    assert (caught.value.type_name, caught.value.field_name) == ("Query", "a")


def test_field_external_everywhere_is_an_error() -> None:
    a = LINK + 'type Query { a: Thing } type Thing @key(fields: "id") { id: ID! x: Int @external }'

    with pytest.raises(CompositionError) as caught:
        _compose(a=a)

    assert (caught.value.type_name, caught.value.field_name) == ("Thing", "x")


def test_type_kinds_must_agree() -> None:
    a = LINK + "type Query { a: Int } type Thing { x: Int }"
    b = LINK + "interface Thing { x: Int }"

    with pytest.raises(CompositionError) as caught:
        _compose(a=a, b=b)

    assert caught.value.type_name == "Thing"
    assert caught.value.subgraphs == ("a", "b")


def test_interfaces_list_implementations_per_graph() -> None:
    a = LINK + (
        "type Query { nodes: [Node!]! } interface Node { id: ID! } "
        'type Book implements Node @key(fields: "id") { id: ID! title: String }'
    )
    text = _compose(a=a)

    assert 'type Book implements Node\n  @join__type(graph: A, key: "id")\n' in text
    assert '@join__implements(graph: A, interface: "Node")' in text
    assert load_supergraph(text).types["Node"].possible_types == ("Book",)


def test_renamed_and_namespaced_federation_directives_are_understood() -> None:
    sdl = (
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", '
        'import: [{name: "@key", as: "@id"}])\n'
        'type Query { a: Thing } type Thing @id(fields: "id") { id: ID! '
        "secret: Int @federation__inaccessible }"
    )
    text = _compose(a=sdl)

    assert '@join__type(graph: A, key: "id")' in text
    assert "secret: Int @inaccessible" in text


@strawberry.federation.type(keys=["id"])
class Item:
    id: strawberry.ID


@strawberry.type
class ItemsQuery:
    @strawberry.field
    def items(self) -> list[Item]:
        return []


def test_strawberry_sdl_composes_without_federation_internals() -> None:
    schema = strawberry.federation.Schema(query=ItemsQuery, federation_version="2.9")
    text = _compose(items=schema.as_str())

    assert "_entities" not in text and "_Service" not in text and "_Any" not in text


def test_write_supergraph_writes_a_loadable_file(tmp_path: Path) -> None:
    target = tmp_path / "supergraph.graphql"
    write_supergraph(target, [Subgraph("products", "http://p/graphql", PRODUCTS)])

    assert load_supergraph_file(target).types["Product"].keys["products"] == [
        "id",
        "sku vendor { id }",
    ]


@pytest.mark.asyncio
async def test_sdl_is_fetched_from_a_running_subgraph() -> None:
    @strawberry.type
    class Query:
        ping: str = "pong"

    schema = strawberry.federation.Schema(query=Query, federation_version="2.9")
    app = Starlette(routes=[Route("/graphql", GraphQL[None, None](schema))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
        sdl = await fetch_sdl(client, "http://ping/graphql")

    assert "ping: String!" in sdl
    assert "type Query" in compose([Subgraph("ping", "http://ping/graphql", sdl)])


@pytest.mark.asyncio
async def test_compose_from_urls_reports_unreachable_subgraphs() -> None:
    with pytest.raises(httpx.HTTPError):
        await compose_from_urls({"gone": "http://127.0.0.1:9/graphql"}, wait_seconds=1.0)

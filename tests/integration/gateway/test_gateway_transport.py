"""The subgraph client: aiohttp against real HTTP servers, and in-flight query sharing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from crmkit.embedded import free_port
from crmkit.testing.served import served
from gateway.engine import Gateway
from gateway.supergraph import Supergraph
from gateway.transport import SubgraphClient
from tests.integration.gateway import shop
from tests.integration.gateway.conftest import Shop

pytestmark = pytest.mark.asyncio

QUERY = '{ product(upc: "p1") { name inStock reviews { body } } }'
EXPECTED = {
    "product": {
        "name": "Table",
        "inStock": True,
        "reviews": [{"body": "Solid"}, {"body": "Wobbly"}],
    }
}


@contextlib.asynccontextmanager
async def _served(controls: dict[str, shop.Control]) -> AsyncIterator[str]:
    """The shop's subgraphs on a real local HTTP server, each under /<name>/graphql."""
    app = Starlette(
        routes=[Mount(f"/{n}", app=shop.subgraph_app(n, controls[n])) for n in shop.SCHEMAS]
    )
    async with served(app, ws="none") as port:
        yield f"http://127.0.0.1:{port}"


async def test_aiohttp_client_runs_a_cross_subgraph_query(shop_supergraph: Supergraph) -> None:
    controls = {name: shop.Control() for name in shop.SCHEMAS}
    async with _served(controls) as base:
        client = SubgraphClient({n: f"{base}/{n}/graphql" for n in shop.SCHEMAS}, timeout=2.0)
        gateway = Gateway(shop_supergraph, client)
        try:
            headers = {"authorization": "Bearer t", "x-request-id": "r1"}
            first = await gateway.execute(QUERY, headers=headers)
            second = await gateway.execute(QUERY, headers=headers)  # on a kept-alive connection
        finally:
            await client.aclose()

    assert first.body == second.body == {"data": EXPECTED}
    assert controls["reviews"].last_headers["authorization"] == "Bearer t"
    assert controls["reviews"].last_headers["x-request-id"] == "r1"
    assert {n: c.requests for n, c in controls.items() if c.requests} == {
        "products": 2,
        "inventory": 2,
        "reviews": 2,
    }


async def test_aiohttp_client_reports_unreachable_and_slow_subgraphs(
    shop_supergraph: Supergraph,
) -> None:
    controls = {name: shop.Control() for name in shop.SCHEMAS}
    controls["inventory"].delay = 4.0  # well past the deadline, however loaded the machine
    async with _served(controls) as base:
        urls = {n: f"{base}/{n}/graphql" for n in shop.SCHEMAS}
        urls["reviews"] = f"http://127.0.0.1:{free_port()}/graphql"  # nothing listens there
        client = SubgraphClient(urls, timeout=1.5)
        try:
            body = (await Gateway(shop_supergraph, client).execute(QUERY)).body
            ready = {name: await client.ping(name) for name in ("products", "reviews")}
        finally:
            await client.aclose()

    assert body["data"] == {"product": None}  # reviews is non-null: the null propagates
    codes = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert codes == {
        ("product", "inStock"): "SUBGRAPH_TIMEOUT",
        ("product", "reviews"): "SUBGRAPH_UNAVAILABLE",
    }
    assert ready == {"products": True, "reviews": False}


async def test_identical_queries_in_flight_share_one_subgraph_request(
    shop_gateway: Shop,
) -> None:
    shop_gateway.controls["products"].delay = 0.1
    headers = {"authorization": "Bearer same"}

    bodies = await asyncio.gather(*(shop_gateway.run(QUERY, headers=headers) for _ in range(5)))

    assert all(body == {"data": EXPECTED} for body in bodies)
    assert shop_gateway.counts() == {"products": 1, "inventory": 1, "reviews": 1}
    # Each client response is its own object tree, so shaping one cannot touch another.
    assert bodies[0]["data"]["product"] is not bodies[1]["data"]["product"]


async def test_queries_of_different_callers_are_not_shared(shop_gateway: Shop) -> None:
    shop_gateway.controls["products"].delay = 0.1

    await asyncio.gather(
        *(shop_gateway.run(QUERY, headers={"authorization": f"Bearer {n}"}) for n in range(3))
    )

    assert shop_gateway.counts() == {"products": 3, "inventory": 3, "reviews": 3}


async def test_mutations_are_never_shared(shop_gateway: Shop) -> None:
    shop_gateway.controls["reviews"].delay = 0.1
    mutation = 'mutation { addReview(upc: "p2", body: "again") { body } }'

    bodies = await asyncio.gather(shop_gateway.run(mutation), shop_gateway.run(mutation))

    assert bodies[0] == bodies[1] == {"data": {"addReview": {"body": "again"}}}
    assert shop_gateway.counts() == {"reviews": 2}


async def test_sharing_can_be_turned_off(shop_gateway: Shop) -> None:
    shop_gateway.gateway.client.deduplicate = False
    shop_gateway.controls["products"].delay = 0.1

    await asyncio.gather(shop_gateway.run(QUERY), shop_gateway.run(QUERY))

    assert shop_gateway.counts()["products"] == 2


async def test_a_waiter_timing_out_does_not_cancel_the_shared_request(
    shop_gateway: Shop,
) -> None:
    client = shop_gateway.gateway.client
    shop_gateway.controls["products"].delay = 0.3
    leader = asyncio.create_task(shop_gateway.run(QUERY))
    await asyncio.sleep(0.05)
    client.timeout = 0.1  # a later waiter with a shorter deadline gives up first

    follower = await shop_gateway.run(QUERY)
    client.timeout = 30.0

    assert follower["errors"][0]["extensions"]["code"] == "SUBGRAPH_TIMEOUT"
    assert await leader == {"data": EXPECTED}

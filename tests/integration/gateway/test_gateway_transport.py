"""The subgraph client: aiohttp against real HTTP servers, and in-flight query sharing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from crmkit.embedded import free_port
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
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


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


async def test_a_cookie_a_subgraph_sets_never_goes_out_with_a_later_request() -> None:
    """One session serves every caller: a subgraph answer's Set-Cookie is not kept."""
    cookies: list[str | None] = []

    async def subgraph(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        cookies.append(headers[b"cookie"].decode() if b"cookie" in headers else None)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"),
            (b"set-cookie", b"session=caller-1; Path=/"),
        ]})
        await send({"type": "http.response.body", "body": b'{"data": {"__typename": "Query"}}'})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(subgraph, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off", ws="none"))
    task = asyncio.create_task(server.serve())
    # By a host name, as in a cluster: aiohttp's default jar keeps no cookie of an IP address.
    client = SubgraphClient({"one": f"http://localhost:{port}/graphql"}, timeout=5.0)
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
        for caller in ("Bearer one", "Bearer two"):
            answer = await client.post("one", "{ __typename }", None, {"authorization": caller})
            assert answer == {"data": {"__typename": "Query"}}
    finally:
        await client.aclose()
        server.should_exit = True
        await task

    assert cookies == [None, None]

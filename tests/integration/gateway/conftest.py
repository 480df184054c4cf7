"""Fixtures: the test shop's subgraphs in-process, behind a gateway built on their supergraph."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from gateway.compose import compose
from gateway.engine import Gateway
from gateway.subgraph import Subgraph
from gateway.supergraph import Supergraph, load_supergraph
from gateway.transport import SubgraphClient
from tests.integration.gateway import shop


def subgraph_url(name: str) -> str:
    return f"http://{name}.test/graphql"


@pytest.fixture(scope="session")
def shop_supergraph() -> Supergraph:
    return load_supergraph(
        compose([Subgraph(n, subgraph_url(n), shop.subgraph_sdl(n)) for n in shop.SCHEMAS])
    )


@dataclass
class Shop:
    gateway: Gateway
    controls: dict[str, shop.Control]
    transports: dict[str, shop.SwitchTransport]

    async def run(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.gateway.execute(query, variables, operation_name, headers)
        return response.body

    def counts(self) -> dict[str, int]:
        return {name: c.requests for name, c in self.controls.items() if c.requests}

    def sent(self, name: str) -> list[dict[str, Any]]:
        return [orjson.loads(body) for body in self.controls[name].bodies]

    def reset(self) -> None:
        for control in self.controls.values():
            control.requests = 0
            control.bodies.clear()


@pytest.fixture
async def shop_gateway(shop_supergraph: Supergraph) -> AsyncIterator[Shop]:
    saved = copy.deepcopy((shop.PRODUCTS, shop.REVIEWS))
    shop.MUTATION_LOG.clear()
    controls = {name: shop.Control() for name in shop.SCHEMAS}
    transports = {
        name: shop.SwitchTransport(shop.subgraph_app(name, controls[name]), controls[name])
        for name in shop.SCHEMAS
    }
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}.test": transport for name, transport in transports.items()
    }
    async with httpx.AsyncClient(mounts=mounts) as http:
        urls = {name: subgraph_url(name) for name in shop.SCHEMAS}
        # The production default: a test about deadlines sets its own; 2 s ran out for an
        # ordinary query on a loaded machine and nulled its fields.
        client = SubgraphClient(urls, timeout=30.0, http=http)
        yield Shop(Gateway(shop_supergraph, client), controls, transports)
    shop.PRODUCTS.clear()
    shop.PRODUCTS.update(saved[0])
    shop.REVIEWS[:] = saved[1]

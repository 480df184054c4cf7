"""Builds the running gateway from settings: supergraph, subgraph client, edge app."""

from __future__ import annotations

import asyncio
import logging

import httpx
import orjson
from starlette.applications import Starlette

from crmkit.auth import TokenVerifier
from crmkit.settings import Settings
from gateway.app import create_app
from gateway.compose import Subgraph, compose, fetch_sdl
from gateway.engine import Gateway
from gateway.files import FilesProxy, files_url
from gateway.limits import Limits
from gateway.settings import GatewaySettings, introspection_enabled, subgraph_urls
from gateway.supergraph import Supergraph, load_supergraph, load_supergraph_file
from gateway.transport import SubgraphClient

log = logging.getLogger("gateway")


async def compose_running(urls: dict[str, str], wait_seconds: float) -> str:
    """Compose from the subgraphs that answer now; the ones not running are left out."""
    async with httpx.AsyncClient(timeout=wait_seconds) as client:
        answers = await asyncio.gather(
            *(fetch_sdl(client, url) for url in urls.values()), return_exceptions=True
        )
    subgraphs = []
    for (name, url), answer in zip(urls.items(), answers, strict=True):
        if isinstance(answer, str):
            subgraphs.append(Subgraph(name, url, answer))
        else:
            log.warning("subgraph %s at %s left out of the supergraph: %s", name, url, answer)
    return compose(subgraphs)


async def load(settings: Settings, gateway_settings: GatewaySettings) -> Supergraph:
    path = gateway_settings.supergraph_path
    compose_now = gateway_settings.compose_at_startup
    if compose_now is None:
        compose_now = settings.environment == "dev"
    if compose_now or not path.exists():
        urls = subgraph_urls(settings)
        return load_supergraph(
            await compose_running(urls, gateway_settings.subgraph_timeout_seconds)
        )
    return load_supergraph_file(path)


def build_app(settings: Settings, gateway_settings: GatewaySettings) -> Starlette:
    verifier = TokenVerifier.from_settings(settings)
    limits = Limits(
        max_depth=gateway_settings.max_depth,
        max_aliases=gateway_settings.max_aliases,
        max_operation_bytes=gateway_settings.max_operation_bytes,
        max_body_bytes=gateway_settings.max_body_bytes,
    )

    async def start() -> Gateway:
        supergraph = await load(settings, gateway_settings)
        # Route by the URLs configured here, not the ones baked into the supergraph file.
        configured = subgraph_urls(settings)
        urls = {name: configured.get(name, graph.url) for name, graph in supergraph.graphs.items()}
        log.info("gateway routes to %s", orjson.dumps(urls).decode())
        client = SubgraphClient(
            urls,
            timeout=gateway_settings.subgraph_timeout_seconds,
            deduplicate=gateway_settings.deduplicate_queries,
        )
        return Gateway(
            supergraph,
            client,
            limits=limits,
            introspection=introspection_enabled(gateway_settings, settings),
            cache_size=gateway_settings.plan_cache_size,
            override_labels=gateway_settings.override_labels,
        )

    return create_app(
        start,
        verify=verifier.verify,  # remembers verified tokens
        max_body_bytes=gateway_settings.max_body_bytes,
        graphiql=settings.environment == "dev",
        files=FilesProxy(files_url(settings.subgraph_url("documents"))),
    )

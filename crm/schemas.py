"""Committed schema files: each subgraph's SDL, the composed supergraph, the event catalogue."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import cast

from crm.stack import ROOT, available_services
from crmkit.graphql import federation_sdl
from crmkit.serve import ServiceModule
from crmkit.settings import Settings

SUPERGRAPH = ROOT / "gateway" / "supergraph.graphql"


def sdl_file(service: str) -> Path:
    return ROOT / "services" / service / "schema.graphql"


def subgraph_sdl(service: str) -> str:
    """The SDL the service's code answers to ``{ _service { sdl } }``."""
    app = cast(ServiceModule, importlib.import_module(f"services.{service}.app"))
    return federation_sdl(app.create_schema())


def routing_urls(settings: Settings) -> dict[str, str]:
    return {service: settings.subgraph_url(service) for service in available_services()}


def composed_supergraph(settings: Settings) -> str:
    """The supergraph composed from the committed SDL files."""
    from gateway.compose import compose_from_files

    return compose_from_files(
        {name: (url, sdl_file(name)) for name, url in routing_urls(settings).items()}
    )


async def compose_supergraph(settings: Settings, *, from_running: bool) -> str:
    if not from_running:
        return composed_supergraph(settings)
    from gateway.compose import compose_from_urls

    return await compose_from_urls(routing_urls(settings))


async def write_all(settings: Settings) -> list[Path]:
    written = []
    for service in available_services():
        path = sdl_file(service)
        path.write_text(subgraph_sdl(service))
        written.append(path)
    SUPERGRAPH.write_text(composed_supergraph(settings))
    written.append(SUPERGRAPH)
    from crm.asyncapi import CATALOGUE, asyncapi_yaml

    CATALOGUE.write_text(asyncapi_yaml())
    written.append(CATALOGUE)
    return written

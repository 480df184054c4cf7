"""Start-up from settings: the supergraph file, routing URLs, the real token verifier."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from crmkit.auth import mint_dev_token
from crmkit.settings import DEV_JWT_SECRET, Settings
from gateway.bootstrap import build_app
from gateway.compose import write_supergraph
from gateway.settings import GatewaySettings, introspection_enabled, subgraph_urls
from gateway.subgraph import Subgraph

SDL = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])\n'
    "type Query { ping: String }"
)


@pytest.mark.asyncio
async def test_app_starts_from_the_supergraph_file_and_checks_tokens(tmp_path: Path) -> None:
    path = tmp_path / "supergraph.graphql"
    # Port 9 (discard) refuses connections: the subgraph is down.
    write_supergraph(path, [Subgraph("leads", "http://127.0.0.1:9/graphql", SDL)])
    settings = Settings(environment="test", leads_url="http://127.0.0.1:9/graphql")
    gateway_settings = GatewaySettings(
        supergraph_path=path, compose_at_startup=False, subgraph_timeout_seconds=1.0
    )
    token = mint_dev_token(
        secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=uuid.uuid4(), roles=["rep"]
    )

    app = build_app(settings, gateway_settings)
    transport = httpx.ASGITransport(app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://gw") as client,
    ):
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        unauthenticated = await client.post("/graphql", json={"query": "{ ping }"})
        down = await client.post(
            "/graphql", json={"query": "{ ping }"}, headers={"authorization": f"Bearer {token}"}
        )

    # Ready: the supergraph is loaded; the subgraph being down shows in the answer's errors.
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "subgraphs": ["leads"]}
    assert unauthenticated.status_code == 401
    assert down.status_code == 200
    body = down.json()
    assert body["data"] == {"ping": None}
    assert body["errors"][0]["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"


def test_settings_helpers() -> None:
    settings = Settings(environment="prod", pipeline_url="http://pipeline:8000/graphql")

    urls = subgraph_urls(settings)

    assert urls["pipeline"] == "http://pipeline:8000/graphql"
    assert urls["leads"].endswith(f":{settings.leads_port}/graphql")
    assert introspection_enabled(GatewaySettings(), settings) is False
    assert introspection_enabled(GatewaySettings(introspection=True), settings) is True


def test_override_labels_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_GATEWAY_OVERRIDE_LABELS", '["new-shipping"]')

    assert GatewaySettings().override_labels == {"new-shipping"}

"""Every HTTP client that serves many callers keeps no cookies (crmkit.shared_http): the
gateway's subgraph client, the file proxy (gateway and web app), the web app's API client and
the webhook sender, each twice against one real server that sets a cookie on every answer.
The server is reached by host name, as in a cluster: no jar keeps a cookie of an IP address,
so a test by address would pass with a jar."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from crmkit.files_proxy import FilesProxy
from crmkit.testing.served import served
from gateway.transport import SubgraphClient
from services.notifications import domain as d
from services.notifications.settings import NotificationsSettings
from services.notifications.webhook_http import HttpWebhookSender
from web.api import Api

pytestmark = pytest.mark.integration

ANSWER = b'{"data": {"__typename": "Query"}}'


class Server:
    """Answers every request with a cookie of its own and keeps the Cookie header it got."""

    def __init__(self) -> None:
        self.cookies: list[str | None] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = dict(scope["headers"])
        self.cookies.append(headers[b"cookie"].decode() if b"cookie" in headers else None)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"),
            (b"set-cookie", b"session=first-caller; Path=/"),
        ]})
        await send({"type": "http.response.body", "body": ANSWER})


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    app = Server()
    async with served(app) as port:
        yield app, f"http://localhost:{port}"


async def test_the_gateways_subgraph_client(server: tuple[Server, str]) -> None:
    app, base = server
    client = SubgraphClient({"one": f"{base}/graphql"}, timeout=5.0)
    try:
        for caller in ("Bearer one", "Bearer two"):
            answer = await client.post("one", "{ __typename }", None, {"authorization": caller})
            assert answer == {"data": {"__typename": "Query"}}
    finally:
        await client.aclose()

    assert app.cookies == [None, None]


async def test_the_file_proxy(server: tuple[Server, str]) -> None:
    app, base = server
    proxy = FilesProxy(base)
    front = Starlette(routes=[Route("/files/{rest:path}", proxy.forward, methods=["GET"])])
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=front),
                                     base_url="http://web") as browser:
            for name in ("a.pdf", "b.pdf"):
                response = await browser.get(f"/files/{name}?signature=s")
                assert response.status_code == 200 and response.content == ANSWER
                assert "set-cookie" not in response.headers  # not passed on either
    finally:
        await proxy.aclose()

    assert app.cookies == [None, None]


async def test_the_web_apps_api_client(server: tuple[Server, str]) -> None:
    app, base = server
    api = Api(f"{base}/graphql", timeout=5.0)
    try:
        for token in ("member-one", "member-two"):
            assert await api(token, "{ __typename }") == {"__typename": "Query"}
    finally:
        await api.aclose()

    assert app.cookies == [None, None]


async def test_the_webhook_sender(server: tuple[Server, str]) -> None:
    app, base = server
    sender = HttpWebhookSender(NotificationsSettings(environment="test"))
    now = datetime.now(UTC)
    try:
        for _ in range(2):  # two orgs' endpoints on one host
            org = uuid.uuid4()
            endpoint = d.WebhookEndpoint(
                id=uuid.uuid4(), org_id=org, url=f"{base}/hooks/{org}", event_types=("crm.>",),
                secret="whsec_" + base64.b64encode(os.urandom(24)).decode())
            delivery = d.WebhookDelivery(
                id=uuid.uuid4(), org_id=org, endpoint_id=endpoint.id, event_id=uuid.uuid4(),
                event_type="crm.pipeline.opportunity.won", aggregate_id=uuid.uuid4(),
                payload='{"type": "crm.pipeline.opportunity.won"}', created_at=now)
            result = await sender.deliver(endpoint, delivery, now)
            assert result.status_code == 200, result
    finally:
        await sender.close()

    assert app.cookies == [None, None]

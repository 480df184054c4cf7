"""Webhook deliveries over HTTP: the Standard Webhooks headers (``webhook-id``: the event's
id, the same on every attempt; ``webhook-timestamp``; ``webhook-signature``: HMAC-SHA256 by
the ``standardwebhooks`` reference library) and the SSRF guard: in production a target that
resolves to a private, loopback, link-local or otherwise non-public address is refused, when
registered and again before every attempt (its DNS may have changed); redirects are not
followed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from services.notifications import domain as d
from services.notifications.ports import AttemptResult
from services.notifications.settings import NotificationsSettings

TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class HttpWebhookSender:
    def __init__(self, settings: NotificationsSettings) -> None:
        # Dev and test deliver to receivers on this machine; production never to private
        # networks (the cluster's own services included).
        self.allow_private = settings.environment != "prod"
        self._client: httpx.AsyncClient | None = None

    async def check_target(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.hostname is None:
            return "has no host"
        if self.allow_private:
            return None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            return "does not resolve"
        if not found or not all(public(str(info[4][0])) for info in found):
            return "resolves to a private, loopback or link-local address"
        return None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=TIMEOUT, follow_redirects=False,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def deliver(
        self, endpoint: d.WebhookEndpoint, delivery: d.WebhookDelivery, now: datetime
    ) -> AttemptResult:
        started = time.perf_counter()

        def took() -> int:
            return int((time.perf_counter() - started) * 1000)

        refused = await self.check_target(endpoint.url)
        if refused is not None:
            return AttemptResult(None, f"target refused: {refused}", took())
        body = delivery.payload.encode()
        msg_id = str(delivery.event_id)
        headers = {
            "content-type": "application/json",
            "user-agent": "CRM-Webhooks/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(endpoint.secret).sign(msg_id, now, body),
        }
        try:
            response = await self.client().post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as failure:
            return AttemptResult(None, f"{type(failure).__name__}: {failure}"[:500], took())
        problem = None if response.is_success else f"answered {response.status_code}"
        return AttemptResult(response.status_code, problem, took())

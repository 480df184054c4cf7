"""Webhook deliveries over HTTP: the Standard Webhooks headers (``webhook-id``: the event's
id, the same on every attempt; ``webhook-timestamp``; ``webhook-signature``: HMAC-SHA256 by
the ``standardwebhooks`` reference library) and the SSRF guard: in production a target that
resolves to a private, loopback, link-local or otherwise non-public address is refused, when
registered and again before every attempt (its DNS may have changed); redirects are not
followed. The attempt then connects to the very address that was checked (the URL's host
kept in the Host header and as the TLS server name), so a name that resolves to a public
address for the check and to a private one a moment later (DNS rebinding) gains nothing."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
from standardwebhooks import Webhook

from crmkit.shared_http import no_httpx_cookies
from services.notifications import domain as d
from services.notifications.ports import AttemptResult
from services.notifications.settings import NotificationsSettings

TIMEOUT = httpx.Timeout(15.0, connect=5.0)

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""The addresses a host name resolves to, for a port."""


async def system_resolver(host: str, port: int) -> list[str]:
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True, slots=True)
class Target:
    """Where one attempt goes: the URL to connect to, and what keeps the name it was given."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


def pinned(parts: SplitResult, address: str) -> Target:
    """``parts`` sent to ``address``: its host name stays in the Host header and, for https,
    is the name the certificate is checked against (SNI)."""
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return Target(parts._replace(netloc=netloc).geturl(), {"host": parts.netloc}, extensions)


class HttpWebhookSender:
    def __init__(
        self, settings: NotificationsSettings, *, resolver: Resolver = system_resolver,
        allowed: Callable[[str], bool] = public,
    ) -> None:
        # Dev and test deliver to receivers on this machine; production never to private
        # networks (the cluster's own services included).
        self.allow_private = settings.environment != "prod"
        self._resolve = resolver
        self._allowed = allowed
        self._client: httpx.AsyncClient | None = None

    async def check_target(self, url: str) -> str | None:
        refused, _ = await self.target(url)
        return refused

    async def target(self, url: str) -> tuple[str | None, Target | None]:
        """Why ``url`` is refused, or where its attempt connects."""
        parts = urlsplit(url)
        if parts.hostname is None:
            return "has no host", None
        if self.allow_private:
            return None, Target(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            found = await self._resolve(parts.hostname, port)
        except (OSError, UnicodeError):
            return "does not resolve", None
        if not found or not all(self._allowed(address) for address in found):
            return "resolves to a private, loopback or link-local address", None
        return None, pinned(parts, found[0])

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=TIMEOUT, follow_redirects=False,
                cookies=no_httpx_cookies(),  # one client for every org's endpoints
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

        refused, target = await self.target(endpoint.url)
        if target is None:
            return AttemptResult(None, f"target refused: {refused}", took())
        body = delivery.payload.encode()
        msg_id = str(delivery.event_id)
        headers = {
            "content-type": "application/json",
            "user-agent": "CRM-Webhooks/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(endpoint.secret).sign(msg_id, now, body),
            **target.headers,
        }
        try:
            response = await self.client().post(
                target.url, content=body, headers=headers, extensions=target.extensions
            )
        except httpx.HTTPError as failure:
            return AttemptResult(None, f"{type(failure).__name__}: {failure}"[:500], took())
        problem = None if response.is_success else f"answered {response.status_code}"
        return AttemptResult(response.status_code, problem, took())

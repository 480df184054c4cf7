"""The web app's Prometheus metrics: page requests by method and status, their latency, and
the latency of its calls to the gateway."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5)


class WebMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "crm_web_requests_total", "HTTP requests", ["method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "crm_web_request_seconds", "HTTP request latency", buckets=BUCKETS,
            registry=self.registry,
        )
        self.gateway = Histogram(
            "crm_web_gateway_seconds", "GraphQL calls to the gateway", buckets=BUCKETS,
            registry=self.registry,
        )


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: WebMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.requests.labels(scope["method"], str(status)).inc()
            self.metrics.latency.observe(time.perf_counter() - started)

"""Prometheus metrics of the edge: requests by outcome, latency, subgraph failures and health."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class GatewayMetrics:
    """One registry per app, so several apps (tests) never clash on metric names."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests",
            "GraphQL requests by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_seconds",
            "Time to answer a GraphQL request",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self.subgraph_errors = Counter(
            "gateway_subgraph_errors",
            "Errors attributed to a subgraph in responses",
            ["subgraph"],
            registry=self.registry,
        )
        self.subgraph_up = Gauge(
            "gateway_subgraph_up",
            "1 when the subgraph's server answered the check made at this scrape, else 0",
            ["subgraph"],
            registry=self.registry,
        )

"""The gateway's edge: HTTP, bearer-token check, request limits, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from strawberry.http.ides import get_graphql_ide_html

from gateway.engine import Gateway
from gateway.metrics import GatewayMetrics

# Verifies a bearer token and returns the caller; raises on a missing/invalid/expired token.
TokenCheck = Callable[[str], object]
FORWARDED_HEADERS = ("authorization", "traceparent", "tracestate", "x-request-id")


class _BodyTooLarge(Exception):
    pass


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def _error(message: str, code: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
        if len(chunks) > limit:
            raise _BodyTooLarge
    return bytes(chunks)


def create_app(
    gateway: Gateway | Callable[[], Awaitable[Gateway]],
    *,
    verify: TokenCheck,
    max_body_bytes: int = 1024 * 1024,
    graphiql: bool = False,
) -> Starlette:
    """The edge app; `gateway` may be a coroutine factory run at start-up (compose in dev)."""
    metrics = GatewayMetrics()
    holder: dict[str, Gateway] = {}
    if isinstance(gateway, Gateway):
        holder["gateway"] = gateway

    def current() -> Gateway:
        return holder["gateway"]

    async def graphql(request: Request) -> Response:
        if request.method == "GET":
            if graphiql:
                return HTMLResponse(get_graphql_ide_html("graphiql"))
            return _error("use POST for GraphQL requests", "METHOD_NOT_ALLOWED", 405)
        started = time.perf_counter()
        response = await _handle(request)
        metrics.requests.labels(str(response.status_code)).inc()
        metrics.latency.observe(time.perf_counter() - started)
        return response

    async def _handle(request: Request) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        reply_headers = {"x-request-id": request_id}
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(
                "a bearer token is required",
                "UNAUTHENTICATED",
                401,
                {**reply_headers, "www-authenticate": "Bearer"},
            )
        try:
            verify(token.strip())
        except Exception as error:  # the verifier's own exception type says why
            return _error(
                str(error) or "invalid token",
                "UNAUTHENTICATED",
                401,
                {**reply_headers, "www-authenticate": "Bearer"},
            )
        try:
            raw = await _read_body(request, max_body_bytes)
        except _BodyTooLarge:
            return _error(
                f"request body exceeds {max_body_bytes} bytes",
                "REQUEST_TOO_LARGE",
                413,
                reply_headers,
            )
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _error("request body is not JSON", "BAD_REQUEST", 400, reply_headers)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return _error("a 'query' string is required", "BAD_REQUEST", 400, reply_headers)
        variables = payload.get("variables")
        operation_name = payload.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            return _error("'variables' must be an object", "BAD_REQUEST", 400, reply_headers)
        if operation_name is not None and not isinstance(operation_name, str):
            return _error("'operationName' must be a string", "BAD_REQUEST", 400, reply_headers)
        forwarded = {h: v for h in FORWARDED_HEADERS if (v := request.headers.get(h)) is not None}
        forwarded["x-request-id"] = request_id
        result = await current().execute(payload["query"], variables, operation_name, forwarded)
        for reported in result.body.get("errors", ()):
            service = (reported.get("extensions") or {}).get("serviceName")
            if service:
                metrics.subgraph_errors.labels(str(service)).inc()
        return _json(result.body, result.status, reply_headers)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if "gateway" not in holder:
            return JSONResponse({"status": "starting"}, status_code=503)
        client = current().client
        names = list(client.urls)
        reachable = await asyncio.gather(*(client.ping(n) for n in names))
        subgraphs = dict(zip(names, reachable, strict=True))
        ready = all(reachable)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "subgraphs": subgraphs},
            status_code=200 if ready else 503,
        )

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if "gateway" not in holder and not isinstance(gateway, Gateway):
            holder["gateway"] = await gateway()
        try:
            yield
        finally:
            if "gateway" in holder:
                await holder["gateway"].client.aclose()

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )

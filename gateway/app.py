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
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from crmkit.body import BodyTimedOut, BodyTooLarge, ClientDisconnect, read_body, refusal
from crmkit.graphiql import graphiql_assets, graphiql_page
from crmkit.settings import MAX_BODY_BYTES
from gateway.engine import Gateway
from gateway.files import FilesProxy, files_route
from gateway.metrics import GatewayMetrics

# Verifies a bearer token and returns the caller; raises on a missing/invalid/expired token.
TokenCheck = Callable[[str], object]
FORWARDED_HEADERS = ("authorization", "traceparent", "tracestate", "x-request-id")
_FORWARDED_NAMES = frozenset(h.encode() for h in FORWARDED_HEADERS)
_WANTED_HEADERS = _FORWARDED_NAMES | {b"content-length"}
_JSON_CONTENT_TYPE = (b"content-type", b"application/json")
_CHALLENGE = (b"www-authenticate", b"Bearer")

# status, body, headers of a reply on the raw ASGI path
_Reply = tuple[int, bytes, list[tuple[bytes, bytes]]]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def _error(message: str, code: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return _json(_error_body(message, code), status, headers)


def _reply_error(
    message: str, code: str, status: int, reply_id: tuple[bytes, bytes], challenge: bool = False
) -> _Reply:
    headers = [_JSON_CONTENT_TYPE, reply_id]
    if challenge:
        headers.append(_CHALLENGE)
    return status, orjson.dumps(_error_body(message, code)), headers


class GatewayApp(Starlette):
    """Starlette for the edge's small routes; GraphQL POSTs, the hot path, go straight to a
    raw ASGI handler instead of through Starlette's middleware, routing and Request."""

    def __init__(self, graphql_post: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._graphql_post = graphql_post

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/graphql":
            await self._graphql_post(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(
    gateway: Gateway | Callable[[], Awaitable[Gateway]],
    *,
    verify: TokenCheck,
    max_body_bytes: int = MAX_BODY_BYTES,
    graphiql: bool = False,
    files: FilesProxy | None = None,
) -> GatewayApp:
    """The edge app; `gateway` may be a coroutine factory run at start-up (compose in dev);
    `files` forwards /files/ to the documents service."""
    metrics = GatewayMetrics()
    holder: dict[str, Gateway] = {}
    if isinstance(gateway, Gateway):
        holder["gateway"] = gateway

    def current() -> Gateway:
        return holder["gateway"]

    async def ide(request: Request) -> Response:
        if graphiql:
            return graphiql_page("CRM gateway")
        return _error("use POST for GraphQL requests", "METHOD_NOT_ALLOWED", 405)

    async def graphql_post(scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status, body, headers = await _handle(scope, receive)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        metrics.requests.labels(str(status)).inc()
        metrics.latency.observe(time.perf_counter() - started)

    async def _handle(scope: Scope, receive: Receive) -> _Reply:
        wanted: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in _WANTED_HEADERS and name not in wanted:  # the first, as Starlette
                wanted[name] = value.decode("latin-1")
        request_id = wanted.get(b"x-request-id") or uuid.uuid4().hex
        reply_id = (b"x-request-id", request_id.encode("latin-1"))
        scheme, _, token = wanted.get(b"authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _reply_error(
                "a bearer token is required", "UNAUTHENTICATED", 401, reply_id, True
            )
        try:
            verify(token)
        except Exception as error:  # the verifier's own exception type says why
            message = str(error) or "invalid token"
            return _reply_error(message, "UNAUTHENTICATED", 401, reply_id, True)
        try:
            raw = await read_body(receive, max_body_bytes, wanted.get(b"content-length"))
        except (BodyTooLarge, BodyTimedOut, ClientDisconnect) as error:
            refused = refusal(error, max_body_bytes)
            if refused.code is None:  # the client went away (logged by the reader)
                return refused.status, b"", [reply_id]
            return _reply_error(refused.message, refused.code, refused.status, reply_id)
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _reply_error("request body is not JSON", "BAD_REQUEST", 400, reply_id)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return _reply_error("a 'query' string is required", "BAD_REQUEST", 400, reply_id)
        variables = payload.get("variables")
        operation_name = payload.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            return _reply_error("'variables' must be an object", "BAD_REQUEST", 400, reply_id)
        if operation_name is not None and not isinstance(operation_name, str):
            return _reply_error("'operationName' must be a string", "BAD_REQUEST", 400, reply_id)
        forwarded = {
            name.decode(): value for name, value in wanted.items() if name in _FORWARDED_NAMES
        }
        forwarded["x-request-id"] = request_id
        result = await current().execute(payload["query"], variables, operation_name, forwarded)
        for reported in result.body.get("errors", ()):
            service = (reported.get("extensions") or {}).get("serviceName")
            if service:
                metrics.subgraph_errors.labels(str(service)).inc()
        return result.status, orjson.dumps(result.body), [_JSON_CONTENT_TYPE, reply_id]

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        # Ready means the supergraph is loaded and requests are served. A subgraph outage only
        # fails the fields it owns (errors in the answer, `gateway_subgraph_up` on /metrics),
        # so it must not take the whole gateway out of its Service.
        if "gateway" not in holder:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ready", "subgraphs": sorted(current().client.urls)})

    async def metrics_endpoint(request: Request) -> Response:
        if "gateway" in holder:
            client = current().client
            names = list(client.urls)
            reachable = await asyncio.gather(*(client.ping(n) for n in names))
            for name, up in zip(names, reachable, strict=True):
                metrics.subgraph_up.labels(name).set(1 if up else 0)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if "gateway" not in holder and not isinstance(gateway, Gateway):
            holder["gateway"] = await gateway()
        try:
            yield
        finally:
            if files is not None:
                await files.aclose()
            if "gateway" in holder:
                await holder["gateway"].client.aclose()

    return GatewayApp(
        graphql_post,
        routes=[
            Route("/graphql", ide, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            *([files_route(files)] if files is not None else []),
            graphiql_assets(),
        ],
        lifespan=lifespan,
    )

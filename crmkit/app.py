"""The HTTP face of a service: /graphql (federation subgraph), /healthz, /readyz, /metrics."""

from __future__ import annotations

import contextlib
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import OperationDefinitionNode, parse
from graphql.error import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.federation import Schema
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from crmkit.auth import Caller, InvalidToken, TokenVerifier
from crmkit.graphiql import graphiql_assets, graphiql_page
from crmkit.graphql import DirectExecutor, GraphQLContext, public_errors
from crmkit.logs import request_id_var
from crmkit.runtime import ServiceRuntime
from crmkit.settings import MAX_BODY_BYTES

log = logging.getLogger("crm.http")

REQUESTS = Counter("crm_http_requests_total", "HTTP requests", ["service", "path", "status"])
LATENCY = Histogram(
    "crm_http_request_seconds",
    "HTTP request latency",
    ["service", "path"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def unauthenticated(message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _is_sdl_query(body: Any) -> bool:
    """``{ _service { sdl } }`` is answered without a token: composition needs it, and the
    schema is public."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return False
    try:
        document = parse(body["query"])
    except GraphQLError:
        return False
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            return False
        if definition.operation.value != "query":
            return False
        for selection in definition.selection_set.selections:
            if getattr(getattr(selection, "name", None), "value", None) != "_service":
                return False
    return True


class SubgraphApp(GraphQL[GraphQLContext, None]):
    """strawberry's ASGI app with the caller verified before any resolver runs."""

    def __init__(
        self, schema: Schema, verifier: TokenVerifier, state: Any, graphiql: bool, title: str
    ):
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self._title = title
        self._verifier = verifier
        self._state = state

    async def render_graphql_ide(self, request: Request) -> Response:
        # Ours, with vendored scripts: strawberry's page loads them from a CDN.
        return graphiql_page(self._title)

    async def get_context(self, request: Any, response: Any) -> GraphQLContext:
        caller = request.scope.get("crm.caller")
        return GraphQLContext(
            caller=caller, request_id=request_id_var.get() or "", state=self._state
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        response = process_result(result)
        if result.errors:
            response["errors"] = list(public_errors(result.errors, request_id_var.get() or ""))
        return response


async def _run(app: SubgraphApp, request: Request) -> Response:
    try:
        return await app.run(request)
    except HTTPException as error:
        return PlainTextResponse(error.reason, status_code=error.status_code)


def _json_operation(body: bytes) -> tuple[str, dict[str, Any] | None, str | None] | None:
    """``(query, variables, operationName)`` of a plain JSON GraphQL request, else None."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or payload.keys() - _PLAIN_KEYS:
        return None
    query = payload.get("query")
    variables = payload.get("variables")
    name = payload.get("operationName")
    if (
        not isinstance(query, str)
        or not (variables is None or isinstance(variables, dict))
        or not (name is None or isinstance(name, str))
    ):
        return None
    return query, variables, name


_PLAIN_KEYS = {"query", "variables", "operationName"}


def graphql_endpoint(
    schema: Schema, verifier: TokenVerifier, state: Any, *, graphiql: bool, title: str = "CRM"
) -> Callable[[Request], Awaitable[Response]]:
    app = SubgraphApp(schema, verifier, state, graphiql, title)
    direct = DirectExecutor(schema)

    async def run(request: Request, caller: Caller) -> Response:
        """A valid query or mutation POSTed as JSON runs on the direct executor; everything
        else (GraphiQL, GET, errors, multipart) through strawberry's view."""
        if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            operation = _json_operation(await request.body())
            if operation is not None:
                query, variables, name = operation
                document = direct.prepare(query, name)
                if document is not None:
                    context = GraphQLContext(
                        caller=caller, request_id=request_id_var.get() or "", state=state
                    )
                    body = await direct.execute(document, variables, name, context)
                    return Response(body, media_type="application/json")
        request.scope["crm.caller"] = caller
        return await _run(app, request)

    async def endpoint(request: Request) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            request.scope["crm.caller"] = None  # the GraphiQL page itself runs no operation
            return await _run(app, request)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "request body too large",
                            "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                        }
                    ]
                },
                status_code=413,
            )
        authorization = request.headers.get("authorization")
        if not authorization:
            with contextlib.suppress(Exception):
                if _is_sdl_query(await request.json()):
                    request.scope["crm.caller"] = None
                    return await _run(app, request)
        try:
            caller = verifier.verify_header(authorization)
        except InvalidToken as error:
            return unauthenticated(str(error))
        return await run(request, caller)

    return endpoint


def create_service_app(
    runtime: ServiceRuntime[Any],
    schema: Schema,
    *,
    state: Any,
    on_startup: Callable[[], Awaitable[None]] | None = None,
    manage_runtime: bool = True,
    freeze_gc: bool = False,
) -> Starlette:
    """A starlette app serving one subgraph; ``state`` reaches resolvers as ``context.state``.

    ``freeze_gc`` (a served process): after start-up, move every object made so far out of
    the cyclic garbage collector's reach; a full collection over the ~140,000 objects of the
    loaded schema and libraries otherwise stalls every request in flight for ~100 ms."""
    settings = runtime.settings
    verifier = TokenVerifier.from_settings(settings)
    service = runtime.service

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": service})

    async def readyz(request: Request) -> Response:
        """Ready means able to serve: the database answers at this code's schema. The bus is
        reported, not required: with NATS down writes still commit to the outbox and go out
        when it is back, so a NATS outage must not take every service out of its Service."""
        database = await runtime.database_ready()
        bus = runtime.bus_ready()
        return JSONResponse(
            {"status": "ready" if database else "not ready", "database": database, "bus": bus},
            status_code=200 if database else 503,
        )

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        if on_startup is not None:
            await on_startup()
        if freeze_gc:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    dev = settings.environment == "dev"
    endpoint = graphql_endpoint(schema, verifier, state, graphiql=dev, title=f"CRM {service}")
    app = Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *([graphiql_assets()] if dev else []),
        ],
        lifespan=lifespan,
    )
    return RequestIdMiddleware(app, service)  # type: ignore[return-value]


class RequestIdMiddleware:
    """Reads or makes ``x-request-id``, echoes it, logs it, and times the request."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode() or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        path = scope.get("path", "")
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            LATENCY.labels(self.service, path).observe(time.perf_counter() - started)
            REQUESTS.labels(self.service, path, str(status_holder["status"])).inc()
            request_id_var.reset(token)

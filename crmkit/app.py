"""The HTTP face of a service: /graphql (federation subgraph), /healthz, /readyz, /metrics."""

from __future__ import annotations

import contextlib
import functools
import gc
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cross_web import HTTPException
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from strawberry.asgi import GraphQL
from strawberry.federation import Schema
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from crmkit.auth import Caller, InvalidToken, TokenVerifier
from crmkit.body import (
    BodyTimedOut,
    BodyTooLarge,
    ClientDisconnect,
    Refusal,
    read_body,
    refusal,
)
from crmkit.control_characters import MESSAGE as CONTROL_MESSAGE
from crmkit.edge_input import (
    Operation,
    inspect_operation,
    may_hold_input_problem,
    variables_problem,
)
from crmkit.graphiql import graphiql_assets, graphiql_page
from crmkit.graphql import DirectExecutor, GraphQLContext, answering_mutations, public_errors
from crmkit.logs import request_id_var
from crmkit.query_limits import CODE as OPERATION_TOO_LARGE
from crmkit.runtime import ServiceRuntime
from crmkit.settings import MAX_BODY_BYTES

REQUESTS = Counter("crm_http_requests_total", "HTTP requests", ["service", "path", "status"])
LATENCY = Histogram(
    "crm_http_request_seconds",
    "HTTP request latency",
    ["service", "path"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def error_response(
    message: str, code: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A refusal before any operation ran, as a GraphQL error (never plain text)."""
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers=headers,
    )


def unauthenticated(message: str) -> JSONResponse:
    return error_response(message, "UNAUTHENTICATED", 401, {"WWW-Authenticate": "Bearer"})


# The one request a service answers without a token (``{ _service { sdl } }``, composition
# needs it) is small; a tokenless body is read no further than this.
TOKENLESS_BODY_BYTES = 64 * 1024


def refused_body(refused: Refusal) -> Response:
    """A refused body's answer, as a GraphQL error (none for a client that went away)."""
    if refused.code is None:
        return Response(status_code=refused.status)
    return error_response(refused.message, refused.code, refused.status)


def _input_refused(path: str, what: str = CONTROL_MESSAGE) -> JSONResponse:
    """``variablePath`` (``["filter", "search"]``) lets a client show the refusal beside the
    box the variable's value came from, as it shows a mutation's ``ValidationError``."""
    extensions: dict[str, Any] = {"code": "BAD_USER_INPUT"}
    if path.startswith("variables."):
        extensions["variablePath"] = path.split(".")[1:]
    return JSONResponse({"errors": [{"message": f"{what} ({path})", "extensions": extensions}]},
                        status_code=400)


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
        return error_response(error.reason, "BAD_REQUEST", error.status_code)


@dataclass(frozen=True)
class _Body:
    """A POST body decoded once: its JSON value, or why it is no JSON."""

    raw: bytes
    payload: Any = None
    invalid: str | None = None


@dataclass(frozen=True)
class _Unreadable:
    """Variables of a GET request that are no JSON, and why."""

    why: str


def _decode(raw: bytes) -> _Body:
    try:
        return _Body(raw, orjson.loads(raw))
    except orjson.JSONDecodeError as error:
        return _Body(raw, invalid=str(error))


def _json_operation(payload: Any) -> tuple[str, dict[str, Any] | None, str | None] | None:
    """``(query, variables, operationName)`` of a plain JSON GraphQL request, else None."""
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


def _json_request_problem(body: _Body) -> str | None:
    """Why a JSON body is no GraphQL request, checked here because the fallback's standard
    JSON parser recurses (a body nested 100,000 deep was an HTTP 500)."""
    if body.invalid is not None:
        return f"request body is not valid JSON ({body.invalid.split(':')[0]})"
    payload = body.payload
    if isinstance(payload, list):
        return "batched requests are not supported"
    if not isinstance(payload, dict):
        return "request body must be a JSON object"
    if not isinstance(payload.get("query"), str):
        return "a 'query' string is required"
    if payload.get("variables") is not None and not isinstance(payload["variables"], dict):
        return "'variables' must be an object"
    if payload.get("operationName") is not None and not isinstance(payload["operationName"], str):
        return "'operationName' must be a string"
    return None


def graphql_endpoint(
    schema: Schema,
    verifier: TokenVerifier,
    state: Any,
    *,
    graphiql: bool,
    title: str = "CRM",
    introspection: bool = True,
) -> Callable[[Request], Awaitable[Response]]:
    """The service's /graphql. Every operation needs a valid token (checked before the body
    is read) except ``{ _service { sdl } }``; bodies are counted as they arrive; the
    operation's text is bounded before validation (:mod:`crmkit.query_limits`); every refusal
    is a GraphQL error in JSON."""
    app = SubgraphApp(schema, verifier, state, graphiql, title)
    direct = DirectExecutor(schema)
    mutation = schema._schema.mutation_type
    inspected = functools.lru_cache(maxsize=2048)(functools.partial(
        inspect_operation, answering=answering_mutations(schema._schema),
        mutation=mutation.name if mutation is not None else "Mutation"))

    async def run(request: Request, caller: Caller | None, body: _Body | None) -> Response:
        """A valid query or mutation POSTed as JSON runs on the direct executor; everything
        else (GET, errors, multipart) through strawberry's view."""
        if body is not None and request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            problem = _json_request_problem(body)
            if problem is not None:
                return error_response(problem, "BAD_REQUEST", 400)
            operation = _json_operation(body.payload)
            if operation is not None and caller is not None:
                query, variables, name = operation
                document = direct.prepare(query, name)
                if document is not None:
                    context = GraphQLContext(
                        caller=caller, request_id=request_id_var.get() or "", state=state
                    )
                    result = await direct.execute(document, variables, name, context)
                    return Response(result, media_type="application/json")
        request.scope["crm.caller"] = caller
        return await _run(app, request)

    def variables_of(request: Request, body: _Body | None) -> Any:
        if body is None:
            raw = request.query_params.get("variables")
            try:
                return orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError as error:
                # Refused here as a POST body is: strawberry's own parser would take what
                # orjson refuses (a lone surrogate's escape) past the check below.
                return _Unreadable(str(error).split(":")[0])
        return body.payload.get("variables") if isinstance(body.payload, dict) else None

    def query_of(request: Request, body: _Body | None) -> str | None:
        if body is None:
            return request.query_params.get("query")
        payload = body.payload
        if isinstance(payload, dict) and isinstance(payload.get("query"), str):
            return str(payload["query"])
        return None

    async def endpoint(request: Request) -> Response:
        get = request.method == "GET"
        if get and "query" not in request.query_params:
            if graphiql and "text/html" in request.headers.get("accept", ""):
                return graphiql_page(title)
            return error_response("use POST, or GET with a 'query' parameter",
                                  "BAD_REQUEST", 404 if not graphiql else 400)
        authorization = request.headers.get("authorization")
        caller: Caller | None = None
        if authorization or get:
            try:
                caller = verifier.verify_header(authorization)
            except InvalidToken as error:
                return unauthenticated(str(error))
        body: _Body | None = None
        if not get:
            limit = MAX_BODY_BYTES if caller is not None else TOKENLESS_BODY_BYTES
            try:
                raw = await read_body(request.receive, limit,
                                      request.headers.get("content-length"))
            except (BodyTooLarge, BodyTimedOut, ClientDisconnect) as error:
                if caller is None and isinstance(error, BodyTooLarge):
                    return unauthenticated("missing bearer token")
                return refused_body(refusal(error, limit))  # a disconnect: logged by the reader
            request._body = raw  # what strawberry's view reads
            body = _decode(raw)
        query = query_of(request, body)
        operation = inspected(query) if query is not None else Operation()
        if caller is None and not operation.sdl_only:
            return unauthenticated("missing bearer token")
        if operation.error is not None:
            return error_response(operation.error, OPERATION_TOO_LARGE, 400)
        if operation.introspection and not introspection:
            return error_response("introspection is disabled", "GRAPHQL_VALIDATION_FAILED", 400)
        if operation.control_characters is not None:
            return _input_refused(operation.control_characters)
        variables = variables_of(request, body)
        if isinstance(variables, _Unreadable):
            return error_response(f"'variables' is not valid JSON ({variables.why})",
                                  "BAD_REQUEST", 400)
        if variables is not None and (body is None or may_hold_input_problem(body.raw)):
            problem = variables_problem(variables, operation.answered_variables)
            if problem is not None:
                return _input_refused(*problem)
        return await run(request, caller, body)

    return endpoint


def create_service_app(
    runtime: ServiceRuntime[Any],
    schema: Schema,
    *,
    state: Any,
    on_startup: Callable[[], Awaitable[None]] | None = None,
    routes: Sequence[BaseRoute] = (),
    manage_runtime: bool = True,
    freeze_gc: bool = False,
) -> Starlette:
    """A starlette app serving one subgraph; ``state`` reaches resolvers as ``context.state``;
    ``routes`` are the service's own beside /graphql (the documents' /files/, the
    notifications' /feeds/).

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
    endpoint = graphql_endpoint(schema, verifier, state, graphiql=dev, title=f"CRM {service}",
                                introspection=settings.environment != "prod")
    app = Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *routes,
            *([graphiql_assets()] if dev else []),
        ],
        lifespan=lifespan,
    )
    return RequestIdMiddleware(GraphQLFirst(app, endpoint), service)  # type: ignore[return-value]


# Every path no route serves shares one metrics label: each random 404 path used to add one.
KNOWN_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
ASSETS_PREFIX = "/graphiql-assets/"
OTHER_PATH = "other"


def path_label(path: str) -> str:
    if path in KNOWN_PATHS:
        return path
    if path.startswith(ASSETS_PREFIX):
        return ASSETS_PREFIX.rstrip("/")
    return OTHER_PATH


class GraphQLFirst:
    """POST /graphql, the hot path, straight to its endpoint; everything else through
    Starlette's middleware and routing (a few dozen calls a request that it does not need:
    the endpoint answers every refusal itself, and an exception still ends as a 500)."""

    def __init__(self, app: Starlette, endpoint: Callable[[Request], Awaitable[Response]]):
        self.app = app
        self.endpoint = endpoint

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/graphql":
            response = await self.endpoint(Request(scope, receive, send))
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class RequestIdMiddleware:
    """Reads or makes ``x-request-id``, echoes it, logs it, and times the request."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service
        # The metrics' children by label values (looking them up took a lock each time).
        self._latency = functools.cache(lambda path: LATENCY.labels(service, path))
        self._requests = functools.cache(
            lambda path, status: REQUESTS.labels(service, path, str(status)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode()
                break
        request_id = request_id or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        path = path_label(scope.get("path", ""))
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
            self._latency(path).observe(time.perf_counter() - started)
            self._requests(path, status_holder["status"]).inc()
            request_id_var.reset(token)

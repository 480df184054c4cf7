"""Calls subgraphs over one pooled HTTP client, with a hard deadline per request.

The default client is aiohttp's: per request it costs a fraction of httpx's CPU, and the
gateway makes at least one subgraph request per client request. An httpx client can be passed
instead (tests use one with in-process ASGI transports).

Identical subgraph requests of query operations that are in flight at the same time are sent
once and their answer shared (as Hive Gateway and Apollo Router do): same URL, same body
(operation and variables, so the same representations) and same `Authorization`, so the same
caller. Each waiter decodes the shared bytes itself, so no two client responses share objects.
The shared request carries the first waiter's trace headers. Mutations are never shared.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp
import httpx
import orjson

from crmkit.shared_http import no_aiohttp_cookies

_JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}
_PING = b'{"query":"{ __typename }"}'
# Idle pooled connections are dropped before uvicorn's default 5 s keep-alive ends, so a
# request is not sent on a connection the subgraph is closing at that moment.
_KEEPALIVE_SECONDS = 4.0


# URL, request body, Authorization: requests equal on these get the same answer.
_SharedKey = tuple[str, bytes, str | None]


class SubgraphFailure(Exception):
    """A subgraph could not answer: unreachable, too slow, or not speaking GraphQL."""

    def __init__(self, graph: str, code: str, detail: str) -> None:
        self.graph = graph
        self.code = code
        super().__init__(f"subgraph {graph!r} {detail}")


class _Unreachable(Exception):
    """The request did not get an HTTP answer (connection refused, reset, ...)."""

    def __init__(self, cause: BaseException) -> None:
        self.kind = type(cause).__name__
        super().__init__(str(cause))


class _Poster(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """POST and return (status, body); raise _Unreachable when no answer came."""
        ...

    async def aclose(self) -> None: ...


class _AiohttpPoster:
    """A keep-alive aiohttp session, created on first use (it needs the running loop)."""

    def __init__(self, connections: int) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._connections,
            limit_per_host=0,
            keepalive_timeout=_KEEPALIVE_SECONDS,
            ttl_dns_cache=60,
        )
        # The deadline is enforced by the caller around the whole request.
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            cookie_jar=no_aiohttp_cookies(),  # it serves every caller
            skip_auto_headers=("User-Agent",),
            auto_decompress=True,
        )
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        session = self._session or self._open()
        try:
            async with session.post(url, data=body, headers=headers) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, OSError) as error:
            raise _Unreachable(error) from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _HttpxPoster:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.TimeoutException as error:
            raise TimeoutError from error
        except (httpx.HTTPError, OSError) as error:
            raise _Unreachable(error) from error
        return response.status_code, response.content

    async def aclose(self) -> None:
        """The caller passed the client in and closes it."""


class SubgraphClient:
    """Posts GraphQL operations to subgraphs by name."""

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        timeout: float = 10.0,
        http: httpx.AsyncClient | None = None,
        connections: int = 256,
        deduplicate: bool = True,
    ) -> None:
        self.urls = dict(urls)
        self.timeout = timeout
        self.deduplicate = deduplicate
        self._poster: _Poster = _AiohttpPoster(connections) if http is None else _HttpxPoster(http)
        self._in_flight: dict[_SharedKey, asyncio.Task[tuple[int, bytes]]] = {}

    async def aclose(self) -> None:
        for task in list(self._in_flight.values()):
            task.cancel()
        await self._poster.aclose()

    async def post(
        self,
        graph: str,
        operation: str,
        variables: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None = None,
        *,
        shareable: bool = False,
    ) -> dict[str, Any]:
        """Send one operation; return the decoded GraphQL response or raise SubgraphFailure.

        `shareable`: the operation only reads (a query plan's request), so an identical
        request already in flight may answer it.
        """
        body: dict[str, Any] = {"query": operation}
        if variables:
            body["variables"] = variables
        request_headers = {**_JSON_HEADERS, **headers} if headers else _JSON_HEADERS
        try:
            async with asyncio.timeout(self.timeout):
                url, payload = self.urls[graph], orjson.dumps(body)
                if shareable and self.deduplicate:
                    status, content = await self._shared(url, payload, request_headers)
                else:
                    status, content = await self._poster.post(url, payload, request_headers)
        except TimeoutError as error:
            raise SubgraphFailure(
                graph, "SUBGRAPH_TIMEOUT", f"did not answer within {self.timeout:g}s"
            ) from error
        except _Unreachable as error:
            raise SubgraphFailure(
                graph, "SUBGRAPH_UNAVAILABLE", f"is unavailable ({error.kind})"
            ) from error
        try:
            decoded = orjson.loads(content)
        except orjson.JSONDecodeError as error:
            raise SubgraphFailure(
                graph, "SUBGRAPH_BAD_RESPONSE", f"answered HTTP {status} without JSON"
            ) from error
        if not isinstance(decoded, dict) or ("data" not in decoded and "errors" not in decoded):
            raise SubgraphFailure(
                graph, "SUBGRAPH_BAD_RESPONSE", f"answered HTTP {status} without data"
            )
        return decoded

    async def _shared(
        self, url: str, payload: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        key = (url, payload, headers.get("authorization"))
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._post_within_deadline(url, payload, headers))
            self._in_flight[key] = task
            task.add_done_callback(functools.partial(self._settled, key))
        # A waiter that gives up (its own deadline) does not cancel the others' request.
        return await asyncio.shield(task)

    async def _post_within_deadline(
        self, url: str, payload: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        async with asyncio.timeout(self.timeout):
            return await self._poster.post(url, payload, headers)

    def _settled(self, key: _SharedKey, task: asyncio.Task[tuple[int, bytes]]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have given up already

    async def ping(self, graph: str) -> bool:
        """True when the subgraph's server answers at all (a 401 still proves it is up)."""
        try:
            async with asyncio.timeout(self.timeout):
                status, _ = await self._poster.post(self.urls[graph], _PING, _JSON_HEADERS)
        except (TimeoutError, _Unreachable):
            return False
        return status < 500

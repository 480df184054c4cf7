"""Signed ``/files/`` URLs forwarded to the service behind, streamed both ways (up to 50 MB a
file, never held whole): the gateway forwards them to the documents service where no ingress
routes ``/files/`` itself, and the web app to the gateway, so the browser PUTs and GETs bytes
on its own origin. No bearer token: the signed URL is the authorisation, checked by the
documents service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from crmkit.shared_http import no_aiohttp_cookies

# Hop-by-hop and framing headers are the proxy's own on each side.
REQUEST_HEADERS = ("content-type", "content-length", "range", "if-range", "if-none-match",
                   "x-request-id", "traceparent", "tracestate")
RESPONSE_HEADERS = ("content-type", "content-length", "content-range", "content-disposition",
                    "etag", "accept-ranges", "cache-control", "content-security-policy",
                    "x-content-type-options", "allow", "x-request-id")
CHUNK_BYTES = 256 * 1024


class FilesProxy:
    def __init__(self, base_url: str, *, timeout_seconds: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, auto_decompress=False,
                cookie_jar=no_aiohttp_cookies(),  # it serves every caller
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def forward(self, request: Request) -> Response:
        headers = {n: v for n in REQUEST_HEADERS if (v := request.headers.get(n)) is not None}
        body: AsyncIterator[bytes] | None = None
        if request.method == "PUT":
            body = request.stream()  # with its Content-Length when the client sent one
        url = f"{self.base_url}{request.url.path}"
        try:
            answer = await self.session().request(
                request.method, url, data=body, headers=headers, allow_redirects=False
            )
        except (aiohttp.ClientError, TimeoutError, OSError):
            return JSONResponse(
                {"errors": [{"message": "the documents service is unreachable",
                             "extensions": {"code": "BAD_GATEWAY"}}]},
                status_code=502,
            )
        kept = {n: v for n in RESPONSE_HEADERS if (v := answer.headers.get(n)) is not None}
        if request.method == "HEAD" or answer.status in (204, 304):
            answer.release()
            return Response(status_code=answer.status, headers=kept)
        return StreamingResponse(
            answer.content.iter_chunked(CHUNK_BYTES),
            status_code=answer.status,
            headers=kept,
            background=BackgroundTask(answer.release),
        )

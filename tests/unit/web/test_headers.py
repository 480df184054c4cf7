"""The web app's security headers: on pages and refusals, not ``no-store`` on static files,
and an answer's own header (a file's sandboxing policy) kept."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from web.headers import CONTENT_SECURITY_POLICY, SecurityHeaders

pytestmark = pytest.mark.asyncio


async def page(request: Request) -> Response:
    return PlainTextResponse("board")


async def file(request: Request) -> Response:
    return Response(b"%PDF", headers={"content-security-policy": "sandbox",
                                      "cache-control": "private, max-age=60"})


APP = SecurityHeaders(Starlette(routes=[
    Route("/", page), Route("/static/app.js", page), Route("/files/x", file)]))


async def get(path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP),
                                 base_url="http://web") as client:
        return await client.get(path)


async def test_a_page_and_a_refusal_get_every_header() -> None:
    for path, status in (("/", 200), ("/nowhere", 404)):
        answer = await get(path)
        assert answer.status_code == status
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["cache-control"] == "no-store"


async def test_static_files_stay_cacheable() -> None:
    answer = await get("/static/app.js")
    assert "cache-control" not in answer.headers
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_an_answers_own_headers_are_kept() -> None:
    answer = await get("/files/x")
    assert answer.headers["content-security-policy"] == "sandbox"
    assert answer.headers["cache-control"] == "private, max-age=60"
    assert answer.headers["x-content-type-options"] == "nosniff"

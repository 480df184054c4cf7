"""/files/: the signed upload and download URLs the API answers are paths on the origin the
client reached it on, so the browser PUTs and GETs them here, on the app's own origin (no
cross-origin request), and they are forwarded to the gateway, streamed both ways. The signed
URL is what authorises the transfer; the sign-in and CSRF checks of every request apply too."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.context import web_of


async def forward(request: Request) -> Response:
    return await web_of(request).files.forward(request)


routes = [Route("/files/{token}", forward, methods=["GET", "HEAD", "PUT"])]

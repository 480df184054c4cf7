"""Security headers on every answer of the web app.

- A Content Security Policy: scripts only from the app's own files (no inline script or
  handler, no eval), every request to the app's origin, no plugin, no ``<base>`` elsewhere,
  and no framing (a board framed by another site could have its drags and clicks hijacked).
  Inline ``style`` attributes stay allowed (the templates size inputs with them; htmx adds its
  indicator style). No ``form-action``: Chrome applies it to a form's redirects too, and
  signing out redirects to the identity provider.
- ``nosniff``; ``Referrer-Policy: same-origin`` (a deal's address is not sent to a site it
  links to); ``X-Frame-Options`` for browsers without ``frame-ancestors``.
- ``Cache-Control: no-store`` on everything but the static files: a member's pages stay out
  of shared caches, and Back after signing out on a shared computer fetches anew (and finds
  the sign-in page) instead of showing the last member's pipeline.

An answer that set one of these itself (a file from ``/files/``, with its own sandboxing
policy) keeps its own."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
))
HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
)
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)

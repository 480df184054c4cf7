"""Per request: the session from its cookie (written back when it changed), the member's
language and time zone, the sign-in guard, and CSRF protection of every unsafe request (a
form's body read by the kit's reader, as the gateway's and the services': at most 12 MiB, a
client stalling 20 s answered 408)."""

from __future__ import annotations

import hmac
from dataclasses import asdict
from urllib.parse import quote, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmkit.body import BodyTimedOut, BodyTooLarge, ClientDisconnect, read_body, refusal
from web import i18n
from web.context import MAX_FORM_BYTES, Web
from web.session import COOKIE, SessionCodec

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reachable without signing in.
PUBLIC_PREFIXES = ("/sign-in", "/static/", "/healthz", "/readyz", "/metrics", "/oidc/", "/favicon")
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def refused_form(error: BodyTooLarge | BodyTimedOut | ClientDisconnect) -> Response:
    """A form's body the kit's reader refused, answered as the gateway and the services
    answer theirs, in plain text (a browser shows it; a client that went away gets nothing:
    the reader logged it)."""
    refused = refusal(error, MAX_FORM_BYTES)
    if refused.code is None:
        return Response(status_code=refused.status)
    return PlainTextResponse(refused.message, status_code=refused.status)


class WebMiddleware:
    def __init__(self, app: ASGIApp, web: Web) -> None:
        self.app = app
        self.web = web
        self.codec = SessionCodec(web.web.session_secret, web.web.session_hours * 3600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request = Request(scope)
        cookie = request.cookies.get(COOKIE)
        session = self.codec.loads(cookie)
        before = asdict(session) if cookie else None
        scope["crm.session"] = session
        locale = (
            session.locale
            or session.org_locale
            or _accepted(headers.get("accept-language"))
            or self.web.web.default_locale
        )
        i18n.activate(locale, self.web.zone)
        secure = (
            self.web.web.secure_cookies
            if self.web.web.secure_cookies is not None
            else scope.get("scheme") == "https"
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and asdict(session) != before:
                value = self.codec.dumps(session)
                attributes = f"Path=/; HttpOnly; SameSite=Lax; Max-Age={self.codec.max_age}"
                if secure:
                    attributes += "; Secure"
                cookie_header = f"{COOKIE}={value}; {attributes}"
                MutableHeaders(scope=message).append("set-cookie", cookie_header)
            await send(message)

        path: str = scope["path"]
        public = path.startswith(PUBLIC_PREFIXES)
        method: str = scope["method"]
        if method not in SAFE_METHODS:
            refusal, receive = await self._check_csrf(scope, receive, headers, session.csrf)
            if refusal is not None:
                await refusal(scope, receive, send_with_cookie)
                return
        if not public and not session.signed_in:
            if session.token is not None:
                session.sign_out()
            target = "/sign-in"
            if method == "GET" and path != "/":
                target += "?next=" + quote(path + ("?" + scope["query_string"].decode()
                                                   if scope["query_string"] else ""))
            response: Response
            if headers.get("hx-request") == "true":
                response = Response(status_code=204, headers={"HX-Redirect": target})
            else:
                response = RedirectResponse(target, status_code=303)
            await response(scope, receive, send_with_cookie)
            return
        await self.app(scope, receive, send_with_cookie)

    async def _check_csrf(
        self, scope: Scope, receive: Receive, headers: Headers, expected: str
    ) -> tuple[Response | None, Receive]:
        """A request from another site is refused: its Origin is not ours, or it lacks the
        session's CSRF token (htmx sends it as a header, plain forms as a hidden field)."""
        origin = headers.get("origin")
        allowed = {_own_origin(scope, headers)}
        if self.web.web.public_url:
            allowed.add(_origin_of(self.web.web.public_url))
        if origin is not None and origin not in allowed:
            return _forbidden("cross-site request refused"), receive
        sent = headers.get(CSRF_HEADER)
        if sent is None:
            try:
                body = await read_body(receive, MAX_FORM_BYTES, headers.get("content-length"))
            except (BodyTooLarge, BodyTimedOut, ClientDisconnect) as error:
                return refused_form(error), receive
            receive = _replay(body, then=receive)
            form = await Request(scope, _replay(body)).form(max_part_size=MAX_FORM_BYTES)
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
        if sent is None or not hmac.compare_digest(sent.encode(), expected.encode()):
            return _forbidden("the form has expired: reload the page and try again"), receive
        return None, receive


def _accepted(header: str | None) -> str | None:
    """The first of our languages the browser asks for (before the member's org is known)."""
    if not header:
        return None
    ranked = []
    for i, part in enumerate(header.split(",")):
        tag, _, weight = part.strip().partition(";q=")
        try:
            quality = float(weight) if weight else 1.0
        except ValueError:
            continue
        ranked.append((-quality, i, tag))
    for _, _, tag in sorted(ranked):
        language = i18n.normalise(tag)
        if language is not None:
            return language
    return None


def _own_origin(scope: Scope, headers: Headers) -> str:
    scheme = scope.get("scheme", "http")
    return f"{scheme}://{headers.get('host', '')}"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _forbidden(message: str) -> Response:
    return PlainTextResponse(message, status_code=403)


def _replay(body: bytes, then: Receive | None = None) -> Receive:
    """A receive channel that gives ``body`` once, then waits on ``then`` (the client's)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            if then is not None:
                return await then()
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay

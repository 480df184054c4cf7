"""OpenID Connect sign-in: off to the org's identity provider, and back."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from web import i18n
from web.api import SignedOut
from web.context import render, session_of, web_of
from web.oidc import OpenIDConnect, SignInFailed
from web.routes.auth import safe_next, start_session


def _provider(request: Request) -> OpenIDConnect | None:
    provider: OpenIDConnect | None = request.app.state.oidc
    return provider


def _redirect_uri(request: Request) -> str:
    public = web_of(request).web.public_url
    if public:
        return public.rstrip("/") + "/oidc/callback"
    return str(request.url_for("oidc-callback"))


def _refused(request: Request, message: str) -> Response:
    return render(request, "error.html", status=400,
                  message=i18n.gettext("Signing in failed: %(why)s") % {"why": message})


async def login(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return render(request, "error.html", status=404, message=i18n.gettext("Page not found"))
    try:
        started = await provider.start(
            _redirect_uri(request), safe_next(request.query_params.get("next"))
        )
    except SignInFailed as error:
        return _refused(request, str(error))
    session_of(request).oidc = started.state
    return RedirectResponse(started.url, status_code=303)


async def callback(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return render(request, "error.html", status=404, message=i18n.gettext("Page not found"))
    session = session_of(request)
    started, session.oidc = session.oidc or {}, None  # a code is redeemed once
    try:
        signed_in = await provider.finish(
            _redirect_uri(request), dict(request.query_params), started
        )
        await start_session(request, signed_in.token, signed_in.expires_at)
        session.id_token = signed_in.id_token
    except SignInFailed as error:
        return _refused(request, str(error))
    except SignedOut:
        return _refused(request, i18n.gettext("the CRM does not accept this account's token"))
    return RedirectResponse(safe_next(started.get("next")), status_code=303)


routes = [
    Route("/oidc/login", login, methods=["GET"]),
    Route("/oidc/callback", callback, methods=["GET"], name="oidc-callback"),
]

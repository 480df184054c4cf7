"""The web app: starlette routes rendering Jinja2 templates, with htmx for partial updates."""

from __future__ import annotations

import contextlib
import logging
import zoneinfo
from collections.abc import AsyncIterator
from pathlib import Path

import jinja2
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crmkit.body import BodyTimedOut, BodyTooLarge, ClientDisconnect
from crmkit.files_proxy import FilesProxy
from crmkit.settings import Settings
from web import i18n
from web.api import Api, ApiUnavailable, InvalidInput, NotFound, SignedOut
from web.context import Web, is_htmx, redirect, render, session_of
from web.errors import fix_label, requirement_label
from web.headers import SecurityHeaders
from web.metrics import MetricsMiddleware, WebMetrics
from web.middleware import WebMiddleware, refused_form
from web.oidc import OpenIDConnect
from web.routes import all_routes
from web.settings import WebSettings

HERE = Path(__file__).resolve().parent
log = logging.getLogger("crm.web")


def gateway_url(settings: Settings, web: WebSettings) -> str:
    if web.gateway_url:
        return web.gateway_url
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.gateway_port}/graphql"


def gateway_origin(graphql_url: str) -> str:
    """Where the gateway serves /files/: its /graphql URL without the path."""
    return graphql_url.removesuffix("/").removesuffix("/graphql")


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        money=i18n.money,
        number=i18n.number,
        percent=i18n.percent,
        date=i18n.date,
        datetime=i18n.datetime,
        time=i18n.time,
        duration=i18n.duration,
        local_input=i18n.local_input,
    )
    env.globals.update(
        now=i18n.now,
        language_name=i18n.language_name,
        LOCALES=i18n.LOCALES,
        requirement_label=requirement_label,
        fix_label=fix_label,
    )
    return env


def create_app(settings: Settings, web_settings: WebSettings) -> Starlette:
    metrics = WebMetrics()
    api = Api(gateway_url(settings, web_settings), web_settings.gateway_timeout, metrics.gateway)
    web = Web(
        settings=settings,
        web=web_settings,
        api=api,
        templates=make_templates(),
        zone=zoneinfo.ZoneInfo(web_settings.timezone),
        files=FilesProxy(gateway_origin(gateway_url(settings, web_settings))),
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "web"})

    async def readyz(request: Request) -> Response:
        ready = await api.ready()
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "gateway": ready},
            status_code=200 if ready else 503,
        )

    async def metrics_endpoint(request: Request) -> Response:
        # Prometheus scrapes the pod's own address. The public origin's ingress routes every
        # other path here and adds X-Forwarded-For: through it, there is no such page.
        if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
            return await not_found(request, LookupError(request.url.path))
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def signed_out(request: Request, exc: Exception) -> Response:
        session_of(request).sign_out()
        return redirect(request, "/sign-in")

    async def unavailable(request: Request, exc: Exception) -> Response:
        # Input a page does not place beside its box (typed into its address, say): what is
        # wrong with it (400), rather than the service failing (502); what the address names
        # and is not there: not found.
        if isinstance(exc, NotFound):
            return await not_found(request, exc)
        message, status = (exc.problem, 400) if isinstance(exc, InvalidInput) else (str(exc), 502)
        if is_htmx(request):  # into the page's flash: htmx swaps 2xx answers only
            return render(request, "partials/flash.html", level="error", message=message,
                          headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
        return render(request, "error.html", status=status, message=message)

    async def body_refused(request: Request, exc: Exception) -> Response:
        # A form's body the kit's reader refused (web.context.form_of), as the CSRF check does.
        assert isinstance(exc, BodyTooLarge | BodyTimedOut | ClientDisconnect)
        return refused_form(exc)

    async def not_found(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", status=404, message=i18n.gettext("Page not found"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await api.aclose()
            await web.files.aclose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
            *all_routes(),
        ],
        exception_handlers={SignedOut: signed_out, ApiUnavailable: unavailable, 404: not_found,
                            BodyTimedOut: body_refused, BodyTooLarge: body_refused,
                            ClientDisconnect: body_refused},
        lifespan=lifespan,
    )
    app.state.web = web
    app.state.oidc = OpenIDConnect(web_settings) if web_settings.oidc_enabled else None
    app.add_middleware(WebMiddleware, web=web)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeaders)  # outermost: redirects and refusals get them too
    return app

"""What every route uses: the app's parts, the session, GraphQL calls, rendering, redirects."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crmkit.body import read_body
from crmkit.files_proxy import FilesProxy
from crmkit.settings import Settings
from crmkit.values import FIRST_YEAR, LAST_YEAR
from web import i18n
from web.api import Api, SignedOut
from web.session import Session
from web.settings import WebSettings

# A form's body, files included (a lead import's CSV), is read whole up to this.
MAX_FORM_BYTES = 12 * 1024 * 1024


@dataclass
class Web:
    settings: Settings
    web: WebSettings
    api: Api
    templates: jinja2.Environment
    zone: zoneinfo.ZoneInfo
    files: FilesProxy
    """/files/ (signed uploads and downloads) forwarded to the gateway."""

    @property
    def dev_sign_in(self) -> bool:
        if self.web.dev_sign_in is not None:
            return self.web.dev_sign_in
        return self.settings.environment != "prod"


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def session_of(request: Request) -> Session:
    session: Session = request.scope["crm.session"]
    return session


async def query(request: Request, document: str, **variables: Any) -> dict[str, Any]:
    """Run one GraphQL operation as the signed-in member."""
    session = session_of(request)
    if session.token is None or not session.signed_in:
        raise SignedOut
    return await web_of(request).api(
        session.token, document, variables, request_id=request.headers.get("x-request-id")
    )


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    session = session_of(request)
    page = web_of(request).templates.get_template(template).render(
        request=request,
        session=session,
        csrf=session.csrf,
        locale=i18n.current_locale(),
        htmx=is_htmx(request),
        dev_sign_in=web_of(request).dev_sign_in,
        **context,
    )
    return HTMLResponse(page, status_code=status, headers=headers)


def redirect(request: Request, url: str) -> Response:
    """A full navigation, also from an htmx request (which would otherwise swap the page in)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def form_of(request: Request) -> FormData:
    """The submitted form (the CSRF check verified it), its body read by the kit's reader:
    at most ``MAX_FORM_BYTES``, a client that stalls answered 408 (see ``web.app``)."""
    if not hasattr(request, "_body"):
        request._body = await read_body(
            request.receive, MAX_FORM_BYTES, request.headers.get("content-length"))
    return await request.form(max_part_size=MAX_FORM_BYTES)


def text(form: FormData, name: str) -> str | None:
    """A text field, stripped; None when empty or missing."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def version_of(form: FormData) -> int:
    """The version a form was drawn with (its hidden field), or -1 when it holds none: the
    API then answers a conflict with the current version, as for a change someone else made
    (a tampered field was a server error)."""
    try:
        return int(text(form, "version") or "")
    except ValueError:
        return -1


def day_in_address(raw: str | None) -> dt.date | None:
    """A date a page's address names (``?date=2026-12-07``), or None when it names none the
    API takes (``crmkit.values.instant``: years 1970-9000): the page then shows its default.
    Year 9999 was an error page (the week after it overflows)."""
    try:
        day = dt.date.fromisoformat(raw or "")
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None

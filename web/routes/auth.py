"""Signing in and out, and the member's choice of language.

Dev: a page listing the demo org's members (one click) and a form for any member of any org;
both mint a token with the kit's dev key. Production: OpenID Connect (``web.oidc``).
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crm.demo import DEMO_MEMBERS, DEMO_ORG
from crmkit.auth import Role, mint_dev_token
from web import i18n
from web.api import SignedOut
from web.context import form_of, query, redirect, render, session_of, text, web_of
from web.i18n import N_
from web.oidc import OpenIDConnect
from web.session import Session

DEV_TOKEN_HOURS = 12
ROLE_LABELS = {"rep": N_("Sales rep"), "manager": N_("Manager"), "admin": N_("Administrator")}
Q_WHO = "query Who { me { id name team roles } organizationSettings { locale } }"


def safe_next(target: str | None) -> str:
    """Only a path of this app: never an absolute URL (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


async def sign_in_page(request: Request) -> Response:
    web = web_of(request)
    session = session_of(request)
    if session.signed_in:
        return redirect(request, "/")
    return render(
        request,
        "sign_in.html",
        demo_members=DEMO_MEMBERS if web.dev_sign_in else (),
        demo_org=DEMO_ORG,
        oidc=web.web.oidc_enabled,
        next=safe_next(request.query_params.get("next")),
        roles=[r.value for r in Role],
        role_labels=ROLE_LABELS,
        errors={},
        values={},
    )


async def dev_sign_in(request: Request) -> Response:
    web = web_of(request)
    if not web.dev_sign_in:
        return render(request, "error.html", status=404, message=i18n.gettext("Page not found"))
    form = await form_of(request)
    demo_key = text(form, "demo")
    errors: dict[str, str] = {}
    if demo_key is not None:
        found = next((m for m in DEMO_MEMBERS if m.key == demo_key), None)
        if found is None:
            errors["demo"] = i18n.gettext("No such demo member")
        else:
            org, member, role, team, name = DEMO_ORG, found.id, found.role, found.team, found.name
            groups = list(found.groups)
    else:
        org_text, member_text = text(form, "org") or "", text(form, "member") or ""
        name = text(form, "name") or ""
        role = text(form, "role") or ""
        team = text(form, "team")
        groups = [g.strip() for g in (text(form, "groups") or "").split(",") if g.strip()]
        try:
            org = uuid.UUID(org_text)
        except ValueError:
            errors["org"] = i18n.gettext("Enter the organisation's id (a UUID)")
        try:
            member = uuid.UUID(member_text) if member_text else uuid.uuid4()
        except ValueError:
            errors["member"] = i18n.gettext("Enter the member's id (a UUID) or leave it empty")
        if not name:
            errors["name"] = i18n.gettext("Enter a name")
        if role not in {r.value for r in Role}:
            errors["role"] = i18n.gettext("Choose a role")
    next_page = safe_next(text(form, "next"))
    if errors:
        return render(
            request,
            "sign_in.html",
            status=422,
            demo_members=DEMO_MEMBERS,
            demo_org=DEMO_ORG,
            oidc=web.web.oidc_enabled,
            next=next_page,
            roles=[r.value for r in Role],
            role_labels=ROLE_LABELS,
            errors=errors,
            values=dict(form),
        )
    token = mint_dev_token(
        secret=web.settings.jwt_secret,
        member_id=member,
        org_id=org,
        roles=[role],
        team=team,
        groups=groups,
        name=name,
        ttl_seconds=DEV_TOKEN_HOURS * 3600,
    )
    await start_session(request, token, time.time() + DEV_TOKEN_HOURS * 3600)
    return redirect(request, next_page)


async def start_session(request: Request, token: str, expires_at: float | None) -> None:
    """Sign the member in with a token the gateway accepts; the first request also registers
    them in the org's roster and tells the org's language."""
    session = session_of(request)
    chosen = session.locale
    fresh = Session(token=token, expires_at=expires_at, locale=chosen)
    session.__dict__.update(fresh.__dict__)  # a new CSRF token with the new identity
    try:
        data = await query(request, Q_WHO)
    except SignedOut:
        session.sign_out()
        raise
    me = data["me"]
    session.member_id = me["id"]
    session.name = me["name"]
    session.team = me["team"]
    session.roles = list(me["roles"])
    session.org_locale = str(data["organizationSettings"]["locale"]).lower()


async def sign_out(request: Request) -> Response:
    """Out of the app, and out of the identity provider too when the member came from one
    that offers RP-initiated logout (it sends them back to the sign-in page)."""
    session = session_of(request)
    id_token = session.id_token
    session.sign_out()
    provider: OpenIDConnect | None = request.app.state.oidc
    if provider is not None and id_token:
        public = web_of(request).web.public_url
        back = (public.rstrip("/") + "/sign-in" if public
                else str(request.url_for("sign_in_page")))
        url = await provider.end_session_url(id_token, back)
        if url:
            return redirect(request, url)
    return redirect(request, "/sign-in")


async def choose_language(request: Request) -> Response:
    form = await form_of(request)
    chosen = i18n.normalise(text(form, "locale"))
    session = session_of(request)
    session.locale = chosen
    back = text(form, "next")
    if back is None and request.headers.get("referer"):
        parts = urlsplit(request.headers["referer"])
        back = parts.path + (f"?{parts.query}" if parts.query else "")
    return redirect(request, safe_next(back))


routes = [
    Route("/sign-in", sign_in_page, methods=["GET"]),
    Route("/sign-in/dev", dev_sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/sign-in/language", choose_language, methods=["POST"]),
]

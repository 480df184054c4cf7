"""Production sign-in: OpenID Connect (authorization code with PKCE) against a real provider
(authlib's server side, started by the test), with the dev sign-in switched off: a forged ID
token is refused, and signing out ends the provider's session too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from crmkit.embedded import free_port
from crmkit.settings import DEV_JWT_SECRET

from ..conftest import RunningSystem
from .conftest import Watch, Web
from .flows import eventually
from .idp import FORGERIES, Person, Provider

pytestmark = pytest.mark.e2e


@pytest.fixture
def provider() -> Iterator[Provider]:
    with Provider(DEV_JWT_SECRET) as running:
        yield running


@pytest.fixture
def oidc_app(system: RunningSystem, provider: Provider, watch: Watch) -> Iterator[str]:
    """A web app process signing in with the provider only."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provider.register("crm-web", "web-client-secret", f"{url}/oidc/callback",
                      post_logout_redirect_uri=f"{url}/sign-in")
    env = {
        **os.environ,
        "CRM_ENVIRONMENT": "test",
        "CRM_JWT_SECRET": DEV_JWT_SECRET,
        "CRM_GATEWAY_PORT": str(system.stack.ports["gateway"]),
        "CRM_WEB_PORT": str(port),
        "CRM_WEB_DEV_SIGN_IN": "false",
        "CRM_WEB_OIDC_ISSUER": provider.issuer,
        "CRM_WEB_OIDC_CLIENT_ID": "crm-web",
        "CRM_WEB_OIDC_CLIENT_SECRET": "web-client-secret",
    }
    process = subprocess.Popen([sys.executable, "-m", "web"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready() -> bool:
        try:
            return httpx.get(url + "/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually(ready, 30)
        watch.allowed.update({url, provider.issuer})
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_a_member_signs_in_with_the_org_identity_provider(
    web: Web, provider: Provider, oidc_app: str
) -> None:
    person = Person(str(uuid.uuid4()), str(uuid.uuid4()), "Olga Oidc", ["manager"], "south")
    provider.add(person)
    page = web.page()
    page.goto(oidc_app + "/pool")
    page.wait_for_url(re.compile("/sign-in"))
    expect(page.locator(".demo-members")).to_have_count(0)  # no dev sign-in here
    page.locator("a[href^='/oidc/login']").click()
    page.wait_for_url(provider.issuer + "/**")
    page.locator("button", has_text="Olga Oidc").click()
    page.wait_for_url(oidc_app + "/pool")
    expect(page.locator("#pool")).to_be_visible()  # the gateway took the provider's token
    page.locator("details.usermenu:not(.bell) summary").click()
    expect(page.locator("details.usermenu:not(.bell) .menu")).to_contain_text("Olga Oidc")
    expect(page.locator("details.usermenu:not(.bell) .menu")).to_contain_text("south")
    # One code, given for a PKCE challenge (S256) and redeemed (with its verifier) once.
    assert [c.code_challenge_method for c in provider.issued] == ["S256"]
    assert provider.codes == {}
    assert page.evaluate("document.cookie") == ""


def test_a_forged_or_replayed_answer_is_refused(web: Web, oidc_app: str) -> None:
    page = web.page()
    response = page.goto(oidc_app + "/oidc/callback?code=stolen&state=guessed")
    assert response is not None and response.status == 400
    expect(page.locator("main")).to_contain_text("Signing in failed")
    page.goto(oidc_app + "/")
    expect(page).to_have_url(re.compile("/sign-in"))
    with httpx.Client(base_url=oidc_app) as client:
        page_html = client.get("/sign-in").text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page_html)
        assert token is not None
        dev = client.post("/sign-in/dev", data={"demo": "rep1", "csrf_token": token.group(1)})
        assert dev.status_code == 404  # the dev sign-in is off


def sign_in_through(provider: Provider, app: str, person: Person) -> tuple[int, str, int]:
    """The authorization code flow as a browser follows it: the app's answer to the provider's
    redirect back (status and page), and the status of the board's lead pool afterwards."""
    with httpx.Client(timeout=30, headers={"Accept-Language": "en"}) as client:
        started = client.get(app + "/oidc/login")
        assert started.status_code == 303, started.text
        authorize = started.headers["location"]
        assert authorize.startswith(provider.issuer + "/authorize?")
        answer = client.post(authorize, data={"sub": person.sub})
        assert answer.status_code == 302, answer.text
        back = answer.headers["location"]
        assert back.startswith(app + "/oidc/callback?")
        result = client.get(back)
        return result.status_code, result.text, client.get(app + "/pool").status_code


def test_a_forged_id_token_is_refused(provider: Provider, oidc_app: str) -> None:
    person = Person(str(uuid.uuid4()), str(uuid.uuid4()), "Fiona Forged", ["rep"], "north")
    provider.add(person)
    # The same flow with the provider's honest answer signs in (so each refusal below is the
    # ID token's alone).
    status, _, pool = sign_in_through(provider, oidc_app, person)
    assert (status, pool) == (303, 200)
    for forgery in FORGERIES:
        provider.forge = forgery
        status, page, pool = sign_in_through(provider, oidc_app, person)
        assert status == 400, forgery
        assert "Signing in failed" in page and "ID token did not verify" in page, forgery
        assert pool == 303, forgery  # not signed in: off to the sign-in page


def test_signing_out_ends_the_identity_provider_session(
    web: Web, provider: Provider, oidc_app: str
) -> None:
    person = Person(str(uuid.uuid4()), str(uuid.uuid4()), "Sam Signout", ["rep"], "north")
    provider.add(person)
    page = web.page()
    page.goto(oidc_app + "/oidc/login")
    page.locator("button", has_text="Sam Signout").click()
    page.wait_for_url(oidc_app + "/")
    # Signed in at the provider too: another sign-in goes straight through, no login page.
    page.goto(oidc_app + "/oidc/login?next=/pool")
    page.wait_for_url(oidc_app + "/pool")
    assert len(provider.sessions) == 1
    page.locator("details.usermenu:not(.bell) summary").click()
    page.locator("form[action='/sign-out'] button").click()
    page.wait_for_url(oidc_app + "/sign-in")
    assert provider.logouts == [person.sub]
    assert provider.sessions == {}
    page.goto(oidc_app + "/pool")
    expect(page).to_have_url(re.compile("/sign-in"))
    # The provider asks who is there again instead of signing the member straight back in.
    page.goto(oidc_app + "/oidc/login")
    expect(page.locator("button", has_text="Sam Signout")).to_be_visible()

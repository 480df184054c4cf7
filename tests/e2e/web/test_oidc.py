"""Production sign-in: OpenID Connect (authorization code with PKCE) against a real provider
(authlib's server side, started by the test), with the dev sign-in switched off."""

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
from .idp import Person, Provider

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
    provider.register("crm-web", "web-client-secret", f"{url}/oidc/callback")
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
    page.locator("details.usermenu summary").click()
    expect(page.locator(".usermenu .menu")).to_contain_text("Olga Oidc")
    expect(page.locator(".usermenu .menu")).to_contain_text("south")
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

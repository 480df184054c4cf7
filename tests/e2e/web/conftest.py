"""Browser tests: Debian's Chromium driven by Playwright against the whole stack started as
processes (the ``system`` fixture). Every page the browser opens is watched: a request to any
origin but the app's own fails the test (the app must work offline, with no CDN)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    Route,
    sync_playwright,
)

from services.leads.nip import check_digit

from ..conftest import Client, Member, RunningSystem

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


# Per module, not per session: the sync API keeps an event loop running while it is open, and
# the async tests that follow need none to be running.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM}: apt-get install chromium")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield launched
    launched.close()


@dataclass
class Watch:
    """Requests the pages made outside the allowed origins (each is also aborted)."""

    allowed: set[str]
    outside: list[str] = field(default_factory=list)

    def route(self, route: Route, request: Request) -> None:
        parts = urlsplit(request.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in ("data", "blob") or origin in self.allowed:
            route.continue_()
        else:
            self.outside.append(request.url)
            route.abort()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture
def watch(system: RunningSystem) -> Watch:
    return Watch({_origin(system.web)})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def context(
    browser: Browser, watch: Watch, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    ctx.set_default_timeout(15_000)
    ctx.route("**/*", watch.route)
    errors: list[str] = []
    ctx.on("weberror", lambda error: errors.append(str(error.error)))
    # What the pages' Content Security Policy refused (an inline handler, a foreign script).
    refused: list[str] = []
    ctx.on("console", lambda message: refused.append(message.text)
           if "Content Security Policy" in message.text else None)
    yield ctx
    if request.node.stash.get(FAILED, False):
        # What the browser showed when the test failed: a screenshot and the text of each page.
        for i, opened in enumerate(ctx.pages):
            opened.screenshot(path=tmp_path / f"page-{i}.png", full_page=True)
            print(f"page {i} at {opened.url} (screenshot {tmp_path / f'page-{i}.png'}):")
            print(opened.locator("body").inner_text()[:3000])
    ctx.close()
    assert watch.outside == [], f"requests outside the app's origin: {watch.outside}"
    assert errors == [], f"script errors: {errors}"
    assert refused == [], f"refused by the pages' security policy: {refused}"


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


class Web:
    """The app in the browser, for one test."""

    def __init__(self, system: RunningSystem, context: BrowserContext) -> None:
        self.base = system.web
        self.system = system
        self.context = context
        self.clients: dict[uuid.UUID, Client] = {}

    def page(self) -> Page:
        return self.context.new_page()

    def url(self, path: str) -> str:
        return self.base + path

    def sign_in(self, page: Page, member: Member, locale: str | None = None) -> None:
        """Through the dev form for any member of any org."""
        page.goto(self.url("/sign-in"))
        if locale is not None:
            page.locator(f"button[name=locale][value={locale}]").click()
            page.wait_for_url("**/sign-in")
        page.locator("details.any-member summary").click()
        form = page.locator("details.any-member form")
        form.locator("[name=org]").fill(str(member.org_id))
        form.locator("[name=member]").fill(str(member.id))
        form.locator("[name=name]").fill(member.name)
        form.locator("[name=role]").select_option(member.role)
        form.locator("[name=team]").fill(member.team or "")
        form.locator("[name=groups]").fill("sales")
        form.locator("button[type=submit]").click()
        page.wait_for_url(lambda url: "/sign-in" not in url)

    def api(self, member: Member) -> Client:
        """The member's GraphQL client (to set up what a test needs through the API)."""
        if member.id not in self.clients:
            self.clients[member.id] = Client(self.system.gateway, member)
        return self.clients[member.id]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def web(system: RunningSystem, context: BrowserContext) -> Iterator[Web]:
    app = Web(system, context)
    yield app
    app.close()


def nip(seed: int) -> str:
    """A valid Polish NIP (the checksum digit right, the first digit not 0) made from ``seed``:
    its last nine digits, a leading 0 made 1 (not stepped past: that took up to 10^8 steps),
    then the next number with a check digit, a step or two."""
    number = seed % 10**9
    if number < 10**8:
        number += 10**8
    while (check := check_digit(str(number))) is None:
        number = number + 1 if number < 10**9 - 1 else 10**8
    return f"{number}{check}"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def typed(result: dict[str, Any], typename: str) -> dict[str, Any]:
    assert result["__typename"] == typename, result
    return result

"""`make screenshots`: every screen of the web app, with the demo organisation's data, saved
as PNG files into docs/screenshots/ (laptop width, and the board and a deal at phone width).

Run with: python -m bench.web.screenshots [output directory]
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.web.stack import Running, running_stack
from crm.demo import DEMO_MEMBERS
from crm.seed import seed
from crmkit.embedded import free_port

CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def sign_in(page: Page, base: str, who: str, locale: str = "en") -> None:
    page.goto(base + "/sign-in")
    page.locator(f"button[name=locale][value={locale}]").click()
    page.wait_for_url("**/sign-in")
    page.locator(f"button[name=demo][value={who}]").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)
    if locale != "en":  # the member's choice, kept after signing in
        page.locator("#lang-select").select_option(locale)
        page.wait_for_load_state("networkidle")


class Accepting(BaseHTTPRequestHandler):
    """A webhook receiver that takes everything (the Webhooks screen's deliveries)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def webhooks(running: Running, admin: Page, out: Path) -> None:
    """An endpoint registered from the screen, then a lead created by the API: its
    delivery listed with the receiver's answer."""
    receiver = ThreadingHTTPServer(("127.0.0.1", free_port()), Accepting)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        admin.goto(running.web + "/admin/webhooks")
        form = admin.locator("#webhook-register")
        form.locator("[name=url]").fill(f"http://127.0.0.1:{receiver.server_port}/crm")
        form.locator("[name=eventTypes]").fill("crm.leads.>\ncrm.pipeline.opportunity.won")
        form.locator("[name=description]").fill("ERP: new clients and won deals")
        form.locator("button[type=submit]").click()
        admin.locator("#webhook-secret").wait_for()
        token = next(m for m in DEMO_MEMBERS if m.key == "admin").token(running.settings.jwt_secret)
        httpx.post(running.gateway, headers={"Authorization": f"Bearer {token}"}, json={
            "query": 'mutation { createLead(input: {company: "Orion Optics"}) { __typename } }'})
        time.sleep(3)  # the notifications service sends webhooks every second
        admin.locator("#webhook-endpoints a").first.click()
        admin.locator("#webhook-deliveries tr[data-delivery]").first.wait_for()
        shot(admin, out, "21-webhooks")
    finally:
        receiver.shutdown()


def shot(page: Page, out: Path, name: str, full: bool = True) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=out / f"{name}.png", full_page=full)
    print(f"  {name}.png")


def take(running: Running, out: Path) -> None:
    base = running.web
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=LAPTOP, locale="en-GB")
        page = context.new_page()
        page.goto(base + "/sign-in")
        shot(page, out, "01-sign-in", full=False)

        sign_in(page, base, "rep1")
        page.goto(base + "/")
        shot(page, out, "02-board", full=False)
        # A move the stage gate refuses: the card comes back listing what is missing.
        first = page.locator("ol.cards").first.locator(".card").first
        first.drag_to(page.locator("ol.cards").nth(2))
        page.locator(".card-problem").first.wait_for()
        shot(page, out, "03-board-gate-refused", full=False)
        page.locator(".card-problem a").first.click()
        page.locator("dialog#dialog[open]").wait_for()
        shot(page, out, "04-board-fix-from-the-card", full=False)
        page.keyboard.press("Escape")

        page.goto(base + "/")
        page.locator(".card .card-title").nth(2).click()
        page.wait_for_url(re.compile(r"/deals/"))
        page.locator("#offers table, #offers details").first.wait_for()
        page.locator("#notes textarea[name=body]").fill(
            "Budget confirmed on the call.\nThey want the rollout before the summer.")
        page.locator("#notes button[type=submit]").click()
        page.locator("#notes li.note").first.wait_for()
        shot(page, out, "05-deal")
        # The client's page is that deal's client: one with deals to show.
        client = page.locator(".deal-head a[href^='/accounts/']").first.get_attribute("href")
        client_name = page.locator(".deal-head a[href^='/accounts/']").first.inner_text()
        page.goto(base + "/pool")
        shot(page, out, "06-lead-pool")
        page.goto(base + "/leads")
        shot(page, out, "07-leads")
        page.locator("table a").first.click()
        shot(page, out, "08-lead")
        page.goto(base + (client or "/accounts"))
        if client is None:
            page.locator("table a").first.click()
        shot(page, out, "09-client")
        page.goto(base + "/people")
        shot(page, out, "24-people", full=False)
        page.goto(base + "/calendar")
        shot(page, out, "10-calendar")
        page.goto(base + "/documents")
        shot(page, out, "11-documents")
        page.goto(base + "/notifications")
        shot(page, out, "19-notifications")
        page.goto(base + "/notifications/settings")
        shot(page, out, "20-notification-settings")
        # The top bar's search, typed in lower case: the deal, its client and the lead.
        page.locator("#top-q").fill(client_name.split()[0].lower())
        page.locator("#top-q").press("Enter")
        page.locator(".search-results").wait_for()
        shot(page, out, "22-search")

        manager = browser.new_context(viewport=LAPTOP, locale="en-GB").new_page()
        sign_in(manager, base, "manager")
        manager.goto(base + "/pool/team")
        shot(manager, out, "12-team-assignment")
        manager.goto(base + "/deals")
        shot(manager, out, "23-deal-list", full=False)
        manager.goto(base + "/pool/import")
        csv = out.parent / "screenshots-import.csv"
        csv.write_text("company;e-mail\nNova Systems;hello@nova.pl\n"
                       "Acme Logistics;anna.nowak@acme-logistics.pl\n;not-an-email\n",
                       encoding="utf-8")
        manager.locator("#f-file").set_input_files(str(csv))
        manager.locator("form[enctype] button[type=submit]").click()
        manager.locator("#import-report").wait_for()
        csv.unlink()
        shot(manager, out, "13-import-dry-run")

        admin = browser.new_context(viewport=LAPTOP, locale="en-GB").new_page()
        sign_in(admin, base, "admin")
        admin.goto(base + "/dashboard")
        shot(admin, out, "14-dashboard")
        admin.goto(base + "/admin")
        shot(admin, out, "15-administration")
        webhooks(running, admin, out)

        polish = browser.new_context(viewport=LAPTOP, locale="pl-PL").new_page()
        sign_in(polish, base, "rep1", locale="pl")
        polish.goto(base + "/")
        shot(polish, out, "16-board-polish", full=False)

        phone = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True,
                                    has_touch=True, device_scale_factor=2).new_page()
        sign_in(phone, base, "rep1")
        phone.goto(base + "/")
        shot(phone, out, "17-phone-board", full=False)
        phone.locator(".card .card-title").first.click()
        phone.wait_for_url(re.compile(r"/deals/"))
        shot(phone, out, "18-phone-deal", full=False)
        browser.close()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    out.mkdir(parents=True, exist_ok=True)
    print("starting the system…")
    with running_stack() as running:
        print(asyncio.run(seed(running.settings, running.urls())))
        take(running, out)
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()

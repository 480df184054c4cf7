"""Webhooks in the web app: an admin registers an endpoint (its secret shown once), an event of
the org reaches the receiver signed, the delivery is listed with its attempt and sent again on
request; a bad address is refused at its field; a rep cannot open the screen."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook

from crmkit.embedded import free_port

from .conftest import Web, typed
from .flows import eventually, new_org

pytestmark = pytest.mark.e2e

M_LEAD = """mutation($c: String!) { createLead(input: {company: $c}) {
  __typename ... on LeadPayload { lead { id } } } }"""


class Receiver(ThreadingHTTPServer):
    got: list[tuple[dict[str, str], bytes]]


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", free_port()), Handler)
    server.got = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_an_admin_registers_an_endpoint_and_sees_its_deliveries(
    web: Web, receiver: Receiver
) -> None:
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["admin"])
    page.goto(web.url("/admin"))
    page.get_by_role("link", name="Webhooks").click()
    expect(page.locator("#webhook-endpoints")).to_contain_text("No endpoints yet.")

    form = page.locator("#webhook-register")
    form.locator("[name=url]").fill("ftp://nowhere")
    form.locator("[name=eventTypes]").fill("crm.leads.>")
    form.locator("button[type=submit]").click()
    expect(page.locator("#webhook-register .field.invalid [name=url]")).to_be_visible()

    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    form.locator("[name=url]").fill(url)
    form.locator("[name=eventTypes]").fill("crm.leads.lead.created")
    form.locator("[name=description]").fill("ERP")
    form.locator("button[type=submit]").click()
    secret = page.locator("#webhook-secret input").input_value()
    assert secret.startswith("whsec_")
    row = page.locator("#webhook-endpoints tr[data-endpoint]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(url)
    expect(row).to_contain_text("Enabled")

    company = f"Hooked {uuid.uuid4().hex[:6]}"
    lead = typed(web.api(org["admin"])(M_LEAD, {"c": company})["createLead"],
                 "LeadPayload")["lead"]
    eventually(lambda: len(receiver.got) == 1)
    headers, body = receiver.got[0]
    Webhook(secret).verify(body, headers)  # raises unless signed with the shown secret
    event = json.loads(body)
    assert event["type"] == "crm.leads.lead.created"
    assert event["payload"]["lead_id"] == lead["id"]

    row.get_by_role("link", name=url).click()  # the endpoint's deliveries
    delivery = page.locator("#webhook-deliveries tr[data-delivery]")
    expect(delivery).to_have_count(1)
    expect(delivery).to_contain_text("crm.leads.lead.created")
    expect(delivery).to_contain_text("Delivered")
    expect(delivery).to_contain_text("204")
    delivery.get_by_role("button", name="Send again").click()
    eventually(lambda: len(receiver.got) == 2)
    assert receiver.got[1][1] == body  # the same event, byte for byte
    assert receiver.got[1][0]["webhook-id"] == headers["webhook-id"]
    expect(page.locator("#webhook-secret")).to_have_count(0)  # shown only once


def test_a_rep_cannot_open_webhooks(web: Web) -> None:
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["rep"])
    response = page.goto(web.url("/admin/webhooks"))
    assert response is not None and response.status == 403
    expect(page.locator("#webhook-endpoints")).to_have_count(0)

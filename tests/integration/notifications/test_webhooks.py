"""Webhooks against a receiver started by the test: every delivery signed as Standard Webhooks
says (checked with the reference algorithm), in order per aggregate, a 500 then a 200 giving
one delivery after a retry, a dead endpoint disabled (an event, a notification to admins)
and replayed once it answers; loopback refused in production; another org's events never
reach this org's endpoints."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from standardwebhooks import Webhook

from crmkit.contracts import leads as ld
from crmkit.embedded import free_port
from crmkit.testing.plugin import Org
from services.notifications import domain as d
from services.notifications.handlers.webhooks import send_webhooks
from services.notifications.settings import NotificationsSettings
from services.notifications.webhook_http import HttpWebhookSender

from .conftest import Notifications, listed, opportunity
from .test_email import member_with_email

REGISTER = """
mutation($url: String!, $types: [String!]!, $description: String! = "") {
  registerWebhookEndpoint(url: $url, eventTypes: $types, description: $description) {
    __typename
    ... on RegisterWebhookEndpointPayload { secret endpoint { id url eventTypes enabled } }
    ... on ValidationError { message fields { path message } }
    ... on Forbidden { message }
  }
}"""
DELIVERIES = """
query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node {
  id eventId eventType aggregateId status attempts { statusCode error }
} } } }"""
ENDPOINTS = "{ webhookEndpoints { id enabled disabledReason } }"
REPLAY = """mutation($id: ID!) { replayWebhookDelivery(id: $id) { __typename
  ... on WebhookDeliveryPayload { delivery { status } } } }"""
ENABLE = """mutation($id: ID!) { enableWebhookEndpoint(id: $id) { __typename } }"""


@dataclass
class Receiver:
    """An HTTP server of the test's: answers with the queued statuses (then 200) and keeps
    every request it got."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    always: int | None = None
    got: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        status = self.answers.pop(0) if self.answers else (self.always or 200)
        self.got.append(({k.lower(): v for k, v in request.headers.items()},
                         await request.read(), status))
        return web.Response(status=status, text="ok" if status < 300 else "no")

    def accepted(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body, status in self.got if status < 300]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    found.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield found
    finally:
        await runner.cleanup()


def reference_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The Standard Webhooks algorithm, written out: base64 of HMAC-SHA256 over
    ``id.timestamp.body`` keyed by the secret's base64-decoded bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_signed(secret: str, headers: dict[str, str], body: bytes) -> None:
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    expected = reference_signature(secret, msg_id, timestamp, body)
    assert expected in headers["webhook-signature"].split(" ")
    library = Webhook(secret).sign(msg_id, datetime.fromtimestamp(int(timestamp), UTC), body)
    assert library == expected


async def register(api: Notifications, org: Org, url: str, types: list[str]) -> tuple[str, str]:
    answer = (await api.data(org.token("admin"), REGISTER, url=url, types=types,
                             description="ERP"))["registerWebhookEndpoint"]
    assert answer["__typename"] == "RegisterWebhookEndpointPayload", answer
    assert answer["secret"].startswith("whsec_")
    return answer["endpoint"]["id"], answer["secret"]


async def drain(api: Notifications, passes: int = 20) -> None:
    """Sender passes at the clock's time until one finds nothing due."""
    sender = HttpWebhookSender(api.settings)
    try:
        for _ in range(passes):
            if not await send_webhooks(api.at, sender, api.client.runtime.uow()):
                return
    finally:
        await sender.close()


async def test_deliveries_are_signed_in_order_and_retried_after_a_500(
    api: Notifications, org: Org, other_org: Org, receiver: Receiver
) -> None:
    api.clock.now = datetime.now(UTC).replace(microsecond=0)
    endpoint, secret = await register(api, org, receiver.url, ["crm.pipeline.>"])
    owner = uuid.uuid4()
    first, second = uuid.uuid4(), uuid.uuid4()
    receiver.answers[:] = [500]
    for version in (1, 2, 3):
        await api.deliver(opportunity(opportunity_id=first, owner_id=owner, name=f"v{version}"),
                          org.id, first, version)
    await api.deliver(opportunity(opportunity_id=second, owner_id=owner), org.id, second, 1)
    # Not wanted: another org's pipeline event, and this org's leads event.
    await api.deliver(opportunity(opportunity_id=uuid.uuid4(), owner_id=owner),
                      other_org.id, uuid.uuid4(), 1)
    lead = uuid.uuid4()
    await api.deliver(ld.LeadCreated(lead_id=lead, company="X"), org.id, lead)

    await drain(api)
    assert [e["aggregate_id"] for e in receiver.accepted()] == [str(second)]
    api.clock.advance(seconds=5)
    await drain(api)

    accepted = receiver.accepted()
    firsts = [e for e in accepted if e["aggregate_id"] == str(first)]
    assert [e["payload"]["name"] for e in firsts] == ["v1", "v2", "v3"]
    assert {e["org_id"] for e in accepted} == {str(org.id)}
    assert len(accepted) == 4
    for headers, body, _ in receiver.got:
        check_signed(secret, headers, body)
    ids = [h["webhook-id"] for h, _, _ in receiver.got]
    assert ids[0] == ids[1] or ids.count(ids[0]) == 2  # the retry carries the same id

    nodes = [e["node"] for e in (await api.data(org.token("admin"), DELIVERIES, id=endpoint))[
        "webhookDeliveries"]["edges"]]
    assert {n["status"] for n in nodes} == {"DELIVERED"}
    retried = [n for n in nodes if len(n["attempts"]) == 2]
    assert len(retried) == 1
    assert [a["statusCode"] for a in retried[0]["attempts"]] == [500, 200]

    refused = await api.client.call(org.token("rep"), DELIVERIES, {"id": endpoint})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    hidden = await api.client.call(other_org.token("admin"), DELIVERIES, {"id": endpoint})
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_dead_endpoint_is_disabled_and_a_replay_delivers(
    api: Notifications, org: Org, receiver: Receiver
) -> None:
    api.clock.now = datetime.now(UTC).replace(microsecond=0)
    admin = uuid.uuid4()
    await api.deliver(ld.MemberUpdated(member_id=admin, lead_cap=10, roles=["admin"],
                                       name="Ada"), org.id, admin, 1)
    endpoint, _ = await register(api, org, receiver.url, ["crm.leads.lead.created"])
    receiver.always = 503
    lead = uuid.uuid4()
    await api.deliver(ld.LeadCreated(lead_id=lead, company="Dead Co"), org.id, lead)
    await drain(api)
    for _ in range(12):  # through the retry schedule (about a day)
        api.clock.advance(hours=10)
        await drain(api)
    assert len(receiver.got) == 8 and receiver.accepted() == []

    admin_token = org.token("admin", member_id=admin)
    [state] = (await api.data(admin_token, ENDPOINTS))["webhookEndpoints"]
    assert state["enabled"] is False and "answered 503" in state["disabledReason"]
    [disabled] = await api.client.events(type="crm.notifications.webhook_endpoint.disabled",
                                         org_id=org.id)
    assert disabled.payload["endpoint_id"] == endpoint
    [notice] = await listed(api, admin_token)
    assert (notice["kind"], notice["title"]) == ("WEBHOOK_DISABLED", receiver.url)

    [delivery] = [e["node"] for e in (await api.data(admin_token, DELIVERIES, id=endpoint))[
        "webhookDeliveries"]["edges"]]
    assert delivery["status"] == "FAILED" and len(delivery["attempts"]) == 8
    receiver.always = 200
    assert (await api.data(admin_token, ENABLE, id=endpoint))["enableWebhookEndpoint"][
        "__typename"] == "WebhookEndpointPayload"
    replayed = (await api.data(admin_token, REPLAY, id=delivery["id"]))["replayWebhookDelivery"]
    assert replayed == {"__typename": "WebhookDeliveryPayload", "delivery": {"status": "PENDING"}}
    await drain(api)
    assert [e["payload"]["company"] for e in receiver.accepted()] == ["Dead Co"]
    [after] = [e["node"] for e in (await api.data(admin_token, DELIVERIES, id=endpoint))[
        "webhookDeliveries"]["edges"]]
    assert after["status"] == "DELIVERED" and len(after["attempts"]) == 9


async def test_an_erased_lead_leaves_no_notice_email_or_delivery_of_its_details(
    api: Notifications, org: Org, receiver: Receiver
) -> None:
    """Its notice, the notice's email and its events' pending deliveries (attempts too) go;
    the erasure itself is delivered; an older event of it redelivered afterwards goes
    nowhere."""
    api.clock.now = datetime.now(UTC).replace(microsecond=0)
    member, address, token = await member_with_email(api, org)
    endpoint, _ = await register(api, org, receiver.url, ["crm.leads.>"])
    lead, kept = uuid.uuid4(), uuid.uuid4()
    for subject, company in ((lead, "Hurtownia Żółw"), (kept, "Globex")):
        await api.deliver(ld.LeadCreated(lead_id=subject, company=company), org.id, subject, 1)
        await api.deliver(ld.LeadAssigned(lead_id=subject, owner_id=member,
                                          assigned_by=uuid.uuid4()), org.id, subject, 2)
    receiver.always = 503  # the lead's deliveries are pending, each with a failed attempt
    await drain(api)
    assert {n["title"] for n in await listed(api, token)} == {"Hurtownia Żółw", "Globex"}

    admin = org.token("admin")
    assert await api.deliver(ld.LeadErased(lead_id=lead, previous_owner_id=member,
                                           previous_status="ASSIGNED", erased_by=uuid.uuid4()),
                             org.id, lead, 3)
    assert [n["title"] for n in await listed(api, token)] == ["Globex"]
    await api.deliver(ld.LeadUpdated(lead_id=lead, company="Hurtownia Żółw", changed=["company"]),
                      org.id, lead, 2, event_id=uuid.uuid4())  # late, older than the erasure
    rows = [e["node"] for e in (await api.data(admin, DELIVERIES, id=endpoint))[
        "webhookDeliveries"]["edges"]]
    assert sorted((r["aggregateId"], r["eventType"]) for r in rows) == sorted([
        (str(kept), ld.LeadCreated.TYPE), (str(kept), ld.LeadAssigned.TYPE),
        (str(lead), ld.LeadErased.TYPE)])
    receiver.always = 200
    api.clock.advance(hours=1)
    await drain(api)
    assert all("Żółw" not in body.decode() for _, body, _ in receiver.got
               if json.loads(body)["aggregate_id"] == str(lead)
               and json.loads(body)["type"] == ld.LeadErased.TYPE)
    assert "Żółw" not in "".join(
        body.decode() for _, body, status in receiver.got if status == 200)
    await api.send()
    [email] = api.sink.to(address)  # the kept lead's notice only
    assert "Globex" in email.as_string() and "Żółw" not in email.get_content()


async def test_registration_is_checked(api: Notifications, org: Org) -> None:
    refused = (await api.data(org.token("rep"), REGISTER, url="http://127.0.0.1/x",
                              types=["crm.>"]))["registerWebhookEndpoint"]
    assert refused["__typename"] == "Forbidden"
    bad = (await api.data(org.token("admin"), REGISTER, url="ftp://x",
                          types=["pipeline", "crm.pipeline.>"]))["registerWebhookEndpoint"]
    assert bad["__typename"] == "ValidationError"
    assert {tuple(f["path"]) for f in bad["fields"]} == {("url",), ("eventTypes", "0")}
    assert (await api.data(org.token("admin"), ENDPOINTS))["webhookEndpoints"] == []


async def test_private_targets_are_refused_in_production(
    settings: NotificationsSettings
) -> None:
    prod = HttpWebhookSender(settings.model_copy(update={"environment": "prod"}))
    for url in ("http://127.0.0.1:8080/hook", "https://10.1.2.3/", "http://169.254.169.254/",
                "http://[::1]/", "http://192.168.0.1/", "http://[::ffff:127.0.0.1]/",
                "http://localhost/hook"):
        assert await prod.check_target(url) is not None, url
    assert await prod.check_target("https://8.8.8.8/hook") is None
    dev = HttpWebhookSender(settings)
    assert await dev.check_target("http://127.0.0.1:8080/hook") is None


async def test_an_attempt_connects_to_the_address_that_was_checked(
    settings: NotificationsSettings, receiver: Receiver
) -> None:
    """DNS rebinding: the name is resolved once per attempt, for the check, and the attempt
    connects to that address. Here the name resolves only through the sender's resolver
    (``hooks.rebind.test`` is in no DNS), so a delivery that arrives, with the name as its
    Host, went to the checked address; the resolver's second answer (a private address)
    would be refused but is never asked for within the attempt."""
    answers = ["127.0.0.1", "10.0.0.1"]
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return [answers.pop(0)]

    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    sender = HttpWebhookSender(settings.model_copy(update={"environment": "prod"}),
                               resolver=resolver, allowed=lambda a: a == "127.0.0.1")
    org_id = uuid.uuid4()
    endpoint = d.WebhookEndpoint(uuid.uuid4(), org_id, f"http://hooks.rebind.test:{port}/hook",
                                 ("crm.>",), "whsec_" + base64.b64encode(b"k" * 24).decode())
    now = datetime.now(UTC).replace(microsecond=0)
    delivery = d.WebhookDelivery(uuid.uuid4(), org_id, endpoint.id, uuid.uuid4(),
                                 "crm.pipeline.opportunity.won", uuid.uuid4(), '{"x":1}', now)
    try:
        first = await sender.deliver(endpoint, delivery, now)
        assert (first.status_code, first.error) == (200, None)
        assert asked == ["hooks.rebind.test"]
        headers, body, _ = receiver.got[0]
        assert headers["host"] == f"hooks.rebind.test:{port}" and body == b'{"x":1}'
        check_signed(endpoint.secret, headers, body)
        second = await sender.deliver(endpoint, delivery, now)
        assert second.status_code is None and second.error is not None
        assert "private" in second.error and len(receiver.got) == 1
    finally:
        await sender.close()

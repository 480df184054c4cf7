"""Slow and vanishing clients, over real sockets: a client that sends its request headers
slowly is cut off and one that sends them in time is served (the protocol every service, the
gateway and the web app serve with); the kit's body reader, in the gateway (as in every
service) and the web app's forms, answers a stalled body 408, keeps a trickling one going and
logs a client that goes away mid-body as one line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import uvicorn

import crmkit.body
from crmkit.auth import mint_dev_token
from crmkit.embedded import free_port
from crmkit.http_protocol import TimedHttpToolsProtocol
from crmkit.settings import DEV_JWT_SECRET, Settings
from crmkit.testing.served import served as served_on_a_port
from gateway.bootstrap import build_app
from gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration


async def ok(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class QuickTimeout(TimedHttpToolsProtocol):
    header_timeout = 0.5


@contextlib.asynccontextmanager
async def served(app: Any, *, lifespan: str = "off") -> AsyncIterator[int]:
    """``app`` served by uvicorn on a free port with the protocol (header limit 0.5 s)."""
    async with served_on_a_port(app, http=QuickTimeout, lifespan=lifespan) as port:
        yield port


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async with served(ok) as chosen:
        yield chosen


async def test_slow_headers_are_cut_off_and_prompt_ones_served(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: crm\r\n")  # and never the blank line
    await writer.drain()
    closed = await asyncio.wait_for(reader.read(), 5)  # EOF once the server closes
    assert closed == b""
    writer.close()

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for request in range(2):  # the limit starts again for a kept-alive connection's next one
        writer.write(b"GET / HTTP/1.1\r\nHost: crm\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"ok"), 5)
        assert answer.startswith(b"HTTP/1.1 200"), request
        await asyncio.sleep(0.3)
    writer.write(b"GET / HTTP/1.1\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


# --- the gateway --------------------------------------------------------------------------

IDLE = 0.3


@pytest.fixture
async def gateway_port(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    """The gateway's app as ``python -m gateway`` builds it (its supergraph file; no subgraph
    needs to run for what is tested here), with a short body idle limit."""
    monkeypatch.setattr(crmkit.body, "BODY_IDLE_SECONDS", IDLE)
    nowhere = free_port()  # every subgraph: a port nothing listens on
    settings = Settings(environment="test", **{f"{name}_port": nowhere for name in (
        "leads", "pipeline", "documents", "reporting", "notifications")})
    app = build_app(settings, GatewaySettings(compose_at_startup=False))
    async with served(app, lifespan="on") as chosen:
        yield chosen


def bearer() -> bytes:
    token = mint_dev_token(secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=uuid.uuid4(),
                           roles=["admin"])
    return f"Bearer {token}".encode()


def post_head(length: int | None) -> bytes:
    framing = b"transfer-encoding: chunked" if length is None else b"content-length: %d" % length
    return (b"POST /graphql HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n"
            b"authorization: " + bearer() + b"\r\n" + framing + b"\r\n\r\n")


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def answer_of(reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    return status, orjson.loads(await asyncio.wait_for(reader.readexactly(length), 5))


async def test_the_gateway_answers_a_stalled_body_408(gateway_port: int) -> None:
    body = orjson.dumps({"query": "{ __typename }"})
    for framing, start in ((len(body), body[:10]), (None, chunk(body[:10]))):
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway_port)
        writer.write(post_head(framing) + start)  # and then nothing
        await writer.drain()
        started = asyncio.get_running_loop().time()
        status, answer = await answer_of(reader)
        waited = asyncio.get_running_loop().time() - started
        assert status == 408, framing
        assert answer["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
        assert answer["errors"][0]["message"] == "request body not received in time"
        assert IDLE * 0.9 <= waited < IDLE + crmkit.body.SWEEP_SECONDS + 1, framing
        writer.close()


async def test_the_gateway_waits_for_a_trickling_body_and_serves_it(gateway_port: int) -> None:
    body = orjson.dumps({"query": "{ __typename }"})
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway_port)
    writer.write(post_head(None))
    await writer.drain()
    parts = [body[i:i + 4] for i in range(0, len(body), 4)]  # a part each IDLE / 3
    assert len(parts) * IDLE / 3 > 2 * IDLE  # in all, longer than twice the limit
    for part in parts:
        writer.write(chunk(part))
        await writer.drain()
        await asyncio.sleep(IDLE / 3)
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    status, answer = await answer_of(reader)
    assert (status, answer) == (200, {"data": {"__typename": "Query"}})
    writer.close()


async def test_a_client_gone_mid_body_is_one_line_not_an_error(
    gateway_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        _, writer = await asyncio.open_connection("127.0.0.1", gateway_port)
        writer.write(post_head(1000) + b'{"query": "{ __typ')
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.close()
        for _ in range(100):
            if any("disconnected" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.02)
    gone = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(gone) == 1 and gone[0].levelno == logging.INFO and gone[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_gateway_the_web_app_and_every_service_serve_with_the_header_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What ``python -m gateway``, ``python -m web`` and ``python -m services.<name>`` hand
    uvicorn: the protocol with the header limit (the web app served without it)."""
    import crmkit.serve
    import gateway.__main__
    import web.__main__
    from services.leads import app as leads

    protocols: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: protocols.append(options["http"]))
    monkeypatch.delenv("CRM_SERVED_APP_MODULE", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # each main() sets up the process's logs
    try:
        gateway.__main__.main()
        web.__main__.main()
        crmkit.serve.serve(leads)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert protocols == [TimedHttpToolsProtocol] * 3


# --- the web app --------------------------------------------------------------------------


@pytest.fixture
async def web_port(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    """The web app as ``python -m web`` builds it, with a short body idle limit."""
    from web.app import create_app
    from web.settings import WebSettings

    monkeypatch.setattr(crmkit.body, "BODY_IDLE_SECONDS", IDLE)
    settings = Settings(environment="test", gateway_port=free_port())
    async with served(create_app(settings, WebSettings()), lifespan="on") as chosen:
        yield chosen


def signed_in_cookie() -> bytes:
    from web.session import Session, SessionCodec
    from web.settings import WebSettings

    web = WebSettings()
    session = Session(csrf="form-token", token="a-token", member_id=str(uuid.uuid4()))
    return SessionCodec(web.session_secret, 3600).dumps(session).encode()


async def test_the_web_app_answers_a_stalled_form_408(web_port: int) -> None:
    form = b"csrf_token=form-token&count=1"
    requests = {
        "a form, its CSRF token in the body": b"POST /sign-in HTTP/1.1\r\nhost: web\r\n",
        "htmx, its CSRF token in a header": b"POST /pool/import HTTP/1.1\r\nhost: web\r\n"
        b"cookie: crm_session=" + signed_in_cookie() + b"\r\nx-csrf-token: form-token\r\n",
    }
    for what, head in requests.items():
        reader, writer = await asyncio.open_connection("127.0.0.1", web_port)
        writer.write(head + b"content-type: application/x-www-form-urlencoded\r\n"
                     b"content-length: %d\r\n\r\n" % len(form) + form[:10])
        await writer.drain()
        started = asyncio.get_running_loop().time()
        answer = await asyncio.wait_for(reader.read(4096), 5)
        waited = asyncio.get_running_loop().time() - started
        assert answer.startswith(b"HTTP/1.1 408"), (what, answer)
        assert answer.endswith(b"request body not received in time"), what
        assert IDLE * 0.9 <= waited < IDLE + crmkit.body.SWEEP_SECONDS + 1, what
        writer.close()


async def test_the_web_app_refuses_a_form_too_large_as_the_gateway_does(web_port: int) -> None:
    """Past the form limit, before reading it: 413 with the kit's message (the gateway and
    the services answer the same refusal with the same words)."""
    from web.context import MAX_FORM_BYTES

    reader, writer = await asyncio.open_connection("127.0.0.1", web_port)
    writer.write(b"POST /sign-in HTTP/1.1\r\nhost: web\r\n"
                 b"content-type: application/x-www-form-urlencoded\r\n"
                 b"content-length: %d\r\n\r\n" % (MAX_FORM_BYTES + 1))
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), 5)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert answer.endswith(b"request body exceeds %d bytes" % MAX_FORM_BYTES), answer
    writer.close()

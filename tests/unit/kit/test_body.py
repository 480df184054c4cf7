"""The kit's body reader (gateway and services): limits, the idle limit, and a cancellation
that is not its own left as it is."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import crmkit.body
from crmkit.body import BodyTimedOut, BodyTooLarge, ClientDisconnect, read_body


def messages(*items: Any) -> Any:
    """A receive channel giving ``items`` (bytes: a chunk, more to come; None: the client went
    away; a float: a wait of that many seconds before the next), then the end of the body."""
    pending = list(items)

    async def receive() -> dict[str, Any]:
        if pending and isinstance(pending[0], float):
            await asyncio.sleep(pending.pop(0))
        if not pending:
            return {"type": "http.request", "body": b"", "more_body": False}
        item = pending.pop(0)
        if item is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": item, "more_body": True}

    return receive


async def test_chunks_are_joined_and_counted() -> None:
    assert await read_body(messages(b"ab", b"cd"), 4) == b"abcd"
    with pytest.raises(BodyTooLarge):
        await read_body(messages(b"ab", b"cde"), 4)
    with pytest.raises(BodyTooLarge):
        await read_body(messages(b"abcde"), 4)  # the first chunk alone
    with pytest.raises(BodyTooLarge):
        await read_body(messages(), 4, "5")  # declared
    with pytest.raises(ClientDisconnect):
        await read_body(messages(b"ab", None), 4)


async def test_many_stalled_reads_end_and_a_trickle_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crmkit.body, "BODY_IDLE_SECONDS", 0.2)
    stalled = [read_body(messages(b"a", 30.0), 10) for _ in range(50)]
    trickle = read_body(messages(*[x for _ in range(8) for x in (0.08, b"b")]), 10)
    results = await asyncio.wait_for(
        asyncio.gather(*stalled, trickle, return_exceptions=True), 5)
    assert all(isinstance(result, BodyTimedOut) for result in results[:-1])
    assert results[-1] == b"b" * 8
    assert not any(watch.heard or watch.expired for watch in crmkit.body._watches.values())


async def test_a_cancellation_from_elsewhere_stays_a_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crmkit.body, "BODY_IDLE_SECONDS", 0.2)
    read = asyncio.create_task(read_body(messages(b"a", 30.0), 10))
    await asyncio.sleep(0.05)
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read


async def test_a_streamed_body_comes_chunk_by_chunk_under_the_same_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def chunks(receive: Any, limit: int) -> list[bytes]:
        return [chunk async for chunk in crmkit.body.stream_body(receive, limit)]

    assert await chunks(messages(b"ab", b"", b"cd"), 4) == [b"ab", b"cd"]
    with pytest.raises(BodyTooLarge):
        await chunks(messages(b"ab", b"cde"), 4)
    with pytest.raises(ClientDisconnect):
        await chunks(messages(b"ab", None), 4)
    monkeypatch.setattr(crmkit.body, "BODY_IDLE_SECONDS", 0.2)
    with pytest.raises(BodyTimedOut):
        await asyncio.wait_for(chunks(messages(b"ab", 30.0), 4), 5)
    # the time the caller takes over a chunk is not the client's
    slow_reader = [chunk async for chunk in crmkit.body.stream_body(messages(b"a", b"b"), 4)
                   if not await asyncio.sleep(0.5)]
    assert slow_reader == [b"a", b"b"]


def test_every_refusal_has_one_answer() -> None:
    """The gateway, the services, the web app's forms and the documents' uploads answer a
    refused body alike: the same status, code and message for the same refusal."""
    too_large = crmkit.body.refusal(BodyTooLarge(), 1024)
    assert (too_large.status, too_large.code) == (413, "PAYLOAD_TOO_LARGE")
    assert too_large.message == "request body exceeds 1024 bytes"
    timed_out = crmkit.body.refusal(BodyTimedOut(), 1024)
    assert (timed_out.status, timed_out.code) == (408, "REQUEST_TIMEOUT")
    assert timed_out.message == "request body not received in time"
    gone = crmkit.body.refusal(ClientDisconnect(), 1024)
    assert (gone.status, gone.code) == (499, None)  # never sent: the client went away

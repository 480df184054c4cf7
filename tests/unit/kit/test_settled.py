"""The kit's ``settled``: which JetStream failures are waited out and which are not."""

from __future__ import annotations

import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NotFoundError, ServiceUnavailableError

from crmkit import bus
from crmkit.bus import settled


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instantly(seconds: float) -> None:
        return None

    monkeypatch.setattr(bus.asyncio, "sleep", instantly)


async def test_a_cluster_still_settling_is_waited_for() -> None:
    failures = [NatsTimeoutError(), ServiceUnavailableError()]

    async def operation() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    assert await settled(operation, "consumer x") == "done"
    assert failures == []


async def test_an_error_of_the_request_itself_is_not_retried() -> None:
    calls = 0

    async def operation() -> None:
        nonlocal calls
        calls += 1
        raise NotFoundError()

    with pytest.raises(NotFoundError):
        await settled(operation, "consumer x")
    assert calls == 1


async def test_it_gives_up_after_its_attempts() -> None:
    calls = 0

    async def operation() -> None:
        nonlocal calls
        calls += 1
        raise NatsTimeoutError()

    with pytest.raises(NatsTimeoutError):
        await settled(operation, "consumer x", attempts=3)
    assert calls == 3

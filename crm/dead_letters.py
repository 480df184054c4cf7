"""``crm dlq``: dead letters of every service's consumers, listed and replayed through the
consumer's own inbox (:mod:`crmkit.dlq`)."""

from __future__ import annotations

import contextlib
import importlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext

from crm.stack import available_services
from crmkit.bus import make_broker
from crmkit.dlq import DeadLetter, dead_letters, replay
from crmkit.inbox import InboxConsumer
from crmkit.runtime import ServiceRuntime
from crmkit.settings import Settings, load_settings


@contextlib.asynccontextmanager
async def _jetstream(settings: Settings) -> AsyncIterator[JetStreamContext]:
    if settings.nats_url is None:
        raise SystemExit("invalid setting CRM_NATS_URL: required to reach the dead letters")
    broker = make_broker(settings.nats_url)
    await broker.connect()
    try:
        yield broker.config.connection_state.stream
    finally:
        await broker.stop()


async def list_dead_letters(settings: Settings, consumer: str | None) -> list[DeadLetter]:
    async with _jetstream(settings) as js:
        return await dead_letters(js, consumer)


@dataclass
class ReplayReport:
    applied: int = 0
    skipped: int = 0
    failed: int = 0
    lines: list[str] = field(default_factory=list)


async def replay_dead_letters(
    settings: Settings, event_id: uuid.UUID | None, consumer: str | None
) -> ReplayReport:
    """Replay the dead letters of ``event_id`` (under every consumer that gave up on it) or
    of ``consumer``; each through a runtime of the service that owns the consumer (its
    database and handlers, nothing started)."""
    report = ReplayReport()
    runtimes = _runtimes()
    consumers = {c.name: c for runtime in runtimes for c in runtime.consumers}
    try:
        async with _jetstream(settings) as js:
            letters = [
                letter for letter in await dead_letters(js, consumer)
                if event_id is None or letter.event_id == event_id
            ]
            if not letters:
                report.lines.append("no such dead letter")
            for letter in letters:
                await _replay_one(js, letter, consumers.get(letter.consumer), report)
    finally:
        for runtime in runtimes:
            await runtime.engine.dispose()
    return report


async def _replay_one(
    js: JetStreamContext,
    letter: DeadLetter,
    consumer: InboxConsumer | None,
    report: ReplayReport,
) -> None:
    label = f"{letter.consumer} {letter.event_id or f'#{letter.sequence}'}"
    if consumer is None:
        report.failed += 1
        report.lines.append(f"{label}: no service here has this consumer")
        return
    try:
        applied = await replay(js, letter, consumer)
    except Exception as error:
        report.failed += 1
        report.lines.append(f"{label}: still failing: {type(error).__name__}: {error}")
        return
    if applied:
        report.applied += 1
        report.lines.append(f"{label}: applied")
    else:
        report.skipped += 1
        report.lines.append(f"{label}: had been applied before; removed")


def _runtimes() -> list[ServiceRuntime[Any]]:
    """The runtime (with its consumers) of each service whose settings this process has; a
    service missing one of its own settings is left out (its consumers are then reported as
    not found here)."""
    runtimes = []
    for service in available_services():
        module: Any = importlib.import_module(f"services.{service}.app")
        try:
            settings = load_settings(module.SETTINGS)
        except SystemExit:
            continue
        runtimes.append(module.create_runtime(settings))
    return runtimes

"""Dead letters are visible (``crm dlq list``, a counter per consumer) and recoverable
(``crm dlq replay``, through the inbox, so a replayed event takes effect once)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

import crm.dead_letters
from crm.cli import app as crm_cli
from crmkit.bus import DLQ_STREAM
from crmkit.contracts import Envelope
from crmkit.db import create_engine, session_factory
from crmkit.dlq import dead_letters, replay
from crmkit.inbox import DEAD_LETTERS, InboxConsumer
from crmkit.testing.plugin import Servers

from .conftest import STREAM, KitDb, StartConsumer, inbox
from .test_outbox_inbox import apply_effect, create_widgets, effect_counts, relay_for, wait_for

pytestmark = pytest.mark.integration


class Refusing:
    """A handler that refuses every event until it is fixed."""

    def __init__(self) -> None:
        self.fixed = False

    async def __call__(self, envelope: Envelope, session: AsyncSession) -> None:
        if not self.fixed:
            raise ValueError("amount has more than 2 decimal places")
        await apply_effect(envelope, session)


async def dead_lettered_consumer(
    db: KitDb, broker: NatsBroker, start_consumer: StartConsumer, handler: Refusing, count: int
) -> tuple[InboxConsumer, list[uuid.UUID]]:
    consumer = InboxConsumer(
        f"kit-dlq-{uuid.uuid4().hex[:6]}", handler, db.sessions, inbox,
        subject="crm.kittest.>", stream=STREAM, max_deliveries=1,
    )
    consumer.register(broker)
    await start_consumer(consumer)
    created = await create_widgets(db, count)
    await relay_for(db, broker).relay_once()

    async def all_dead() -> bool:
        return consumer.dead_lettered == count

    await wait_for(all_dead, seconds=30)
    return consumer, created


async def test_a_dead_letter_is_listed_counted_and_replayed_once(
    clean_db: KitDb, broker: NatsBroker, start_consumer: StartConsumer
) -> None:
    handler = Refusing()
    consumer, (widget,) = await dead_lettered_consumer(
        clean_db, broker, start_consumer, handler, 1
    )
    js = broker.config.connection_state.stream
    assert DEAD_LETTERS.labels(consumer.name)._value.get() == 1
    (letter,) = await dead_letters(js, consumer.name)
    assert letter.consumer == consumer.name
    assert letter.event is not None and letter.event.type == "crm.kittest.widget.created"
    assert letter.original_subject == "crm.kittest.widget.created"
    assert "ValueError: amount has more than 2 decimal places" in letter.error
    assert letter in await dead_letters(js)  # every consumer's

    with pytest.raises(ValueError):  # still refused: the dead letter stays
        await replay(js, letter, consumer)
    assert await dead_letters(js, consumer.name) == [letter]
    assert await effect_counts(clean_db) == {}

    handler.fixed = True
    assert await replay(js, letter, consumer) is True
    assert await effect_counts(clean_db) == {widget: 1}
    assert await dead_letters(js, consumer.name) == []

    # The same event dead-lettered again (say, by a second process) is acknowledged as
    # applied and removed, never applied twice.
    assert letter.event is not None
    await broker.publish(letter.event.model_dump_json().encode(),
                         subject=f"crm.dlq.{consumer.name}", stream=DLQ_STREAM,
                         headers={"Crm-Error": "again"})
    (again,) = await dead_letters(js, consumer.name)
    assert await replay(js, again, consumer) is False
    assert await effect_counts(clean_db) == {widget: 1}
    assert await dead_letters(js, consumer.name) == []


def run_cli(servers: Servers, *args: str) -> Any:
    env = {"CRM_NATS_URL": servers.nats_url, "CRM_ENVIRONMENT": "test", "COLUMNS": "300"}
    return CliRunner().invoke(crm_cli, list(args), env=env)


async def test_the_dlq_commands_list_and_replay(
    clean_db: KitDb, broker: NatsBroker, start_consumer: StartConsumer,
    crm_servers: Servers, monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = Refusing()
    consumer, created = await dead_lettered_consumer(
        clean_db, broker, start_consumer, handler, 3
    )
    js = broker.config.connection_state.stream
    letters = await dead_letters(js, consumer.name)
    assert len(letters) == 3

    listed = await _in_thread(run_cli, crm_servers, "dlq", "list", "--consumer", consumer.name)
    assert listed.exit_code == 0, listed.output
    for letter in letters:
        assert str(letter.event_id) in listed.output
    assert "ValueError: amount has more than 2 decimal places" in listed.output
    assert "3 dead letters" in listed.output

    # The command finds the consumer in the services' runtimes; here, the kit's consumer
    # over an engine of its own (the command disposes of it).
    engine = create_engine(clean_db.url, pool_size=2)
    replaying = InboxConsumer(consumer.name, handler, session_factory(engine), inbox,
                              subject="crm.kittest.>", stream=STREAM)

    class Runtime:
        consumers = [replaying]

    Runtime.engine = engine  # type: ignore[attr-defined]
    monkeypatch.setattr(crm.dead_letters, "_runtimes", lambda: [Runtime])

    refused = await _in_thread(run_cli, crm_servers, "dlq", "replay", str(letters[0].event_id))
    assert refused.exit_code == 1
    assert "still failing: ValueError" in refused.output
    assert len(await dead_letters(js, consumer.name)) == 3

    handler.fixed = True
    one = await _in_thread(run_cli, crm_servers, "dlq", "replay", str(letters[0].event_id))
    assert one.exit_code == 0, one.output
    assert "replayed 1, already applied 0, still failing 0" in one.output
    rest = await _in_thread(run_cli, crm_servers, "dlq", "replay", "--consumer", consumer.name)
    assert rest.exit_code == 0, rest.output
    assert "replayed 2, already applied 0, still failing 0" in rest.output
    assert await effect_counts(clean_db) == dict.fromkeys(created, 1)
    assert await dead_letters(js, consumer.name) == []


async def _in_thread(function: Any, *args: Any) -> Any:
    """The command runs its own event loop (asyncio.run), so not on the test's."""
    import asyncio

    return await asyncio.to_thread(function, *args)

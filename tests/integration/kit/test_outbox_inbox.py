"""Outbox -> JetStream -> inbox, against the real servers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from faststream.nats import NatsBroker
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.contracts import Envelope
from crmkit.inbox import InboxConsumer
from crmkit.outbox import SqlUnitOfWork
from crmkit.relay import OutboxRelay
from crmkit.testing.bus import publish as put_on_bus

from .conftest import STREAM, KitDb, StartConsumer, WidgetCreated, effects, inbox, outbox, widgets

pytestmark = pytest.mark.integration


async def create_widgets(db: KitDb, count: int, org_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    org = org_id or uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(count)]
    async with SqlUnitOfWork(db.sessions, outbox, lambda session: session) as uow:
        for widget_id in ids:
            await uow.session.execute(
                insert(widgets).values(id=widget_id, org_id=org, name=f"w-{widget_id}")
            )
            uow.emit(
                Envelope.wrap(
                    WidgetCreated(widget_id=widget_id, name="w"),
                    org_id=org,
                    aggregate_id=widget_id,
                    aggregate_version=1,
                )
            )
        await uow.commit()
    return ids


async def apply_effect(envelope: Envelope, session: AsyncSession) -> None:
    event = envelope.parse(WidgetCreated)
    await session.execute(
        pg_insert(effects)
        .values(widget_id=event.widget_id, applied=1)
        .on_conflict_do_update(
            index_elements=[effects.c.widget_id], set_={"applied": effects.c.applied + 1}
        )
    )


def widget_events(count: int) -> list[Envelope]:
    """Events of ``count`` new widgets of one org, not written anywhere."""
    org = uuid.uuid4()
    return [
        Envelope.wrap(WidgetCreated(widget_id=uuid.uuid4(), name="w"), org_id=org,
                      aggregate_id=uuid.uuid4(), aggregate_version=1)
        for _ in range(count)
    ]


async def wait_for(predicate: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def effect_counts(db: KitDb) -> dict[uuid.UUID, int]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(effects.c.widget_id, effects.c.applied))).all()
    return {row.widget_id: row.applied for row in rows}


async def stream_messages(broker: NatsBroker) -> int:
    info = await broker.config.connection_state.stream.stream_info(STREAM)
    return int(info.state.messages)


def relay_for(db: KitDb, broker: NatsBroker, batch_size: int = 100) -> OutboxRelay:
    return OutboxRelay(db.engine, outbox, broker, stream=STREAM, batch_size=batch_size)


async def test_events_commit_with_the_change_or_not_at_all(clean_db: KitDb) -> None:
    org = uuid.uuid4()
    widget_id = uuid.uuid4()
    async with SqlUnitOfWork(clean_db.sessions, outbox, lambda session: session) as uow:
        await uow.session.execute(insert(widgets).values(id=widget_id, org_id=org, name="x"))
        uow.emit(
            Envelope.wrap(
                WidgetCreated(widget_id=widget_id, name="x"), org_id=org, aggregate_id=widget_id
            )
        )
        # Leaving without commit: both the row and its event are gone.
    async with clean_db.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(outbox))).scalar() == 0
        assert (await conn.execute(select(func.count()).select_from(widgets))).scalar() == 0
    await create_widgets(clean_db, 3, org)
    async with clean_db.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(outbox))).scalar() == 3
        assert (await conn.execute(select(func.count()).select_from(widgets))).scalar() == 3


async def test_round_trip_applies_each_event_once(
    clean_db: KitDb, broker: NatsBroker, start_consumer: StartConsumer
) -> None:
    ids = await create_widgets(clean_db, 50)
    consumer = InboxConsumer(
        f"kit-{uuid.uuid4().hex[:6]}",
        apply_effect,
        clean_db.sessions,
        inbox,
        subject="crm.kittest.>",
        stream=STREAM,
    )
    consumer.register(broker)
    await start_consumer(consumer)
    relay = relay_for(clean_db, broker)
    assert await relay.relay_once() == 50
    assert await relay.relay_once() == 0

    async def all_applied() -> bool:
        return len(await effect_counts(clean_db)) == 50

    await wait_for(all_applied)
    assert await effect_counts(clean_db) == dict.fromkeys(ids, 1)
    async with clean_db.engine.connect() as conn:
        unsent = await conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
        assert unsent.scalar() == 0


async def test_republished_event_is_dropped_by_the_stream(
    clean_db: KitDb, broker: NatsBroker
) -> None:
    await create_widgets(clean_db, 5)
    relay = relay_for(clean_db, broker)
    assert await relay.relay_once() == 5
    assert await stream_messages(broker) == 5
    # As if the relay crashed after publishing but before marking the rows sent.
    async with clean_db.engine.begin() as conn:
        await conn.execute(update(outbox).values(sent_at=None))
    assert await relay.relay_once() == 5
    assert await stream_messages(broker) == 5


async def test_redelivered_event_has_no_second_effect(
    clean_db: KitDb, broker: NatsBroker, start_consumer: StartConsumer
) -> None:
    (widget_id,) = await create_widgets(clean_db, 1)
    async with clean_db.engine.connect() as conn:
        raw = (await conn.execute(select(outbox.c.envelope))).scalar_one()
    envelope = Envelope.model_validate(raw)
    consumer = InboxConsumer(
        f"kit-{uuid.uuid4().hex[:6]}",
        apply_effect,
        clean_db.sessions,
        inbox,
        subject="crm.kittest.>",
        stream=STREAM,
    )
    consumer.register(broker)
    await start_consumer(consumer)
    # The same event twice on the bus, past the stream's duplicate check (new message ids).
    for _ in range(2):
        await put_on_bus(broker, envelope, stream=STREAM, message_id=uuid.uuid4().hex)

    async def both_seen() -> bool:
        return consumer.applied + consumer.skipped >= 2

    await wait_for(both_seen)
    assert consumer.applied == 1
    assert consumer.skipped == 1
    assert await effect_counts(clean_db) == {widget_id: 1}


async def test_failing_handler_is_dead_lettered(
    clean_db: KitDb, broker: NatsBroker, start_consumer: StartConsumer
) -> None:
    await create_widgets(clean_db, 1)
    attempts: list[uuid.UUID] = []

    async def always_fails(envelope: Envelope, session: AsyncSession) -> None:
        attempts.append(envelope.id)
        raise RuntimeError("projection exploded")

    name = f"kit-{uuid.uuid4().hex[:6]}"
    consumer = InboxConsumer(
        name,
        always_fails,
        clean_db.sessions,
        inbox,
        subject="crm.kittest.>",
        stream=STREAM,
        max_deliveries=3,
    )
    consumer.register(broker)
    js = broker.config.connection_state.stream
    dlq = await js.pull_subscribe(f"crm.dlq.{name}", stream="CRM_DLQ")
    await start_consumer(consumer)
    await relay_for(clean_db, broker).relay_once()

    async def dead() -> bool:
        return consumer.dead_lettered == 1

    await wait_for(dead, seconds=30)
    assert len(attempts) == 3
    (message,) = await dlq.fetch(1, timeout=5)
    assert message.headers is not None
    assert "RuntimeError: projection exploded" in message.headers["Crm-Error"]
    assert message.headers["Crm-Original-Subject"] == WidgetCreated.TYPE
    assert Envelope.from_json(message.data).type == WidgetCreated.TYPE
    await message.ack()
    # The handler's failed effect left nothing behind, not even an inbox row.
    async with clean_db.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(inbox))).scalar() == 0


async def test_concurrent_relays_publish_each_event_once_in_aggregate_order(
    clean_db: KitDb, broker: NatsBroker
) -> None:
    org = uuid.uuid4()
    aggregates = [uuid.uuid4() for _ in range(20)]
    async with SqlUnitOfWork(clean_db.sessions, outbox, lambda session: session) as uow:
        for version in range(1, 31):
            for aggregate in aggregates:
                uow.emit(
                    Envelope.wrap(
                        WidgetCreated(widget_id=aggregate, name=str(version)),
                        org_id=org,
                        aggregate_id=aggregate,
                        aggregate_version=version,
                    )
                )
        await uow.commit()
    relays = [relay_for(clean_db, broker, batch_size=37) for _ in range(3)]

    async def unsent() -> int:
        async with clean_db.engine.connect() as conn:
            count = await conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
            return int(count.scalar_one())

    async def drain(relay: OutboxRelay) -> None:
        # A round can publish nothing while the other relays hold an aggregate's earlier
        # events; the work is done when no row is left unsent.
        for _ in range(1000):
            if not await relay.relay_once() and not await unsent():
                return
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(r) for r in relays))
    assert await unsent() == 0
    assert await stream_messages(broker) == 600
    js = broker.config.connection_state.stream
    reader = await js.pull_subscribe("crm.kittest.>", stream=STREAM)
    seen: dict[uuid.UUID, list[int]] = {a: [] for a in aggregates}
    fetched = 0
    while fetched < 600:
        for message in await reader.fetch(200, timeout=5):
            envelope = Envelope.from_json(message.data)
            seen[envelope.aggregate_id].append(envelope.aggregate_version)
            await message.ack()
            fetched += 1
    for versions in seen.values():
        assert versions == list(range(1, 31))
    await reader.unsubscribe()


async def test_one_poisoned_event_in_a_batch_spares_the_others(
    clean_db: KitDb, broker: NatsBroker, start_consumer: StartConsumer
) -> None:
    ids = await create_widgets(clean_db, 12)
    poisoned = ids[5]

    async def fails_on_one(envelope: Envelope, session: AsyncSession) -> None:
        if envelope.parse(WidgetCreated).widget_id == poisoned:
            raise RuntimeError("cannot project this one")
        await apply_effect(envelope, session)

    consumer = InboxConsumer(
        f"kit-{uuid.uuid4().hex[:6]}",
        fails_on_one,
        clean_db.sessions,
        inbox,
        subject="crm.kittest.>",
        stream=STREAM,
        max_deliveries=2,
    )
    consumer.register(broker)
    await relay_for(clean_db, broker).relay_once()  # all twelve wait in the stream
    await start_consumer(consumer)

    async def settled() -> bool:
        return consumer.dead_lettered == 1 and len(await effect_counts(clean_db)) == 11

    await wait_for(settled, seconds=30)
    assert await effect_counts(clean_db) == {i: 1 for i in ids if i != poisoned}


async def test_a_batch_handler_gets_each_fresh_event_once_in_order(
    clean_db: KitDb,
) -> None:
    events = widget_events(4)
    batches: list[list[uuid.UUID]] = []

    async def one_by_one(envelope: Envelope, session: AsyncSession) -> None:
        raise AssertionError("a consumer with a batch handler hands it every event")

    async def together(envelopes: list[Envelope], session: AsyncSession) -> None:
        batches.append([e.id for e in envelopes])
        for envelope in envelopes:
            await apply_effect(envelope, session)

    consumer = InboxConsumer("kit-batch", one_by_one, clean_db.sessions, inbox,
                             batch_handler=together)
    assert await consumer.apply_all(events[:1]) == [True]
    # Already applied, fresh, the same fresh event again within the batch, fresh.
    batch = [events[0], events[1], events[2], events[1], events[3]]
    assert await consumer.apply_all(batch) == [False, True, True, False, True]
    assert batches == [[events[0].id], [events[1].id, events[2].id, events[3].id]]
    assert set((await effect_counts(clean_db)).values()) == {1}
    assert len(await effect_counts(clean_db)) == 4


async def test_sent_rows_are_pruned_after_the_retention_and_unsent_ones_never(
    clean_db: KitDb, broker: NatsBroker
) -> None:
    await create_widgets(clean_db, 6)
    relay = OutboxRelay(clean_db.engine, outbox, broker, stream=STREAM, retention_seconds=3600)
    assert await relay.relay_once() == 6
    await create_widgets(clean_db, 2)  # not published yet
    async with clean_db.engine.begin() as conn:
        sent = (await conn.execute(
            select(outbox.c.seq).where(outbox.c.sent_at.is_not(None)).order_by(outbox.c.seq)
        )).scalars().all()
        # Four of the sent rows went out two hours ago, two just now.
        await conn.execute(
            update(outbox).where(outbox.c.seq.in_(sent[:4]))
            .values(sent_at=func.now() - text("interval '2 hours'"))
        )
    assert await relay.prune() == 4
    async with clean_db.engine.connect() as conn:
        left = (await conn.execute(select(outbox.c.seq, outbox.c.sent_at))).all()
    assert sorted(seq for seq, _ in left if seq in sent) == sorted(sent[4:])
    assert sum(1 for _, sent_at in left if sent_at is None) == 2
    assert await relay.prune() == 0


async def test_a_consumer_prunes_only_its_own_inbox_rows_past_the_retention(
    clean_db: KitDb,
) -> None:
    events = widget_events(5)
    mine = InboxConsumer("kit-prune-mine", apply_effect, clean_db.sessions, inbox,
                         retention_seconds=3600)
    other = InboxConsumer("kit-prune-other", apply_effect, clean_db.sessions, inbox,
                          retention_seconds=3600)
    await mine.apply_all(events)
    await other.apply_all(events)
    async with clean_db.engine.begin() as conn:  # three of each consumer's rows are old
        await conn.execute(
            update(inbox).where(inbox.c.event_id.in_([e.id for e in events[:3]]))
            .values(processed_at=func.now() - text("interval '2 hours'"))
        )
    assert await mine.prune() == 3
    async with clean_db.engine.connect() as conn:
        left = (await conn.execute(select(inbox.c.consumer, func.count())
                                   .where(inbox.c.consumer.like("kit-prune-%"))
                                   .group_by(inbox.c.consumer))).all()
    assert dict(left) == {"kit-prune-mine": 2, "kit-prune-other": 5}
    # A pruned event delivered again is applied again: why rows are kept for days.
    assert await mine.apply_all(events[:1]) == [True]

"""The SQL unit of work hands a session on only when it never began a transaction (no
database needed: a session connects only when a statement runs)."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.db import create_engine, session_factory
from crmkit.outbox import IDLE_SESSIONS, SqlUnitOfWork
from crmkit.tables import outbox_table

ENGINE = create_engine("postgresql+asyncpg://nobody@127.0.0.1:9/unused")
SESSIONS = session_factory(ENGINE)
OUTBOX = outbox_table(MetaData())


def unit(idle: list[AsyncSession] | None) -> SqlUnitOfWork[AsyncSession]:
    return SqlUnitOfWork(SESSIONS, OUTBOX, lambda session: session, idle)


async def test_an_unused_session_serves_the_next_unit_of_work() -> None:
    idle: list[AsyncSession] = []
    async with unit(idle) as first:
        session = first.repo
        await first.commit()  # nothing read or written: no transaction
    assert idle == [session]
    async with unit(idle) as second:
        assert second.repo is session and idle == []
    assert idle == [session]


async def test_a_session_that_began_a_transaction_is_never_handed_on() -> None:
    idle: list[AsyncSession] = []
    async with unit(idle) as left_open:
        await left_open.repo.begin()
    async with unit(idle) as committed:
        await committed.repo.begin()
        await committed.commit()
    async with unit(idle) as rolled_back:
        await rolled_back.repo.begin()
        await rolled_back.rollback()
    assert idle == []


async def test_idle_sessions_are_bounded_and_optional() -> None:
    idle: list[AsyncSession] = []
    units = [unit(idle) for _ in range(IDLE_SESSIONS + 3)]
    for u in units:
        await u.__aenter__()
    for u in units:
        await u.__aexit__(None, None, None)
    assert len(idle) == IDLE_SESSIONS and len({id(s) for s in idle}) == IDLE_SESSIONS
    async with unit(None) as alone:
        assert alone.repo not in idle

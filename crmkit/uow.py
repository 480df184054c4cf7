"""Unit of work: one database transaction that also carries the events it produced."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crmkit.contracts import Envelope

# Relays of this process, woken after a commit that wrote outbox rows. Not a NOTIFY: PostgreSQL
# serialises notifying commits (one flush at a time), which capped writes near 50/s. Relays of
# other processes find the rows by polling.
_commit_listeners: set[Callable[[], None]] = set()


def on_outbox_commit(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` after each commit that wrote outbox rows; returns the unsubscriber."""
    _commit_listeners.add(listener)
    return lambda: _commit_listeners.discard(listener)


def outbox_committed() -> None:
    """Tell this process's relays that committed outbox rows wait (for writers that bypass
    :class:`UnitOfWork`, e.g. set-based inserts)."""
    for listener in tuple(_commit_listeners):
        listener()


async def stage_events(session: AsyncSession, outbox: Table, events: list[Envelope]) -> None:
    """Write ``events`` to the outbox inside the caller's transaction."""
    if not events:
        return
    await session.execute(
        insert(outbox),
        [
            {
                "event_id": e.id,
                "subject": e.subject,
                "aggregate_id": e.aggregate_id,
                "envelope": e.model_dump(mode="json"),
            }
            for e in events
        ],
    )


class UnitOfWork:
    """Collects events during a use case; ``commit`` writes them with the change, atomically.

    Services subclass it to expose their repositories over ``self.session``.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], outbox: Table) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._events: list[Envelope] = []
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self._events = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            await session.rollback()
        finally:
            await session.close()
            self._session = None
            self._events = []

    def emit(self, *events: Envelope) -> None:
        self._events.extend(events)

    @property
    def pending_events(self) -> tuple[Envelope, ...]:
        return tuple(self._events)

    async def commit(self) -> None:
        wrote_events = bool(self._events)
        await stage_events(self.session, self._outbox, self._events)
        await self.session.commit()
        self._events = []
        if wrote_events:
            outbox_committed()

    async def rollback(self) -> None:
        await self.session.rollback()
        self._events = []

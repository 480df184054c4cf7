"""The unit of work every use case runs in: one transaction that also carries its events.

Handlers are ``async def handler(cmd, uow)``; they open the unit of work, use its repository,
emit contract events and commit, all or nothing::

    async def create_folder(cmd: CreateFolder, uow: UnitOfWork[DocumentsRepository]) -> Folder:
        ...
        async with uow:
            await uow.repo.add_folder(folder)
            uow.emit(envelope)
            await uow.commit()

Leaving the ``async with`` without ``commit`` discards the changes and the events. The same
protocol serves a request (:class:`crmkit.outbox.SqlUnitOfWork`, its own transaction), an
event consumer (:class:`crmkit.outbox.InboxUnitOfWork`, riding on the inbox's transaction) and
unit tests (:class:`crmkit.testing.fakes.FakeUnitOfWork`, in memory). This module imports no
database code, so domain and handler modules may import it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, TypeVar

from crmkit.contracts import Envelope

R_co = TypeVar("R_co", covariant=True)


class UnitOfWork(Protocol[R_co]):
    """What a handler gets: a repository, somewhere to put events, and a commit."""

    @property
    def repo(self) -> R_co:
        """The service's repository, inside ``async with`` only."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def emit(self, *events: Envelope) -> None:
        """Events to write with the change when it commits."""
        ...

    async def commit(self) -> None:
        """The change and its events, atomically."""
        ...

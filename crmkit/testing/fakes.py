"""An in-memory unit of work for handler unit tests: the same protocol as the SQL one."""

from __future__ import annotations

import copy
from types import TracebackType
from typing import Generic, Self, TypeVar

from crmkit.contracts import Envelope

R = TypeVar("R")


class FakeUnitOfWork(Generic[R]):
    """Wraps a service's fake repository. A commit keeps the change and records its events in
    :attr:`committed`; leaving ``async with`` without a commit restores the repository as it
    was on entry (a refused command changes nothing), like a rolled-back transaction."""

    def __init__(self, repo: R) -> None:
        self._repo = repo
        self.committed: list[Envelope] = []
        self.commits = 0
        self._pending: list[Envelope] = []
        self._snapshot: dict[str, object] | None = None
        self._open = False

    @property
    def repo(self) -> R:
        if not self._open:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._repo

    async def __aenter__(self) -> Self:
        self._open = True
        self._pending = []
        self._snapshot = copy.deepcopy(vars(self._repo))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._snapshot is not None:  # not committed: back to the state on entry
            vars(self._repo).clear()
            vars(self._repo).update(self._snapshot)
        self._snapshot = None
        self._pending = []
        self._open = False

    def emit(self, *events: Envelope) -> None:
        self._pending.extend(events)

    async def commit(self) -> None:
        self.committed.extend(self._pending)
        self._pending = []
        self.commits += 1
        self._snapshot = copy.deepcopy(vars(self._repo))  # later changes roll back to here

"""The funnel's compactor: folds pending deltas into the totals (run periodically by the
kit's worker, :meth:`crmkit.runtime.ServiceRuntime.every`). Several replicas may run it: one
folds at a time (an advisory lock), the others skip."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reporting.repository import compact

# Queries read pending deltas too, so folding is for their cost, not their correctness: a
# tenth of a second under load keeps the pending rows to a few hundred while each fold (a
# transaction with its own commit) takes more deltas at once.
BUSY_PAUSE_SECONDS = 0.1
IDLE_PAUSE_SECONDS = 0.2


async def compact_once(sessions: async_sessionmaker[AsyncSession]) -> int:
    """One fold in its own transaction; the number of total rows moved."""
    async with sessions() as session, session.begin():
        return await compact(session)

"""The background worker folding the funnel's pending deltas into its totals."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reporting.repository import compact

log = logging.getLogger("crm.reporting.compactor")

# Queries read pending deltas too, so folding is for their cost, not their correctness: a
# tenth of a second under load keeps the pending rows to a few hundred while each fold (a
# transaction with its own commit) takes more deltas at once.
BUSY_PAUSE_SECONDS = 0.1
IDLE_PAUSE_SECONDS = 0.2


async def compact_forever(
    sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event
) -> None:
    """Fold deltas until ``stop``; a short pause while there is work, a longer one when idle.
    Several replicas may run it: one folds at a time (an advisory lock), the others skip."""
    backoff = 0.5
    while not stop.is_set():
        try:
            async with sessions() as session, session.begin():
                folded = await compact(session)
            backoff = 0.5
        except Exception as error:  # the database may be restarting: retry, never die
            log.warning("compacting the funnel failed, retrying in %.1fs: %s", backoff, error)
            folded = 0
            await _pause(stop, backoff)
            backoff = min(backoff * 2, 10.0)
            continue
        await _pause(stop, BUSY_PAUSE_SECONDS if folded else IDLE_PAUSE_SECONDS)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

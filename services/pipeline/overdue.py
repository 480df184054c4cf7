"""The worker that announces activities passing their due time undone."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.pipeline import handlers as h
from services.pipeline.schema import PipelineState

log = logging.getLogger("crm.pipeline.overdue")


async def announce_all(state: PipelineState, batch_size: int = 200) -> int:
    """Announce every activity overdue right now, batch by batch; how many were announced."""
    total = 0
    while True:
        async with state.work() as uow:
            claimed = await h.announce_overdue(uow, h.utcnow(), batch_size)
        total += claimed
        if claimed < batch_size:
            return total


async def run_overdue_worker(
    stop: asyncio.Event, state: PipelineState, *, interval: float, batch_size: int
) -> None:
    """Poll until ``stop`` is set. Several replicas may run it: rows are claimed with
    ``SKIP LOCKED`` and flagged in the transaction that writes the event."""
    while not stop.is_set():
        try:
            announced = await announce_all(state, batch_size)
            if announced:
                log.info("announced %d overdue activities", announced)
        except Exception:
            log.exception("overdue pass failed; retrying after the interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)

"""The overdue pass: announces activities passing their due time undone (run periodically by
the kit's worker, :meth:`crmkit.runtime.ServiceRuntime.every`; several replicas may run it:
rows are claimed with ``SKIP LOCKED`` and flagged in the transaction that writes the event)."""

from __future__ import annotations

from services.pipeline import handlers as h
from services.pipeline.schema import PipelineState


async def announce_all(state: PipelineState, batch_size: int = 200) -> int:
    """Announce every activity overdue right now, batch by batch; how many were announced."""
    total = 0
    while True:
        async with state.work() as uow:
            claimed = await h.announce_overdue(uow, h.utcnow(), batch_size)
        total += claimed
        if claimed < batch_size:
            return total

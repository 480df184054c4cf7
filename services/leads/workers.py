"""Background work of the leads service: idle return of leads to the pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from services.leads import handlers
from services.leads.handlers import LeadsUnitOfWork

log = logging.getLogger("crm.leads.idle")


async def return_idle_leads_once(make_uow: Callable[[], LeadsUnitOfWork]) -> int:
    """One pass over the orgs that turned idle return on; returns how many leads went back."""
    async with make_uow() as uow:
        orgs = await uow.repo.orgs_with_idle_return()
    returned = 0
    for org_id, days in orgs:
        while True:
            async with make_uow() as uow:
                count = await handlers.return_idle_leads(org_id, days, uow)
            returned += count
            if count == 0:
                break
    return returned


async def idle_return_worker(
    make_uow: Callable[[], LeadsUnitOfWork], interval: float, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            returned = await return_idle_leads_once(make_uow)
            if returned:
                log.info("returned %d idle leads to the pool", returned)
        except Exception:
            log.exception("idle return failed; will retry")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)

"""Background work of the leads service: idle return of leads to the pool (run periodically
by the kit's worker, :meth:`crmkit.runtime.ServiceRuntime.every`)."""

from __future__ import annotations

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
    if returned:
        log.info("returned %d idle leads to the pool", returned)
    return returned

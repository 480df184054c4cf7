"""Bus subscribers of the leads service: none (it consumes no other service's events; its
own go out through the outbox). ``register`` keeps the service shape of ADR 0008."""

from __future__ import annotations

from crmkit.runtime import ServiceRuntime
from services.leads.ports import LeadsRepository


def register(runtime: ServiceRuntime[LeadsRepository]) -> None:
    return None

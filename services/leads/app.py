"""The leads service: the subgraph, the relay and the idle return to the pool (the kit's
service shape, :mod:`crmkit.serve`)."""

from __future__ import annotations

from functools import partial

from crmkit.runtime import ServiceRuntime
from crmkit.serve import Edge, ServiceApp
from services.leads import schema, subscribers
from services.leads.handlers.pool import ReturnIdleLeads, return_idle_leads
from services.leads.import_worker import prestart
from services.leads.ports import LeadsRepository
from services.leads.repository import SqlLeadsRepository
from services.leads.schema import LeadsState
from services.leads.settings import LeadsSettings
from services.leads.tables import metadata

SERVICE = "leads"
SETTINGS = LeadsSettings
# While a round of the idle return found leads, the next one follows this soon.
IDLE_RETURN_BUSY_SECONDS = 0.1


def create_runtime(settings: LeadsSettings) -> ServiceRuntime[LeadsRepository]:
    runtime: ServiceRuntime[LeadsRepository] = ServiceRuntime.create(
        SERVICE, settings, metadata,
        partial(SqlLeadsRepository, default_lead_cap=settings.default_lead_cap),
    )
    subscribers.register(runtime)
    runtime.every(
        "idle-return", lambda: return_idle_leads(ReturnIdleLeads(), runtime.uow()),
        interval=settings.idle_return_interval_seconds, busy_interval=IDLE_RETURN_BUSY_SECONDS,
    )
    return runtime


def edge(settings: LeadsSettings, runtime: ServiceRuntime[LeadsRepository], served: bool) -> Edge:
    """A served process also starts the CSV import's worker process at start-up instead of
    on the first large import."""

    async def on_startup() -> None:
        if served:
            prestart()

    return Edge(LeadsState(uow=runtime.uow), on_startup=on_startup)


create_schema = schema.create_schema
create_app = ServiceApp(create_runtime, create_schema, edge).create_app

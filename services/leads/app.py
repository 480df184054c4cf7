"""The leads service: the subgraph, the relay and the idle return to the pool (the kit's
service shape, :mod:`crmkit.serve`)."""

from __future__ import annotations

from functools import partial

from starlette.applications import Starlette
from strawberry.federation import Schema

from crmkit.app import create_service_app
from crmkit.runtime import ServiceRuntime
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


def create_schema() -> Schema:
    return schema.create_schema()


def create_app(
    settings: LeadsSettings,
    *,
    runtime: ServiceRuntime[LeadsRepository] | None = None,
    served: bool = False,
) -> Starlette:
    """A served process also starts the CSV import's worker process at start-up instead of
    on the first large import."""
    runtime = runtime or create_runtime(settings)
    state = LeadsState(uow=runtime.uow)

    async def on_startup() -> None:
        if served:
            prestart()

    return create_service_app(runtime, create_schema(), state=state, on_startup=on_startup,
                              freeze_gc=served)

"""The leads service: the subgraph, the relay and the idle-return worker (the kit's service
shape, :mod:`crmkit.serve`)."""

from __future__ import annotations

from functools import partial

from starlette.applications import Starlette
from strawberry.federation import Schema

from crmkit.app import create_service_app
from crmkit.runtime import ServiceRuntime
from services.leads import schema
from services.leads.handlers import LeadsUnitOfWork
from services.leads.import_worker import prestart
from services.leads.repository import LeadsRepository
from services.leads.schema import LeadsState
from services.leads.settings import LeadsSettings
from services.leads.tables import metadata
from services.leads.workers import return_idle_leads_once

SERVICE = "leads"
SETTINGS = LeadsSettings


def create_runtime(settings: LeadsSettings) -> ServiceRuntime[LeadsRepository]:
    runtime = ServiceRuntime.create(
        SERVICE, settings, metadata,
        partial(LeadsRepository, default_lead_cap=settings.default_lead_cap),
    )
    make_uow = _uow_factory(runtime, settings)
    runtime.every(
        "idle-return", lambda: return_idle_leads_once(make_uow),
        interval=settings.idle_return_interval_seconds,
    )
    return runtime


def _uow_factory(
    runtime: ServiceRuntime[LeadsRepository], settings: LeadsSettings
) -> partial[LeadsUnitOfWork]:
    return partial(LeadsUnitOfWork, runtime.sessions, runtime.outbox,
                   default_lead_cap=settings.default_lead_cap)


def create_schema() -> Schema:
    return schema.make_schema()


def create_app(
    settings: LeadsSettings,
    *,
    runtime: ServiceRuntime[LeadsRepository] | None = None,
    served: bool = False,
) -> Starlette:
    """A served process also starts the CSV import's worker process at start-up instead of
    on the first large import."""
    runtime = runtime or create_runtime(settings)
    state = LeadsState(make_uow=_uow_factory(runtime, settings))

    async def on_startup() -> None:
        if served:
            prestart()

    return create_service_app(runtime, create_schema(), state=state, on_startup=on_startup,
                              freeze_gc=served)

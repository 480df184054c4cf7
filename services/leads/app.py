"""The leads service's starlette app."""

from __future__ import annotations

from functools import partial

from starlette.applications import Starlette

from crmkit.app import create_service_app
from crmkit.logs import configure_logging
from crmkit.runtime import ServiceRuntime
from crmkit.settings import Settings, load_settings
from services.leads.handlers import LeadsUnitOfWork
from services.leads.import_worker import prestart
from services.leads.schema import LeadsState, schema
from services.leads.settings import LeadsSettings
from services.leads.tables import metadata
from services.leads.workers import idle_return_worker

SERVICE = "leads"


def create_runtime(
    settings: Settings | None = None, *, database_url: str | None = None
) -> tuple[ServiceRuntime, LeadsState]:
    settings = settings or LeadsSettings()
    runtime = ServiceRuntime.create(SERVICE, settings, metadata, database_url=database_url)
    state = LeadsState(
        make_uow=partial(
            LeadsUnitOfWork, runtime.sessions, runtime.outbox,
            default_lead_cap=settings.default_lead_cap,
        ),
    )
    interval = getattr(settings, "idle_return_interval_seconds", 3600.0)
    runtime.spawn(lambda stop: idle_return_worker(state.make_uow, interval, stop))
    return runtime, state


def create_app(
    settings: Settings | None = None, *, database_url: str | None = None,
    freeze_gc: bool = False, import_worker: bool = False,
) -> Starlette:
    """``freeze_gc``: see ``crmkit.app.create_service_app`` (a served process).
    ``import_worker``: start the CSV import's worker process at start-up instead of on the
    first large import."""
    runtime, state = create_runtime(settings, database_url=database_url)

    async def on_startup() -> None:
        if import_worker:
            prestart()

    return create_service_app(runtime, schema, state=state, on_startup=on_startup,
                              freeze_gc=freeze_gc)


def create_app_from_environment() -> Starlette:
    """The app as ``python -m services.leads`` serves it, settings from the environment;
    each uvicorn worker process calls this itself."""
    settings = load_settings(LeadsSettings)
    configure_logging("leads", settings.log_level)
    return create_app(settings, freeze_gc=True, import_worker=True)

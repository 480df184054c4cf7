"""The pipeline service's starlette app: the subgraph, the relay, the subscribers and the
overdue-activity worker."""

from __future__ import annotations

from starlette.applications import Starlette

from crmkit.app import create_service_app
from crmkit.logs import configure_logging
from crmkit.runtime import ServiceRuntime
from crmkit.settings import Settings, load_settings
from services.pipeline.overdue import run_overdue_worker
from services.pipeline.schema import PipelineState, create_schema
from services.pipeline.settings import PipelineSettings
from services.pipeline.subscribers import register
from services.pipeline.tables import metadata


def create_runtime(
    settings: Settings | None = None, *, database_url: str | None = None
) -> ServiceRuntime:
    settings = settings or load_settings(PipelineSettings)
    runtime = ServiceRuntime.create("pipeline", settings, metadata, database_url=database_url)
    register(runtime)
    return runtime


def start_overdue_worker(runtime: ServiceRuntime, state: PipelineState) -> None:
    """Spawn the overdue-activity worker; needs the running event loop (app startup)."""
    settings = runtime.settings
    worker = settings if isinstance(settings, PipelineSettings) else PipelineSettings()
    runtime.spawn(
        lambda stop: run_overdue_worker(
            stop, state, interval=worker.pipeline_overdue_interval_seconds,
            batch_size=worker.pipeline_overdue_batch_size,
        )
    )


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    runtime: ServiceRuntime | None = None,
    freeze_gc: bool = False,
) -> Starlette:
    """``freeze_gc``: see ``crmkit.app.create_service_app`` (a served process)."""
    runtime = runtime or create_runtime(settings, database_url=database_url)
    state = PipelineState(runtime.sessions, runtime.outbox)

    async def on_startup() -> None:
        start_overdue_worker(runtime, state)

    app = create_service_app(runtime, create_schema(), state=state, on_startup=on_startup,
                             freeze_gc=freeze_gc)
    app.state.runtime = runtime
    return app


def create_app_from_environment() -> Starlette:
    """The app as ``python -m services.pipeline`` serves it, settings from the environment;
    each uvicorn worker process calls this itself."""
    settings = load_settings(PipelineSettings)
    configure_logging("pipeline", settings.log_level)
    return create_app(settings, freeze_gc=True)

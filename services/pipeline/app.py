"""The pipeline service's starlette app: the subgraph, the relay, the subscribers and the
overdue-activity worker."""

from __future__ import annotations

from starlette.applications import Starlette

from crmkit.app import create_service_app
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
    state = PipelineState(runtime.sessions, runtime.outbox)
    worker = settings if isinstance(settings, PipelineSettings) else PipelineSettings()
    runtime.spawn(
        lambda stop: run_overdue_worker(
            stop, state, interval=worker.pipeline_overdue_interval_seconds,
            batch_size=worker.pipeline_overdue_batch_size,
        )
    )
    return runtime


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    runtime: ServiceRuntime | None = None,
) -> Starlette:
    runtime = runtime or create_runtime(settings, database_url=database_url)
    state = PipelineState(runtime.sessions, runtime.outbox)
    app = create_service_app(runtime, create_schema(), state=state)
    app.state.runtime = runtime  # type: ignore[attr-defined]
    return app

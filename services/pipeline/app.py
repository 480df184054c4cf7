"""The pipeline service: the subgraph, the relay, the subscribers and the overdue-activity
worker (the kit's service shape, :mod:`crmkit.serve`)."""

from __future__ import annotations

from starlette.applications import Starlette
from strawberry.federation import Schema

from crmkit.app import create_service_app
from crmkit.runtime import ServiceRuntime
from services.pipeline import schema, subscribers
from services.pipeline.overdue import announce_all
from services.pipeline.repository import PipelineRepository
from services.pipeline.schema import PipelineState
from services.pipeline.settings import PipelineSettings
from services.pipeline.tables import metadata

SERVICE = "pipeline"
SETTINGS = PipelineSettings


def create_runtime(settings: PipelineSettings) -> ServiceRuntime[PipelineRepository]:
    runtime = ServiceRuntime.create(SERVICE, settings, metadata, PipelineRepository)
    subscribers.register(runtime)
    worker_state = PipelineState(runtime.sessions, runtime.outbox)
    batch_size = settings.pipeline_overdue_batch_size
    runtime.every(
        "overdue", lambda: announce_all(worker_state, batch_size),
        interval=settings.pipeline_overdue_interval_seconds,
    )
    return runtime


def create_schema() -> Schema:
    return schema.create_schema()


def create_app(
    settings: PipelineSettings,
    *,
    runtime: ServiceRuntime[PipelineRepository] | None = None,
    served: bool = False,
) -> Starlette:
    runtime = runtime or create_runtime(settings)
    state = PipelineState(runtime.sessions, runtime.outbox)
    return create_service_app(runtime, create_schema(), state=state, freeze_gc=served)

"""The pipeline service: the subgraph, the relay, the subscribers and the overdue-activity
worker (the kit's service shape, :mod:`crmkit.serve`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from strawberry.federation import Schema

from crmkit.app import create_service_app
from crmkit.runtime import ServiceRuntime
from services.pipeline import schema, subscribers
from services.pipeline.handlers.activities import announce_all_overdue
from services.pipeline.ports import PipelineRepository
from services.pipeline.repository import PipelineCache, SqlPipelineRepository
from services.pipeline.schema import PipelineState
from services.pipeline.settings import PipelineSettings
from services.pipeline.tables import metadata

SERVICE = "pipeline"
SETTINGS = PipelineSettings


def create_runtime(settings: PipelineSettings) -> ServiceRuntime[PipelineRepository]:
    # One pipeline cache per process, shared by every unit of work's repository.
    cache = PipelineCache()

    def repository(session: AsyncSession) -> PipelineRepository:
        return SqlPipelineRepository(session, cache)

    runtime: ServiceRuntime[PipelineRepository] = ServiceRuntime.create(
        SERVICE, settings, metadata, repository
    )
    subscribers.register(runtime)
    batch_size = settings.pipeline_overdue_batch_size
    runtime.every(
        "overdue", lambda: announce_all_overdue(runtime.uow, batch_size),
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
    return create_service_app(
        runtime, create_schema(), state=PipelineState(uow=runtime.uow), freeze_gc=served
    )

"""The pipeline service: the subgraph, the relay, the subscribers and the overdue-activity
worker (the kit's service shape, :mod:`crmkit.serve`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crmkit.runtime import ServiceRuntime
from crmkit.serve import Edge, ServiceApp
from services.pipeline import schema, subscribers
from services.pipeline.handlers.activities import AnnounceOverdue, announce_overdue
from services.pipeline.handlers.common import now
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

    async def overdue() -> bool:
        """One batch; a full one may leave more overdue, so the next follows at once."""
        claimed = await announce_overdue(AnnounceOverdue(now(), batch_size), runtime.uow())
        return claimed == batch_size

    runtime.every("overdue", overdue, interval=settings.pipeline_overdue_interval_seconds,
                  busy_interval=0)
    return runtime


def edge(
    settings: PipelineSettings, runtime: ServiceRuntime[PipelineRepository], served: bool
) -> Edge:
    return Edge(PipelineState(uow=runtime.uow))


create_schema = schema.create_schema
create_app = ServiceApp(create_runtime, create_schema, edge).create_app

"""Settings of the pipeline service."""

from __future__ import annotations

from pydantic import Field

from crmkit.settings import Settings


class PipelineSettings(Settings):
    # How often the overdue-activity worker looks for activities past their due time.
    pipeline_overdue_interval_seconds: float = Field(default=15.0, gt=0, le=3600)
    pipeline_overdue_batch_size: int = Field(default=200, ge=1, le=10_000)
    # Worker processes serving the port, each with its own relay, consumers and overdue
    # worker (all safe to run several times over: they claim rows with SKIP LOCKED and
    # dedupe through the inbox). One Python process uses one core.
    pipeline_workers: int = Field(default=1, ge=1, le=64)
    # The pipeline's own database; unset: database `crm_pipeline` on CRM_DATABASE_URL's
    # server.
    pipeline_database_url: str | None = None

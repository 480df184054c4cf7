"""Settings of the pipeline service."""

from __future__ import annotations

from pydantic import Field

from crmkit.settings import Settings


class PipelineSettings(Settings):
    # How often the overdue-activity worker looks for activities past their due time.
    pipeline_overdue_interval_seconds: float = Field(default=15.0, gt=0, le=3600)
    pipeline_overdue_batch_size: int = Field(default=200, ge=1, le=10_000)

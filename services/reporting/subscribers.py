"""Bus subscribers: the inbox consumers, each handing events to the projection."""

from __future__ import annotations

from crmkit.runtime import ServiceRuntime
from services.reporting.events import CONSUMED_SUBJECTS, CONSUMER_PREFIX
from services.reporting.handlers import project, project_batch


def register(runtime: ServiceRuntime, *, prefix: str = CONSUMER_PREFIX) -> None:
    """Durable consumers ``<prefix>-pipeline``, ``-leads``, ``-documents``."""
    for suffix, subject in CONSUMED_SUBJECTS.items():
        runtime.consume(f"{prefix}-{suffix}", project, subject=subject,
                        batch_handler=project_batch)

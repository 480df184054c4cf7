"""Bus subscribers: one inbox consumer per producing service, each handing its events to the
projection (a pulled batch at once: the projection reads and writes a batch in a few round
trips)."""

from __future__ import annotations

from crmkit.contracts import Envelope
from crmkit.runtime import ServiceRuntime
from crmkit.uow import UnitOfWork
from services.reporting.events import CONSUMED_SUBJECTS, CONSUMER_PREFIX
from services.reporting.handlers.projection import project, project_batch
from services.reporting.ports import ReportingRepository


async def on_event(envelope: Envelope, uow: UnitOfWork[ReportingRepository]) -> None:
    await project(envelope, uow)


async def on_batch(envelopes: list[Envelope], uow: UnitOfWork[ReportingRepository]) -> None:
    await project_batch(envelopes, uow)


def register(runtime: ServiceRuntime[ReportingRepository]) -> None:
    """Durable consumers ``reporting-pipeline``, ``-leads``, ``-documents``."""
    for suffix, subject in CONSUMED_SUBJECTS.items():
        runtime.subscribe(f"{CONSUMER_PREFIX}-{suffix}", subject, on_event, batch=on_batch)

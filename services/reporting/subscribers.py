"""Bus subscribers: the inbox consumers, each handing events to the projection."""

from __future__ import annotations

from crmkit.runtime import ServiceRuntime
from services.reporting.events import CONSUMERS
from services.reporting.handlers import project


def register(runtime: ServiceRuntime) -> None:
    for name, subject in CONSUMERS.items():
        runtime.consume(name, project, subject=subject)

"""The reporting service: the subgraph, the projections' inbox consumers and the funnel's
compactor (the kit's service shape, :mod:`crmkit.serve`). It publishes nothing: its outbox
stays empty, so no relay runs."""

from __future__ import annotations

from starlette.applications import Starlette
from strawberry.federation import Schema

from crmkit.app import create_service_app
from crmkit.db import session_factory
from crmkit.runtime import ServiceRuntime
from services.reporting import schema, subscribers
from services.reporting.compactor import BUSY_PAUSE_SECONDS, IDLE_PAUSE_SECONDS, compact_once
from services.reporting.repository import Projections
from services.reporting.schema import ReportingState
from services.reporting.settings import ReportingSettings
from services.reporting.tables import metadata

SERVICE = "reporting"
SETTINGS = ReportingSettings


def create_runtime(settings: ReportingSettings) -> ServiceRuntime[Projections]:
    runtime = ServiceRuntime.create(
        SERVICE, settings, metadata, Projections, run_relay=False
    )
    subscribers.register(runtime)
    sessions = runtime.sessions
    runtime.every("compactor", lambda: compact_once(sessions),
                  interval=IDLE_PAUSE_SECONDS, busy_interval=BUSY_PAUSE_SECONDS)
    return runtime


def create_schema() -> Schema:
    return schema.create_schema()


def create_app(
    settings: ReportingSettings,
    *,
    runtime: ServiceRuntime[Projections] | None = None,
    served: bool = False,
) -> Starlette:
    runtime = runtime or create_runtime(settings)
    readers = session_factory(runtime.engine.execution_options(isolation_level="AUTOCOMMIT"))
    state = ReportingState(runtime.sessions, readers, settings.reporting_base_currency)
    return create_service_app(runtime, create_schema(), state=state, freeze_gc=served)

"""The reporting service's starlette app."""

from __future__ import annotations

from starlette.applications import Starlette

from crmkit.app import create_service_app
from crmkit.db import session_factory
from crmkit.runtime import ServiceRuntime
from crmkit.settings import Settings, load_settings
from services.reporting.compactor import compact_forever
from services.reporting.events import CONSUMER_PREFIX
from services.reporting.schema import ReportingState, schema
from services.reporting.settings import ReportingSettings
from services.reporting.subscribers import register
from services.reporting.tables import metadata


def create_runtime(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    consumer_prefix: str = CONSUMER_PREFIX,
) -> ServiceRuntime:
    settings = settings or load_settings(ReportingSettings)
    # Reporting publishes nothing: its outbox stays empty, so no relay runs.
    runtime = ServiceRuntime.create(
        "reporting", settings, metadata, database_url=database_url, run_relay=False
    )
    register(runtime, prefix=consumer_prefix)
    runtime.spawn(lambda stop: compact_forever(runtime.sessions, stop))
    return runtime


def base_currency(settings: Settings) -> str:
    """The default base currency (kit ``Settings`` without the reporting fields get EUR)."""
    if isinstance(settings, ReportingSettings):
        return settings.reporting_base_currency
    return ReportingSettings.model_fields["reporting_base_currency"].get_default() or "EUR"


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    runtime: ServiceRuntime | None = None,
) -> Starlette:
    runtime = runtime or create_runtime(settings, database_url=database_url)
    readers = session_factory(runtime.engine.execution_options(isolation_level="AUTOCOMMIT"))
    state = ReportingState(runtime.sessions, readers, base_currency(runtime.settings))
    app = create_service_app(runtime, schema, state=state)
    app.state.runtime = runtime  # type: ignore[attr-defined]
    return app

"""The reporting service: the subgraph, the projections' inbox consumers and the funnel's
compactor (the kit's service shape, :mod:`crmkit.serve`). It publishes nothing: its outbox
stays empty, so no relay runs."""

from __future__ import annotations

from crmkit.db import session_factory
from crmkit.outbox import SqlUnitOfWork
from crmkit.runtime import ServiceRuntime
from crmkit.serve import Edge, ServiceApp
from services.reporting import schema, subscribers
from services.reporting.handlers.projection import compact_funnel
from services.reporting.ports import ReportingRepository
from services.reporting.repository import SqlReportingRepository
from services.reporting.schema import ReportingState
from services.reporting.settings import ReportingSettings
from services.reporting.tables import metadata

SERVICE = "reporting"
SETTINGS = ReportingSettings

# Queries read pending deltas too, so folding is for their cost, not their correctness: a
# tenth of a second under load keeps the pending rows to a few hundred while each fold (a
# transaction with its own commit) takes more deltas at once. Several replicas may run it:
# one folds at a time (an advisory lock), the others skip.
COMPACT_BUSY_SECONDS = 0.1
COMPACT_IDLE_SECONDS = 0.2


def create_runtime(settings: ReportingSettings) -> ServiceRuntime[ReportingRepository]:
    runtime: ServiceRuntime[ReportingRepository] = ServiceRuntime.create(
        SERVICE, settings, metadata, SqlReportingRepository, run_relay=False
    )
    subscribers.register(runtime)
    runtime.every("compactor", lambda: compact_funnel(runtime.uow()),
                  interval=COMPACT_IDLE_SECONDS, busy_interval=COMPACT_BUSY_SECONDS)
    return runtime


def edge(
    settings: ReportingSettings, runtime: ServiceRuntime[ReportingRepository], served: bool
) -> Edge:
    # Reads run on autocommit connections: each is one or a few statements that need no
    # transaction, and skipping BEGIN/ROLLBACK saves two round trips per request.
    readers = session_factory(runtime.engine.execution_options(isolation_level="AUTOCOMMIT"))
    outbox = runtime.outbox

    def read_uow() -> SqlUnitOfWork[ReportingRepository]:
        return SqlUnitOfWork(readers, outbox, runtime.repository)

    return Edge(ReportingState(
        uow=runtime.uow, read_uow=read_uow, base_currency=settings.reporting_base_currency,
        time_zone=settings.reporting_time_zone,
    ))


create_schema = schema.create_schema
create_app = ServiceApp(create_runtime, create_schema, edge).create_app

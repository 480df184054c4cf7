"""The documents service's HTTP app: /graphql (federation subgraph), /healthz, /readyz,
/metrics, plus the inbox consumer of the pipeline's opportunity events."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

from crmkit.app import create_service_app
from crmkit.runtime import ServiceRuntime
from crmkit.settings import Settings, load_settings
from services.documents.events import OPPORTUNITY_CONSUMER, OPPORTUNITY_SUBJECT
from services.documents.schema import DocumentsState, schema
from services.documents.subscribers import on_opportunity_event
from services.documents.tables import metadata

SERVICE = "documents"


@dataclass(frozen=True)
class DocumentsService:
    """The app with the runtime it serves (tests start and stop the runtime themselves)."""

    app: Starlette
    runtime: ServiceRuntime
    state: DocumentsState


def build_service(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    run_relay: bool = True,
    consumer_name: str = OPPORTUNITY_CONSUMER,
) -> DocumentsService:
    settings = settings or load_settings()
    runtime = ServiceRuntime.create(
        SERVICE, settings, metadata, database_url=database_url, run_relay=run_relay
    )
    runtime.consume(consumer_name, on_opportunity_event, subject=OPPORTUNITY_SUBJECT)
    state = DocumentsState(sessions=runtime.sessions, outbox=runtime.outbox)
    app = create_service_app(runtime, schema, state=state)
    return DocumentsService(app=app, runtime=runtime, state=state)


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> Starlette:
    return build_service(settings, database_url=database_url).app

"""The documents service: the subgraph and the subscriber of the pipeline's opportunity
events (the kit's service shape, :mod:`crmkit.serve`)."""

from __future__ import annotations

from starlette.applications import Starlette
from strawberry.federation import Schema

from crmkit.app import create_service_app
from crmkit.runtime import ServiceRuntime
from services.documents import schema, subscribers
from services.documents.ports import DocumentsRepository
from services.documents.repository import SqlDocumentsRepository
from services.documents.schema import DocumentsState
from services.documents.settings import DocumentsSettings
from services.documents.tables import metadata

SERVICE = "documents"
SETTINGS = DocumentsSettings


def create_runtime(settings: DocumentsSettings) -> ServiceRuntime[DocumentsRepository]:
    runtime: ServiceRuntime[DocumentsRepository] = ServiceRuntime.create(
        SERVICE, settings, metadata, SqlDocumentsRepository
    )
    subscribers.register(runtime)
    return runtime


def create_schema() -> Schema:
    return schema.create_schema()


def create_app(
    settings: DocumentsSettings,
    *,
    runtime: ServiceRuntime[DocumentsRepository] | None = None,
    served: bool = False,
) -> Starlette:
    runtime = runtime or create_runtime(settings)
    state = DocumentsState(uow=runtime.uow)
    return create_service_app(runtime, create_schema(), state=state, freeze_gc=served)

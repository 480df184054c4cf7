"""The documents service: the subgraph, the /files/ routes of signed uploads and downloads,
and the subscriber of the pipeline's opportunity events (the kit's service shape,
:mod:`crmkit.serve`)."""

from __future__ import annotations

from starlette.applications import Starlette
from strawberry.federation import Schema

from crmkit.app import create_service_app
from crmkit.runtime import ServiceRuntime
from services.documents import files, schema, subscribers
from services.documents.handlers.common import now
from services.documents.handlers.offers import ExpireOffers, expire_offers
from services.documents.ports import BlobStore, DocumentsRepository
from services.documents.repository import SqlRepositories
from services.documents.schema import DocumentsState
from services.documents.settings import DocumentsSettings
from services.documents.signing import Signer
from services.documents.storage import open_store
from services.documents.tables import metadata

SERVICE = "documents"
SETTINGS = DocumentsSettings


def create_runtime(settings: DocumentsSettings) -> ServiceRuntime[DocumentsRepository]:
    store = open_store(settings)
    runtime: ServiceRuntime[DocumentsRepository] = ServiceRuntime.create(
        SERVICE, settings, metadata, SqlRepositories(store)
    )
    runtime.closers.append(store.close)
    subscribers.register(runtime)

    async def expire() -> int:
        return await expire_offers(ExpireOffers(today=now().date()), runtime.uow())

    # Offers still issued after their validity date expire (hourly; several processes may run
    # it: each offer is locked and checked again before it changes).
    runtime.every("offer-expiry", expire, interval=3600, busy_interval=1)
    return runtime


def store_of(runtime: ServiceRuntime[DocumentsRepository]) -> BlobStore:
    """The blob store the runtime's repositories write to (the /files/ routes stream it)."""
    repositories = runtime.repository
    if not isinstance(repositories, SqlRepositories):
        raise TypeError("the documents runtime builds SQL repositories")
    return repositories.store


def create_schema() -> Schema:
    return schema.create_schema()


def create_app(
    settings: DocumentsSettings,
    *,
    runtime: ServiceRuntime[DocumentsRepository] | None = None,
    served: bool = False,
) -> Starlette:
    runtime = runtime or create_runtime(settings)
    store = store_of(runtime)
    signer = Signer(
        settings.documents_files_secret.get_secret_value(), settings.documents_url_ttl_seconds
    )
    state = DocumentsState(uow=runtime.uow, signer=signer)
    return create_service_app(
        runtime,
        create_schema(),
        state=state,
        routes=files.routes(files.Files(runtime.uow, store, signer)),
        freeze_gc=served,
    )

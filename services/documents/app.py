"""The documents service: the subgraph, the /files/ routes of signed uploads and downloads,
and the subscriber of the pipeline's opportunity events (the kit's service shape,
:mod:`crmkit.serve`)."""

from __future__ import annotations

from crmkit.runtime import ServiceRuntime
from crmkit.serve import Edge, ServiceApp
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


def edge(
    settings: DocumentsSettings, runtime: ServiceRuntime[DocumentsRepository], served: bool
) -> Edge:
    """The signer of /files/ URLs serves both the mutations that answer them and the routes."""
    signer = Signer(
        settings.documents_files_secret.get_secret_value(), settings.documents_url_ttl_seconds
    )
    return Edge(
        DocumentsState(uow=runtime.uow, signer=signer),
        routes=files.routes(files.Files(runtime.uow, store_of(runtime), signer)),
    )


create_schema = schema.create_schema
create_app = ServiceApp(create_runtime, create_schema, edge).create_app

"""What every resolver of the documents subgraph reaches: the caller, a unit of work and the
signer of ``/files/`` URLs (the kit's request context, :mod:`crmkit.schema_context`)."""

from __future__ import annotations

from dataclasses import dataclass

from crmkit.schema_context import Info, RequestContext, ServiceState, caller_of
from services.documents.ports import DocumentsRepository
from services.documents.signing import Signer

__all__ = ["DocumentsState", "Info", "caller", "caller_of", "signer", "uow", "uow_of"]


@dataclass(frozen=True)
class DocumentsState(ServiceState[DocumentsRepository]):
    # Signs the /files/ URLs that the upload and download mutations answer.
    signer: Signer


context = RequestContext(DocumentsState)
caller, uow, uow_of = context.caller, context.uow, context.uow_of


def signer(info: Info) -> Signer:
    return context.state(info).signer

"""Events published by the documents service.

The envelope's ``aggregate_id`` is the folder, document or offer id and ``aggregate_version``
the folder's version, the document's version number or 1 for an offer. Payloads never carry
document content (it can be megabytes): consumers get its size and sha256.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from crmkit.contracts import Event
from crmkit.values import Amount, CurrencyCode

DocumentKind = Literal["OFFER_TEMPLATE", "PRICE_LIST", "NDA", "CONTRACT", "OTHER"]


class OfferIssued(Event):
    """An offer was issued to the client for an opportunity (meets the ``offer_issued`` gate)."""

    TYPE = "crm.documents.offer.issued"
    MONEY = (("amount", "currency"),)

    offer_id: uuid.UUID
    opportunity_id: uuid.UUID
    document_id: uuid.UUID | None = None
    title: str = ""
    issued_at: datetime | None = None
    # Added fields (optional, so older consumers and producers stay compatible).
    template_version: int | None = None
    amount: Amount | None = None
    currency: CurrencyCode | None = None
    issued_by: uuid.UUID | None = None


class FolderCreated(Event):
    TYPE = "crm.documents.folder.created"

    folder_id: uuid.UUID
    name: str
    allowed_groups: list[str] = []


class FolderAccessChanged(Event):
    """A folder's allowed groups were replaced (empty: the whole org)."""

    TYPE = "crm.documents.folder.access_changed"

    folder_id: uuid.UUID
    allowed_groups: list[str] = []


class DocumentCreated(Event):
    """A document was uploaded with its first version."""

    TYPE = "crm.documents.document.created"

    document_id: uuid.UUID
    folder_id: uuid.UUID
    name: str
    kind: DocumentKind
    allowed_groups: list[str] = []
    version: int = 1
    media_type: str = "text/plain"
    size_bytes: int = 0
    sha256: str = ""


class DocumentVersionAdded(Event):
    TYPE = "crm.documents.document.version_added"

    document_id: uuid.UUID
    folder_id: uuid.UUID
    version: int
    media_type: str = "text/plain"
    size_bytes: int = 0
    sha256: str = ""


class DocumentAccessChanged(Event):
    """A document's allowed groups were replaced (empty: everyone who sees its folder)."""

    TYPE = "crm.documents.document.access_changed"

    document_id: uuid.UUID
    folder_id: uuid.UUID
    allowed_groups: list[str] = []

"""Events published by the documents service.

The envelope's ``aggregate_id`` is the folder, document or offer id and ``aggregate_version``
the folder's version, the document's version number or the offer's version (1 for an offer
issued before offers had revisions). Payloads never carry document content (it can be
megabytes): consumers get its size and sha256.

An offer's life: drafted (no event), ``offer.issued`` (to the client; the pipeline's
``offer_issued`` gate; again for each revision issued), then one of ``offer.accepted``,
``offer.rejected`` (the client's answer, recorded by a member) or ``offer.expired`` (its
validity date passed while issued).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from crmkit.contracts import Event
from crmkit.values import Amount, CurrencyCode

DocumentKind = Literal["OFFER_TEMPLATE", "PRICE_LIST", "NDA", "CONTRACT", "OTHER"]
OfferTitle = Annotated[str, StringConstraints(max_length=300)]
OfferNumber = Annotated[str, StringConstraints(max_length=60)]
"""An offer's number in its organisation's sequence, e.g. ``OF/2026/12/0007``."""
DecisionText = Annotated[str, StringConstraints(max_length=2000)]
Revision = Annotated[int, Field(ge=1, le=10_000)]


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
    """The offer's net total (before VAT), in the deal's currency."""
    currency: CurrencyCode | None = None
    issued_by: uuid.UUID | None = None
    # Added with offer revisions (absent from offers issued before them).
    number: OfferNumber | None = None
    revision: Revision | None = None
    """The revision sent to the client (1, 2, ...)."""
    valid_until: date | None = None
    media_type: str | None = None
    """The sent file's type: ``application/pdf``, the DOCX type or ``text/plain``."""
    owner_id: uuid.UUID | None = None
    """The deal's owner as the documents service knows it (None: not known yet)."""


class OfferDecision(Event):
    """What every outcome of an issued offer carries: the offer as it was issued."""

    MONEY = (("amount", "currency"),)

    offer_id: uuid.UUID
    opportunity_id: uuid.UUID
    number: OfferNumber | None = None
    title: OfferTitle = ""
    revision: Revision
    amount: Amount | None = None
    """The offer's net total (before VAT)."""
    currency: CurrencyCode | None = None
    issued_by: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    """The deal's owner as the documents service knows it (None: not known yet)."""
    decided_at: datetime


class OfferAccepted(OfferDecision):
    """The client accepted the issued offer (recorded by ``accepted_by``)."""

    TYPE = "crm.documents.offer.accepted"

    accepted_by: uuid.UUID
    comment: DecisionText = ""


class OfferRejected(OfferDecision):
    """The client rejected the issued offer (recorded by ``rejected_by``)."""

    TYPE = "crm.documents.offer.rejected"

    rejected_by: uuid.UUID
    reason: DecisionText = ""


class OfferExpired(OfferDecision):
    """The offer's validity date passed while it was issued and unanswered."""

    TYPE = "crm.documents.offer.expired"

    valid_until: date


class FolderCreated(Event):
    TYPE = "crm.documents.folder.created"

    folder_id: uuid.UUID
    name: str
    allowed_groups: list[str] = []
    # Who writes in it besides managers; the top-level folder it is nested in.
    write_groups: list[str] = []
    parent_id: uuid.UUID | None = None


class FolderAccessChanged(Event):
    """A folder's allowed groups were replaced (empty: the whole org), and its write groups."""

    TYPE = "crm.documents.folder.access_changed"

    folder_id: uuid.UUID
    allowed_groups: list[str] = []
    write_groups: list[str] = []


class FolderChanged(Event):
    """A folder was renamed, nested (or made top-level), archived or brought back."""

    TYPE = "crm.documents.folder.changed"

    folder_id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None = None
    archived: bool = False


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


class DocumentChanged(Event):
    """A document was renamed or moved to another folder."""

    TYPE = "crm.documents.document.changed"

    document_id: uuid.UUID
    folder_id: uuid.UUID
    name: str


class DocumentDeleted(Event):
    """A document was deleted (softly: kept, found by no one; the envelope's actor did it)."""

    TYPE = "crm.documents.document.deleted"

    document_id: uuid.UUID
    folder_id: uuid.UUID


class DocumentAccessChanged(Event):
    """A document's allowed groups were replaced (empty: everyone who sees its folder)."""

    TYPE = "crm.documents.document.access_changed"

    document_id: uuid.UUID
    folder_id: uuid.UUID
    allowed_groups: list[str] = []

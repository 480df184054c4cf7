"""The document library and offers: rules only, no IO.

Access: a folder or document lists the groups (departments) that may see it; an empty list
means the whole org. A document is visible to a caller who sees both its folder and the
document itself. Admins see everything. Managers and admins manage folders and access rules.

Offers: an OFFER_TEMPLATE is checked when it is uploaded and rendered by
:mod:`services.documents.rendering` (DOCX, HTML to PDF, or plain text).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import partial
from pathlib import PurePath
from typing import Any

from crmkit.auth import Caller
from crmkit.errors import ForbiddenError, ProblemCollector
from crmkit.values import Money, clean_text, search_form
from services.documents.rendering import check_template
from services.documents.sniffing import SNIFF_BYTES, check_type

# A file at most (uploaded over HTTP, streamed); inline content (GraphQL's base64 and text,
# and anything read whole, such as an offer template) at most MAX_CONTENT_BYTES.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_CONTENT_BYTES = 5 * 1024 * 1024
MAX_NAME_LENGTH = 200
MAX_TITLE_LENGTH = 300
MAX_GROUP_LENGTH = 100
MAX_GROUPS = 50
MAX_VALUE_LENGTH = 10_000
MAX_VALUES = 200
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


class DocumentKind(StrEnum):
    OFFER_TEMPLATE = "OFFER_TEMPLATE"
    PRICE_LIST = "PRICE_LIST"
    NDA = "NDA"
    CONTRACT = "CONTRACT"
    OTHER = "OTHER"


# --- entities -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Folder:
    """``allowed_groups`` read it (empty: the whole org), ``write_groups`` also write in it
    (upload, new versions, rename, move and delete documents; managers always may). A folder
    is nested at most one level: a subfolder's ``parent_id`` names a top-level folder, and
    the subfolder is seen only by those who see its parent too. An archived folder is read
    only and left out of the folder list."""

    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    allowed_groups: tuple[str, ...]
    version: int
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    parent_id: uuid.UUID | None = None
    write_groups: tuple[str, ...] = ()
    archived_at: datetime | None = None
    archived_by: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Document:
    id: uuid.UUID
    org_id: uuid.UUID
    folder_id: uuid.UUID
    name: str
    kind: DocumentKind
    allowed_groups: tuple[str, ...]
    current_version: int
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    # Soft deletion: who and when; a deleted document is found by no one (but its history).
    deleted_at: datetime | None = None
    deleted_by: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class DocumentVersion:
    """One stored version's facts; its bytes are loaded separately (they can be 5 MB)."""

    document_id: uuid.UUID
    number: int
    media_type: str
    size_bytes: int
    sha256: str
    created_by: uuid.UUID
    created_at: datetime


class OfferStatus(StrEnum):
    DRAFT = "DRAFT"
    ISSUED = "ISSUED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


OFFER_MOVES: dict[OfferStatus, frozenset[OfferStatus]] = {
    OfferStatus.DRAFT: frozenset({OfferStatus.ISSUED}),
    OfferStatus.ISSUED: frozenset(
        {OfferStatus.ACCEPTED, OfferStatus.REJECTED, OfferStatus.EXPIRED}),
    OfferStatus.ACCEPTED: frozenset(),
    OfferStatus.REJECTED: frozenset(),
    OfferStatus.EXPIRED: frozenset(),
}
"""draft -> issued -> accepted / rejected / expired; a new revision of a draft or an issued
offer makes it a draft again (it is issued anew)."""
REVISABLE = frozenset({OfferStatus.DRAFT, OfferStatus.ISSUED})


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer of a deal; its file, text and money are its current revision's."""

    id: uuid.UUID
    org_id: uuid.UUID
    opportunity_id: uuid.UUID
    template_id: uuid.UUID
    template_version: int
    title: str
    content: str
    """The offer's text (of the current revision's file)."""
    media_type: str
    amount: Decimal | None
    """The net total (before VAT)."""
    currency: str | None
    issued_by: uuid.UUID | None
    issued_at: datetime | None
    number: str | None = None
    """``OF/2026/12/0007``; None for offers made before numbers."""
    status: OfferStatus = OfferStatus.ISSUED
    revision: int = 1
    valid_until: date | None = None
    created_by: uuid.UUID | None = None
    created_at: datetime | None = None
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = None
    decision_note: str = ""

    @property
    def author(self) -> uuid.UUID:
        return self.created_by or self.issued_by or uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class OfferRevision:
    """One rendering of an offer (v1, v2, ...): its file, merge data and author."""

    offer_id: uuid.UUID
    number: int
    org_id: uuid.UUID
    template_id: uuid.UUID
    template_version: int
    media_type: str
    size_bytes: int
    sha256: str
    text: str
    merge_data: dict[str, Any]
    amount: Decimal | None
    currency: str | None
    created_by: uuid.UUID
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OfferFile:
    data: bytes
    media_type: str
    sha256: str


def file_name(offer: Offer, media_type: str) -> str:
    """``OF-2026-12-0007-v2.pdf``: a download's file name."""
    extension = {"application/pdf": "pdf", "text/plain": "txt"}.get(media_type, "docx")
    base = (offer.number or str(offer.id)).replace("/", "-")
    return f"{base}-v{offer.revision}.{extension}"


def offer_number(period: date, sequence: int) -> str:
    """The org's ``sequence``-th offer of the month: ``OF/2026/12/0007``."""
    return f"OF/{period.year}/{period.month:02d}/{sequence:04d}"


def search_terms(query: str) -> list[str]:
    """The words of a search, in :func:`search_form`, each matched as a prefix."""
    return [w for w in re.findall(r"\w+", search_form(query)) if w][:20]


# --- access -------------------------------------------------------------------------------


def sees(caller: Caller, allowed_groups: Iterable[str]) -> bool:
    """True when ``allowed_groups`` lets the caller see the thing it guards."""
    groups = frozenset(allowed_groups)
    return caller.is_admin or not groups or bool(groups & caller.groups)


def sees_document(
    caller: Caller, folder_groups: Iterable[str], document_groups: Iterable[str]
) -> bool:
    return sees(caller, folder_groups) and sees(caller, document_groups)


def sees_folder(caller: Caller, folder: Folder, parent: Folder | None) -> bool:
    """The folder, and its parent when it is a subfolder, let the caller see it."""
    return sees(caller, folder.allowed_groups) and (
        parent is None or sees(caller, parent.allowed_groups)
    )


def writes_in(caller: Caller, folder: Folder) -> bool:
    """Write access (for a caller who sees the folder): managers, and members of its
    ``write_groups``."""
    return caller.is_manager or bool(frozenset(folder.write_groups) & caller.groups)


def require_writable(caller: Caller, folder: Folder) -> None:
    if folder.archived_at is not None:
        raise ForbiddenError(f"folder '{folder.name}' is archived")
    if not writes_in(caller, folder):
        raise ForbiddenError(f"no write access to folder '{folder.name}'")


def require_library_manager(caller: Caller, action: str) -> None:
    if not caller.is_manager:
        raise ForbiddenError(f"only managers and admins may {action}")


@dataclass(frozen=True, slots=True)
class OpportunityAccess:
    """Who owns an opportunity, as last reported by the pipeline service."""

    owner_id: uuid.UUID
    team: str | None


@dataclass(frozen=True, slots=True)
class OpportunityDetails:
    """What an offer and the offer library show of a deal, from the pipeline's snapshot."""

    name: str
    amount: Decimal
    currency: str
    status: str
    stage_name: str = ""
    expected_close_date: date | None = None
    account_id: uuid.UUID | None = None
    close_reason: str | None = None
    close_comment: str | None = None
    lessons_learned: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContactPerson:
    contact_id: uuid.UUID
    account_id: uuid.UUID
    name: str
    email: str | None = None
    phone: str | None = None
    position: str | None = None


class Outcome(StrEnum):
    WON = "WON"
    LOST = "LOST"


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """A past offer with its deal's outcome and what was learned from it."""

    offer: Offer
    deal_name: str
    client_name: str
    outcome: Outcome
    close_reason: str | None
    close_comment: str | None
    lessons_learned: str | None
    closed_at: datetime | None


def sees_opportunity(
    caller: Caller, access: OpportunityAccess | None, *, issued_by: Iterable[uuid.UUID] = ()
) -> bool:
    """A rep sees their own opportunities, a manager their team's, an admin the org's.

    Until the pipeline's event reaches us (``access is None``) only managers and the members
    who issued an offer on it see it.
    """
    if caller.is_admin:
        return True
    if access is None:
        return caller.is_manager or caller.member_id in set(issued_by)
    if access.owner_id == caller.member_id:
        return True
    return caller.is_manager and caller.team is not None and access.team == caller.team


def may_issue_offer(caller: Caller, access: OpportunityAccess | None) -> bool:
    """Anyone may issue on an opportunity not known here yet (the pipeline's event may lag
    behind the request); a known one must be visible to the caller."""
    return access is None or sees_opportunity(caller, access)


# --- input rules --------------------------------------------------------------------------


def clean_name(value: str, path: str, problems: ProblemCollector, limit: int) -> str:
    """The kit's one-line text rule; the trimmed name (problems noted under ``path``)."""
    return problems.value(path, lambda: clean_text(value, max_length=limit)) or value.strip()


def clean_group(value: str) -> str:
    return clean_text(value, max_length=MAX_GROUP_LENGTH)


def clean_groups(values: Iterable[str], path: str, problems: ProblemCollector) -> list[str]:
    """Trimmed, de-duplicated, sorted group names (so equal rules compare equal)."""
    groups: set[str] = set()
    for index, raw in enumerate(values):
        group = problems.value(f"{path}.{index}", partial(clean_group, raw))
        if group is not None:
            groups.add(group)
    if len(groups) > MAX_GROUPS:
        problems.add(path, f"must list at most {MAX_GROUPS} groups")
    return sorted(groups)


@dataclass(frozen=True, slots=True)
class Content:
    """Bytes held in memory (at most :data:`MAX_CONTENT_BYTES`)."""

    data: bytes
    media_type: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def head(self) -> bytes:
        return self.data[:SNIFF_BYTES]

    def text(self) -> str | None:
        """The content as text when it is UTF-8, else None."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None


@dataclass(frozen=True, slots=True)
class StagedFile:
    """Bytes received over HTTP and staged in a temporary file, never held whole in memory:
    their size and sha256 counted while they arrived, and their first bytes for sniffing."""

    path: PurePath
    media_type: str
    sha256: str
    size: int
    head: bytes


NewContent = Content | StagedFile


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A stored version and where its bytes are: ``inline`` (a version written before the
    blob store kept them in its row) or the store's ``key``."""

    version: DocumentVersion
    key: str
    inline: bytes | None = None


def blob_key(org_id: uuid.UUID, sha256: str) -> str:
    """Where a store keeps content: per org (no org learns what another stores), named by
    its sha256 (identical content stored once, a stored blob never changes)."""
    return f"{org_id}/{sha256}"


def check_content(
    data: bytes | StagedFile, media_type: str, kind: DocumentKind, problems: ProblemCollector
) -> NewContent:
    """The size, media type and (for an offer template) text rules; the sniffed type is
    checked once these pass (:func:`check_sniffed`)."""
    media = media_type.strip().lower()
    if not MEDIA_TYPE.match(media.split(";", 1)[0].strip()):
        problems.add("mediaType", "must be a media type such as text/markdown")
    size = data.size if isinstance(data, StagedFile) else len(data)
    if not size:
        problems.add("content", "must not be empty")
    elif size > MAX_FILE_BYTES:
        problems.add("content", f"must be at most {MAX_FILE_BYTES} bytes")
    elif kind is DocumentKind.OFFER_TEMPLATE:
        if isinstance(data, StagedFile):
            problems.add("content", f"an offer template must be at most {MAX_CONTENT_BYTES} bytes")
        else:
            for problem in template_problems(data, media):
                problems.add("content", problem)
    if isinstance(data, StagedFile):
        return StagedFile(data.path, media, data.sha256, data.size, data.head)
    return Content(data=data, media_type=media, sha256=hashlib.sha256(data).hexdigest())


def check_sniffed(content: NewContent) -> NewContent:
    """The content with its declared type made canonical, once the sniffed type allows it;
    :class:`~services.documents.sniffing.ContentRefused` otherwise."""
    media = check_type(content.head, content.media_type)
    if isinstance(content, StagedFile):
        return StagedFile(content.path, media, content.sha256, content.size, content.head)
    return Content(data=content.data, media_type=media, sha256=content.sha256)


# --- offer templates ----------------------------------------------------------------------


def template_problems(data: bytes, media_type: str = "text/plain") -> list[str]:
    """Why ``data`` cannot serve as an offer template (empty when it can), each naming its
    place (:mod:`services.documents.rendering`)."""
    return [str(problem) for problem in check_template(data, media_type)]


def check_offer_input(
    *,
    title: str | None,
    values: Iterable[tuple[str, str]],
    amount: Decimal | str | None,
    currency: str | None,
    problems: ProblemCollector,
) -> tuple[str | None, dict[str, str], Money | None]:
    """The cleaned title (None: use the template's name), values by name, and money."""
    clean_title = None if title is None else clean_name(title, "title", problems, MAX_TITLE_LENGTH)
    by_name: dict[str, str] = {}
    for index, (name, value) in enumerate(values):
        if index >= MAX_VALUES:
            problems.add("values", f"must hold at most {MAX_VALUES} values")
            break
        if name in by_name:
            problems.add(f"values.{index}.name", f"'{name}' is given twice")
        elif len(value) > MAX_VALUE_LENGTH:
            problems.add(f"values.{index}.value", f"must be at most {MAX_VALUE_LENGTH} characters")
        elif "\x00" in value or "\x00" in name:
            problems.add(f"values.{index}", "must not contain NUL characters")
        else:
            by_name[name] = value
    return clean_title, by_name, check_money(amount, currency, problems)


def check_money(
    amount: Decimal | str | None, currency: str | None, problems: ProblemCollector
) -> Money | None:
    """The kit's money rule, both or neither given; the code in any case, spaces around."""
    code = None if currency is None else currency.strip().upper()
    return problems.value("", lambda: Money.optional(amount, code))


# --- the org's settings for offers -------------------------------------------------------

VALIDITY_DAYS = 30
"""How long an offer is valid when neither the rep nor the org's setting says."""
MIN_VALIDITY_DAYS = 1
MAX_VALIDITY_DAYS = 365


@dataclass(frozen=True, slots=True)
class OfferSettings:
    """What an org's offers are made with: the validity period of a new offer (an admin's
    setting here) and the locale money, numbers and dates are formatted in (the org's
    language, from the pipeline's ``organization.settings_changed``; None until it comes)."""

    validity_days: int = VALIDITY_DAYS
    locale: str | None = None


def check_validity_days(days: int, problems: ProblemCollector) -> None:
    if not MIN_VALIDITY_DAYS <= days <= MAX_VALIDITY_DAYS:
        problems.add("validityDays", f"must be between {MIN_VALIDITY_DAYS} and "
                                     f"{MAX_VALIDITY_DAYS} days")

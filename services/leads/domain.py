"""The leads domain: lead fields and their normalisation, statuses, access, caps, errors.

Plain Python, no IO: handlers load rows, ask these rules, and write what they decide.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from crmkit.auth import Caller
from crmkit.errors import DomainError, ForbiddenError, ProblemCollector
from crmkit.values import Money, clean_text, search_form
from services.leads import normalise
from services.leads.nip import InvalidNip, normalise_nip

MAX_PRIORITY: Final = 100
MAX_TAGS: Final = 20
MAX_TAG_LENGTH: Final = 50
MAX_NOTES_LENGTH: Final = 10_000
MAX_TEXT_LENGTH: Final = 300
MAX_CLAIM_BATCH: Final = 200
MAX_ASSIGN_BATCH: Final = 500


class LeadStatus(StrEnum):
    NEW = "NEW"
    ASSIGNED = "ASSIGNED"
    CONTACTED = "CONTACTED"
    QUALIFIED = "QUALIFIED"
    DISQUALIFIED = "DISQUALIFIED"
    CONVERTED = "CONVERTED"

    @property
    def is_active(self) -> bool:
        """Active leads count against their owner's cap and may sit in the pool."""
        return self not in (LeadStatus.DISQUALIFIED, LeadStatus.CONVERTED)


ACTIVE_STATUSES: Final = tuple(s.value for s in LeadStatus if s.is_active)


# --- errors -------------------------------------------------------------------------------


class DuplicateLead(DomainError):
    """The new lead matches an existing one (same email, phone, or domain and company);
    ``existing_lead_id`` is None when the caller may not see that lead (:func:`nameable`)."""

    def __init__(self, existing_lead_id: uuid.UUID | None, matched_on: list[str]) -> None:
        which = "" if existing_lead_id is None else f": {existing_lead_id}"
        super().__init__(f"a lead with the same {' and '.join(matched_on)} already exists{which}")
        self.existing_lead_id = existing_lead_id
        self.matched_on = matched_on


class CapExceeded(DomainError):
    """The member's lead cap leaves room for ``fits`` of the ``requested`` leads."""

    def __init__(self, member_id: uuid.UUID, cap: int, active: int, requested: int) -> None:
        self.member_id = member_id
        self.cap = cap
        self.active = active
        self.requested = requested
        self.fits = max(cap - active, 0)
        super().__init__(
            f"member holds {active} of {cap} active leads: {self.fits} of the {requested} "
            "leads fit; nothing was assigned"
        )


class InvalidLeadState(DomainError):
    """The lead's status or ownership does not allow the action."""

    def __init__(self, action: str, status: str, reason: str) -> None:
        super().__init__(f"cannot {action} a lead that {reason} (status {status})")
        self.action = action
        self.status = status


# --- lead fields ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadFields:
    """A lead's descriptive fields, normalised."""

    company: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    domain: str | None = None
    company_key: str | None = None
    source: str | None = None
    notes: str | None = None
    tags: tuple[str, ...] = ()
    priority: int = 0

    @property
    def dedupe_keys(self) -> DedupeKeys:
        return DedupeKeys(
            email=self.email, phone=self.phone, domain=self.domain, company_key=self.company_key
        )


@dataclass(frozen=True, slots=True)
class DedupeKeys:
    """Two leads are duplicates when they share an email, a phone, or a domain together
    with a company name (compared by :func:`normalise.company_key`)."""

    email: str | None
    phone: str | None
    domain: str | None
    company_key: str | None

    def matched_on(self, other: DedupeKeys) -> list[str]:
        matched: list[str] = []
        if self.email and self.email == other.email:
            matched.append("email")
        if self.phone and self.phone == other.phone:
            matched.append("phone")
        if (
            self.domain
            and self.company_key
            and self.domain == other.domain
            and self.company_key == other.company_key
        ):
            matched.append("domain and company")
        return matched

    @property
    def is_empty(self) -> bool:
        return not (self.email or self.phone or (self.domain and self.company_key))


def parse_tags(
    raw: list[str] | str | None, problems: ProblemCollector, path: str
) -> tuple[str, ...]:
    """Trimmed, de-duplicated tags (order kept); a string is split on ``,`` ``;`` or ``|``."""
    if raw is None:
        return ()
    items = raw.replace(";", ",").replace("|", ",").split(",") if isinstance(raw, str) else raw
    tags: list[str] = []
    for item in items:
        try:
            tag = normalise.clean_text(item, max_length=MAX_TAG_LENGTH)
        except normalise.NormalisationError as error:
            problems.add(path, f"a tag {error}")
            return ()
        if tag is None or tag in tags:
            continue
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        problems.add(path, f"at most {MAX_TAGS} tags")
        return ()
    return tuple(tags)


def parse_priority(raw: int | str | None, problems: ProblemCollector, path: str) -> int:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 0
    try:
        value = int(raw.strip()) if isinstance(raw, str) else int(raw)
    except ValueError:
        problems.add(path, "must be a whole number")
        return 0
    if not 0 <= value <= MAX_PRIORITY:
        problems.add(path, f"must be between 0 and {MAX_PRIORITY}")
        return 0
    return value


def _text(
    raw: str | None, problems: ProblemCollector, path: str, max_length: int = MAX_TEXT_LENGTH,
    *, multiline: bool = False,
) -> str | None:
    clean = normalise.clean_multiline if multiline else normalise.clean_text
    try:
        return clean(raw, max_length=max_length)
    except normalise.NormalisationError as error:
        problems.add(path, str(error))
        return None


def build_lead_fields(
    *,
    company: str | None,
    contact_name: str | None,
    email: str | None,
    phone: str | None,
    website: str | None,
    source: str | None,
    notes: str | None,
    tags: list[str] | str | None,
    priority: int | str | None,
    region: str,
    problems: ProblemCollector,
    prefix: str = "",
) -> LeadFields:
    """Validate and normalise a lead's fields; every problem goes to ``problems``."""
    company_value = _text(company, problems, f"{prefix}company")
    contact_value = _text(contact_name, problems, f"{prefix}contactName")
    email_value = phone_value = None
    try:
        email_value = normalise.normalise_email(email)
    except normalise.NormalisationError as error:
        problems.add(f"{prefix}email", str(error))
    try:
        phone_value = normalise.normalise_phone(phone, region)
    except normalise.NormalisationError as error:
        problems.add(f"{prefix}phone", str(error))
    website_value = _text(website, problems, f"{prefix}website")
    website_domain = None
    if website_value is not None:
        website_domain = normalise.domain_from_website(website_value)
        if website_domain is None:
            problems.add(f"{prefix}website", "is not a valid web address")
    if company_value is None and contact_value is None:
        problems.add(f"{prefix}company", "a lead needs a company or a contact person")
    return LeadFields(
        company=company_value,
        contact_name=contact_value,
        email=email_value,
        phone=phone_value,
        website=website_value,
        domain=website_domain or normalise.domain_from_email(email_value),
        company_key=normalise.company_key(company_value),
        source=_text(source, problems, f"{prefix}source", 100),
        notes=_text(notes, problems, f"{prefix}notes", MAX_NOTES_LENGTH, multiline=True),
        tags=parse_tags(tags, problems, f"{prefix}tags"),
        priority=parse_priority(priority, problems, f"{prefix}priority"),
    )


# --- status transitions -----------------------------------------------------------------------


def status_after_claim(status: LeadStatus, owner_id: uuid.UUID | None) -> LeadStatus:
    """A pool lead gets an owner: NEW becomes ASSIGNED, worked statuses are kept."""
    if not status.is_active:
        raise InvalidLeadState("claim", status, "is closed")
    if owner_id is not None:
        raise InvalidLeadState("claim", status, "already has an owner")
    return LeadStatus.ASSIGNED if status is LeadStatus.NEW else status


def status_after_assignment(status: LeadStatus) -> LeadStatus:
    if not status.is_active:
        raise InvalidLeadState("assign", status, "is closed")
    return LeadStatus.ASSIGNED if status is LeadStatus.NEW else status


def status_after_release(status: LeadStatus, owner_id: uuid.UUID | None) -> LeadStatus:
    """Back to the pool: ASSIGNED becomes NEW again; contacted/qualified stay as they are."""
    if owner_id is None:
        raise InvalidLeadState("release", status, "is in the pool")
    if not status.is_active:
        raise InvalidLeadState("release", status, "is closed")
    return LeadStatus.NEW if status is LeadStatus.ASSIGNED else status


_EXPLICIT_TRANSITIONS: Final[dict[LeadStatus, frozenset[LeadStatus]]] = {
    LeadStatus.CONTACTED: frozenset({LeadStatus.ASSIGNED, LeadStatus.CONTACTED}),
    LeadStatus.QUALIFIED: frozenset({LeadStatus.ASSIGNED, LeadStatus.CONTACTED}),
    LeadStatus.DISQUALIFIED: frozenset(
        {LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED}
    ),
}


def check_status_change(
    current: LeadStatus, target: LeadStatus, owner_id: uuid.UUID | None
) -> None:
    """Explicit transitions: contacted/qualified need an owner; disqualify any open lead."""
    action = {
        LeadStatus.CONTACTED: "mark as contacted",
        LeadStatus.QUALIFIED: "qualify",
        LeadStatus.DISQUALIFIED: "disqualify",
    }[target]
    if not current.is_active:
        raise InvalidLeadState(action, current, "is closed")
    if target is not LeadStatus.DISQUALIFIED and owner_id is None:
        raise InvalidLeadState(action, current, "has no owner (claim it first)")
    if current not in _EXPLICIT_TRANSITIONS[target]:
        raise InvalidLeadState(action, current, f"is {current.value.lower()}")


def check_convertible(status: LeadStatus) -> None:
    if not status.is_active:
        raise InvalidLeadState("convert", status, "is closed")


# --- access -------------------------------------------------------------------------------------


def can_see_lead(caller: Caller, owner_id: uuid.UUID | None, owner_team: str | None) -> bool:
    """A rep sees their own leads and the pool, a manager their team's too, an admin all."""
    if caller.is_admin or owner_id is None or owner_id == caller.member_id:
        return True
    return caller.is_manager and caller.team is not None and owner_team == caller.team


def nameable(
    caller: Caller, lead_id: uuid.UUID, owner_id: uuid.UUID | None, owner_team: str | None
) -> uuid.UUID | None:
    """The id of a lead to show the caller (a duplicate's), or None when they may not see it:
    that such a lead exists is said, what it is is not."""
    return lead_id if can_see_lead(caller, owner_id, owner_team) else None


def can_manage_member(caller: Caller, member_team: str | None) -> bool:
    """Admins manage everyone; managers the members of their own team."""
    if caller.is_admin:
        return True
    return caller.is_manager and caller.team is not None and member_team == caller.team


def check_may_work_on(caller: Caller, owner_id: uuid.UUID | None, action: str) -> None:
    """A pool lead is worked on by whoever claims it first; managers may act on it as it is."""
    if owner_id is None and not caller.is_manager:
        raise ForbiddenError(f"claim a pool lead before {action}")


def check_may_change_account(
    caller: Caller, owner_id: uuid.UUID | None, owner_team: str | None
) -> None:
    """An account's fields and its contacts: its owner, a manager of the owner's team, or an
    admin."""
    if owner_id != caller.member_id and not can_manage_member(caller, owner_team):
        raise ForbiddenError("only the account's owner or their manager may change it")


def lead_search_text(company: str | None, contact_name: str | None, email: str | None) -> str:
    """What a search for a lead is matched against: its company, contact person and email in
    the kit's search form (any case, with or without Polish letters)."""
    return search_form(" ".join(v for v in (company, contact_name, email) if v))


def contact_search_text(name: str, email: str | None) -> str:
    """What finds a contact person's client: their name and email in the kit's search form
    ("wisniewski" finds the client of Jan Wiśniewski)."""
    return search_form(" ".join(v for v in (name, email) if v))


def account_search_text(name: str, domain: str | None) -> str:
    """What a search for a client is matched against: its name and domain in the kit's
    search form (any case, with or without Polish letters: "zabka" finds "Żabka")."""
    return search_form(f"{name} {domain or ''}".strip())


def require_manager_of(caller: Caller, member_team: str | None, action: str) -> None:
    if not can_manage_member(caller, member_team):
        raise ForbiddenError(f"only an admin, or a manager of the member's team, may {action}")


# --- caps ---------------------------------------------------------------------------------------


def effective_cap(member_cap: int | None, org_default: int) -> int:
    return org_default if member_cap is None else member_cap


def claimable(cap: int, active: int, requested: int) -> int:
    """How many pool leads a member may claim now."""
    return max(min(requested, cap - active), 0)


def check_assignment_fits(member_id: uuid.UUID, cap: int, active: int, incoming: int) -> None:
    """All or nothing: refuse when ``incoming`` new leads would take the member over cap."""
    if active + incoming > cap:
        raise CapExceeded(member_id, cap, active, incoming)


def validate_cap(value: int | None, problems: ProblemCollector, path: str = "leadCap") -> None:
    if value is not None and not 0 <= value <= 100_000:
        problems.add(path, "must be between 0 and 100000")


# --- clients and conversion ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountFields:
    name: str
    domain: str | None
    nip: str | None
    address: str | None


def build_account_fields(
    *,
    name: str | None,
    domain: str | None,
    website: str | None,
    nip: str | None,
    address: str | None,
    problems: ProblemCollector,
    prefix: str = "",
) -> AccountFields:
    name_value = _text(name, problems, f"{prefix}name")
    if name_value is None:
        problems.add(f"{prefix}name", "is required")
    domain_value = None
    raw_domain = domain if domain and domain.strip() else website
    if raw_domain and raw_domain.strip():
        domain_value = normalise.domain_from_website(raw_domain)
        if domain_value is None:
            problems.add(f"{prefix}domain", "is not a valid domain")
    nip_value = None
    if nip is not None and nip.strip():
        try:
            nip_value = normalise_nip(nip)
        except InvalidNip as error:
            problems.add(f"{prefix}nip", str(error))
    return AccountFields(
        name=name_value or "",
        domain=domain_value,
        nip=nip_value,
        address=_text(address, problems, f"{prefix}address", 500),
    )


def validate_money(
    amount: Decimal | str, currency: str, problems: ProblemCollector, prefix: str
) -> Money | None:
    """The kit's money rule (what the pipeline accepts for the converted deal); the code may
    come in any case, with spaces around it."""
    return problems.value(prefix.rstrip("."), lambda: Money.of(amount, currency.strip().upper()))


def validate_deal_name(name: str, problems: ProblemCollector, path: str) -> str | None:
    """The converted opportunity's name: inner whitespace collapsed, then the kit's rule for
    a name (what the pipeline accepts)."""
    return problems.value(path, lambda: clean_text(" ".join(name.split()), max_length=200))

"""What reaches a member, and when: notification kinds, member preferences and the rules that
decide a reminder. Plain Python, no IO; the time is always given (a clock at the edges), so
every rule is deterministic."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from crmkit.errors import ProblemCollector
from crmkit.values import DEFAULT_TIME_ZONE, InvalidValue, time_zone

Clock = Callable[[], datetime]
"""The service's time: the system clock in production, a settable one in tests."""


def system_clock() -> datetime:
    return datetime.now(UTC)


class NotificationKind(StrEnum):
    ACTIVITY_DUE = "ACTIVITY_DUE"
    """A call or meeting starts within the member's lead time."""
    ACTIVITY_OVERDUE = "ACTIVITY_OVERDUE"
    LEAD_ASSIGNED = "LEAD_ASSIGNED"
    """Someone else gave the member a lead (a member's own claim is not news to them)."""
    DEAL_ASSIGNED = "DEAL_ASSIGNED"
    """A manager or an admin handed the member a deal (with its open activities)."""
    NO_NEXT_CONTACT = "NO_NEXT_CONTACT"
    """A deal moved stage and, a while later, still has no open activity."""
    OFFER_ACCEPTED = "OFFER_ACCEPTED"
    OFFER_REJECTED = "OFFER_REJECTED"
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"
    """An org's webhook endpoint was disabled after a day of failures (to its admins)."""


Language = Literal["en", "pl"]
LANGUAGES: tuple[Language, ...] = ("en", "pl")
REMINDED_KINDS = frozenset({"call", "meeting"})
"""Activity kinds that get a reminder before they start (tasks and emails have a due day, not
an appointment)."""
DEFAULT_LEAD_MINUTES = 15
MAX_LEAD_MINUTES = 7 * 24 * 60
DEFAULT_DIGEST_HOUR = 7
NEXT_CONTACT_GRACE = timedelta(minutes=30)
"""How long after a stage move a deal may stay without an open activity before its owner is
told (the move and the scheduling of the next contact are often two steps)."""
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_NAMESPACE = uuid.UUID("8a4c3f0e-5b7d-4d1e-9a63-2f1c7e6b9d10")


@dataclass(frozen=True, slots=True)
class Channels:
    in_app: bool = True
    email: bool = True


@dataclass(frozen=True, slots=True)
class MemberPreferences:
    """A member's notification settings; a member who never set any has the defaults."""

    org_id: uuid.UUID
    member_id: uuid.UUID
    email: str | None = None
    language: Language = "en"
    time_zone: str = DEFAULT_TIME_ZONE
    digest_hour: int | None = DEFAULT_DIGEST_HOUR
    """The local hour of the morning digest; None: no digest."""
    lead_minutes: int = DEFAULT_LEAD_MINUTES
    channels: Mapping[NotificationKind, Channels] = field(default_factory=dict)
    version: int = 0

    def channels_of(self, kind: NotificationKind) -> Channels:
        return self.channels.get(kind, Channels())

    @property
    def lead_time(self) -> timedelta:
        return timedelta(minutes=self.lead_minutes)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True, slots=True)
class PreferencesChange:
    """What ``updateMyNotificationSettings`` changes (None: unchanged)."""

    email: str | None = None
    clear_email: bool = False
    language: str | None = None
    time_zone: str | None = None
    digest_hour: int | None = None
    no_digest: bool = False
    lead_minutes: int | None = None
    channels: Mapping[NotificationKind, Channels] | None = None


def change_preferences(prefs: MemberPreferences, change: PreferencesChange) -> MemberPreferences:
    """The preferences after ``change``; every bad field named in one ``InvalidInput``."""
    problems = ProblemCollector()
    email = prefs.email
    if change.clear_email:
        email = None
    elif change.email is not None:
        candidate = change.email.strip()
        if len(candidate) > 254 or not _EMAIL.match(candidate):
            problems.add("email", "is not an email address")
        email = candidate
    language = prefs.language
    if change.language is not None:
        if change.language not in LANGUAGES:
            problems.add("language", "must be one of: en, pl")
        else:
            language = change.language
    time_zone = prefs.time_zone
    if change.time_zone is not None:
        if not known_time_zone(change.time_zone):
            problems.add("timeZone", "is not a known time zone (e.g. Europe/Warsaw)")
        time_zone = change.time_zone
    digest_hour = prefs.digest_hour
    if change.no_digest:
        digest_hour = None
    elif change.digest_hour is not None:
        if not 0 <= change.digest_hour <= 23:
            problems.add("digestHour", "must be between 0 and 23")
        digest_hour = change.digest_hour
    lead_minutes = prefs.lead_minutes
    if change.lead_minutes is not None:
        if not 0 <= change.lead_minutes <= MAX_LEAD_MINUTES:
            problems.add("leadMinutes", f"must be between 0 and {MAX_LEAD_MINUTES}")
        lead_minutes = change.lead_minutes
    channels = dict(prefs.channels)
    if change.channels is not None:
        channels.update(change.channels)
    problems.raise_if_any()
    return replace(
        prefs,
        email=email,
        language=language,  # type: ignore[arg-type]
        time_zone=time_zone,
        digest_hour=digest_hour,
        lead_minutes=lead_minutes,
        channels=channels,
        version=prefs.version + 1,
    )


def known_time_zone(name: str) -> bool:
    try:
        time_zone(name)
    except InvalidValue:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing a member is told about. Its id is derived from what it is about (kind,
    member, subject and occurrence), so the same reminder can be made any number of times
    (a redelivered event, two reminder passes, a restart) and exists once."""

    id: uuid.UUID
    org_id: uuid.UUID
    member_id: uuid.UUID
    kind: NotificationKind
    subject_id: uuid.UUID
    title: str
    detail: str = ""
    opportunity_id: uuid.UUID | None = None
    due_at: datetime | None = None
    created_at: datetime = field(default_factory=system_clock)
    read_at: datetime | None = None
    in_app: bool = True
    email_status: str | None = None
    """pending, sent or failed; None: not sent by email."""
    email_error: str | None = None


def notification_id(
    org_id: uuid.UUID,
    member_id: uuid.UUID,
    kind: NotificationKind,
    subject_id: uuid.UUID,
    occurrence: str = "",
) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{org_id}/{member_id}/{kind}/{subject_id}/{occurrence}")


def notify(
    prefs: MemberPreferences,
    kind: NotificationKind,
    subject_id: uuid.UUID,
    *,
    title: str,
    now: datetime,
    occurrence: str = "",
    detail: str = "",
    opportunity_id: uuid.UUID | None = None,
    due_at: datetime | None = None,
) -> Notification:
    """The notification ``kind`` about ``subject_id`` for the member ``prefs`` belong to."""
    return Notification(
        id=notification_id(prefs.org_id, prefs.member_id, kind, subject_id, occurrence),
        org_id=prefs.org_id,
        member_id=prefs.member_id,
        kind=kind,
        subject_id=subject_id,
        title=title[:300],
        detail=detail[:300],
        opportunity_id=opportunity_id,
        due_at=due_at,
        created_at=now,
        in_app=prefs.channels_of(kind).in_app,
    )


# --- projections of other services' events ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activity:
    id: uuid.UUID
    org_id: uuid.UUID
    opportunity_id: uuid.UUID
    owner_id: uuid.UUID
    kind: str
    subject: str
    due_at: datetime
    status: str
    completed_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class Opportunity:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    status: str
    stage_name: str = ""
    account_id: uuid.UUID | None = None
    moved_at: datetime | None = None
    """When it last moved stage, until the next-contact check has looked at that move."""
    version: int = 0


@dataclass(frozen=True, slots=True)
class Lead:
    """What reminders and digests need of a lead; an erased one is kept as a tombstone (status
    ``ERASED_LEAD``, no company, no owner)."""

    id: uuid.UUID
    org_id: uuid.UUID
    owner_id: uuid.UUID | None
    status: str
    company: str = ""
    version: int = 0


ERASED_LEAD = "ERASED"


def reminder_window(activity: Activity, lead_time: timedelta, now: datetime) -> bool:
    """A call or meeting still open is reminded from ``lead_time`` before it starts until it
    starts (after that it is the overdue notice's business)."""
    return (
        activity.status == "open"
        and activity.kind in REMINDED_KINDS
        and activity.due_at - lead_time <= now < activity.due_at
    )


def needs_next_contact_notice(opportunity: Opportunity, has_open_activity: bool,
                              now: datetime) -> bool:
    """After a stage move: tell the owner when the grace period has passed, the deal is still
    open and it has no open activity (no next contact)."""
    if opportunity.moved_at is None or opportunity.status != "open" or has_open_activity:
        return False
    return now - opportunity.moved_at >= NEXT_CONTACT_GRACE


# --- email --------------------------------------------------------------------------------

DIGEST = "DIGEST"
MAX_EMAIL_ATTEMPTS = 8
"""Tries of one email before it is given up as failed (the last about two hours after the
first)."""


@dataclass(frozen=True, slots=True)
class Email:
    """One email to a member, keyed by what it is: a notification's id, or the member's
    digest of one day (:func:`digest_id`). Stored before it is sent, so it goes once."""

    id: uuid.UUID
    org_id: uuid.UUID
    member_id: uuid.UUID
    kind: str
    to_address: str
    subject: str
    body: str
    created_at: datetime
    notification_id: uuid.UUID | None = None
    status: Literal["pending", "sent", "failed"] = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None


def wants_email(prefs: MemberPreferences, kind: NotificationKind) -> bool:
    return prefs.email is not None and prefs.channels_of(kind).email


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When to try an email again after ``attempts`` temporary failures (1, 2, 4... minutes,
    at most an hour apart); None: give up."""
    if attempts >= MAX_EMAIL_ATTEMPTS:
        return None
    return now + timedelta(minutes=min(2 ** (attempts - 1), 60))


def digest_id(org_id: uuid.UUID, member_id: uuid.UUID, day: date) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{org_id}/{member_id}/{DIGEST}/{day.isoformat()}")


def digest_due(prefs: MemberPreferences, now: datetime) -> date | None:
    """The member's local day whose digest is due at ``now`` (their digest hour has come, in
    their time zone); None when it is not that hour or they want no digest or have no
    address."""
    if prefs.digest_hour is None or prefs.email is None:
        return None
    local = now.astimezone(prefs.zone)
    return local.date() if local.hour == prefs.digest_hour else None


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local day starts and ends (23 or 25 hours on a clock change)."""
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Digest:
    """What a member's morning digest lists."""

    day: date
    today: list[Activity]
    overdue: list[Activity]
    no_next_contact: list[Opportunity]
    pool_leads: int
    deal_names: Mapping[uuid.UUID, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.today or self.overdue or self.no_next_contact or self.pool_leads)


# --- calendar feed ------------------------------------------------------------------------

FEED_PAST = timedelta(days=90)
"""How far back a calendar feed reaches (further back is history, not a calendar)."""
EVENT_KINDS = REMINDED_KINDS
"""Activity kinds that are appointments (calendar events); the rest are to-dos."""
EVENT_LENGTH = {"call": timedelta(minutes=15), "meeting": timedelta(hours=1)}


def new_feed_token() -> str:
    """A calendar feed's secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One activity in a member's calendar feed, with its deal and client."""

    activity: Activity
    deal: str = ""
    client: str = ""


# --- webhooks -----------------------------------------------------------------------------

WEBHOOK_RETRIES = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
)
"""The waits before each retry of a webhook delivery: eight attempts over about a day (the
Standard Webhooks schedule); after the last, the delivery fails and its endpoint is
disabled."""
MAX_EVENT_TYPES = 100
_EVENT_TYPE = re.compile(r"^crm(\.[a-z_]+){1,3}(\.>)?$|^crm\.>$")


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: uuid.UUID
    org_id: uuid.UUID
    url: str
    event_types: tuple[str, ...]
    """Event types it gets: exact (``crm.pipeline.opportunity.won``) or a subtree
    (``crm.pipeline.>``, ``crm.>``)."""
    secret: str
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    created_by: uuid.UUID | None = None
    created_at: datetime = field(default_factory=system_clock)


def wants_event(endpoint: WebhookEndpoint, event_type: str) -> bool:
    for pattern in endpoint.event_types:
        if pattern == event_type:
            return True
        if pattern.endswith(".>") and event_type.startswith(pattern[:-1]):
            return True
    return False


def check_event_types(types: list[str], problems: ProblemCollector) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(t.strip() for t in types))
    if not cleaned:
        problems.add("eventTypes", "name at least one event type (e.g. crm.pipeline.>)")
    if len(cleaned) > MAX_EVENT_TYPES:
        problems.add("eventTypes", f"at most {MAX_EVENT_TYPES}")
    for n, value in enumerate(cleaned):
        if not _EVENT_TYPE.match(value):
            problems.add(f"eventTypes.{n}", "is not an event type (crm.<service>.<entity>."
                                            "<verb>, or a subtree such as crm.pipeline.>)")
    return cleaned


def new_webhook_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event on its way to one endpoint; its id is derived from both, so an event is
    queued for an endpoint once."""

    id: uuid.UUID
    org_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    aggregate_id: uuid.UUID
    payload: str
    """The event's envelope as JSON: the body, byte for byte, of every attempt."""
    created_at: datetime
    status: Literal["pending", "delivered", "failed"] = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    seq: int = 0
    history: tuple[WebhookAttempt, ...] = ()


def delivery_id(endpoint_id: uuid.UUID, event_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"webhook/{endpoint_id}/{event_id}")


def webhook_retry_at(attempts: int, now: datetime) -> datetime | None:
    """When to try a delivery again after ``attempts`` failed attempts; None: give up."""
    if attempts > len(WEBHOOK_RETRIES):
        return None
    return now + WEBHOOK_RETRIES[attempts - 1]

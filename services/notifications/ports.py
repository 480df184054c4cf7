"""What the notifications handlers need from storage: the repository protocol, implemented on
PostgreSQL by :mod:`services.notifications.repository`.

Every method takes the org id and sees that org's rows only; the reminder passes, which serve
every org at once, return rows that carry their org and member.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from crmkit.paging import PageRequest
from services.notifications.domain import (
    Activity,
    Digest,
    Email,
    FeedEntry,
    Lead,
    MemberPreferences,
    Notification,
    Opportunity,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


class NotificationsRepository(Protocol):
    # --- notifications ------------------------------------------------------------------------

    async def add_notifications(self, notifications: Sequence[Notification]) -> int:
        """Store those not stored yet (by id); how many were new."""
        ...

    async def notifications(
        self, org_id: uuid.UUID, member_id: uuid.UUID, *, unread_only: bool, page: PageRequest
    ) -> list[Notification]:
        """The member's in-app notifications, newest first, ``page.fetch`` of them after
        ``page.after``."""
        ...

    async def unread_count(self, org_id: uuid.UUID, member_id: uuid.UUID) -> int: ...

    async def mark_read(
        self,
        org_id: uuid.UUID,
        member_id: uuid.UUID,
        ids: Sequence[uuid.UUID] | None,
        now: datetime,
    ) -> int:
        """Mark the member's unread notifications among ``ids`` (None: all of them) read; how
        many were."""
        ...

    # --- preferences --------------------------------------------------------------------------

    async def preferences(
        self, org_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, MemberPreferences]:
        """The stored preferences of these members (a member without any is absent)."""
        ...

    async def save_preferences(self, prefs: MemberPreferences) -> bool:
        """Store ``prefs`` (version ``prefs.version``) if the stored version is the one before;
        False when someone else saved in between."""
        ...

    # --- projections --------------------------------------------------------------------------

    async def record_activity(self, activity: Activity) -> Activity | None:
        """Keep ``activity`` unless a newer version is kept; the one kept before (None: none)."""
        ...

    async def record_opportunity(self, opportunity: Opportunity) -> Opportunity | None:
        """Keep ``opportunity`` unless a newer version is kept (its ``moved_at`` replaces the
        stored one only when set); the one kept before."""
        ...

    async def opportunity(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> Opportunity | None: ...

    async def record_account(self, org_id: uuid.UUID, account_id: uuid.UUID, name: str) -> None:
        ...

    async def record_lead(self, lead: Lead) -> Lead | None:
        """Keep ``lead`` unless a newer version is kept (an event without the company keeps
        the stored one); the one kept before."""
        ...

    async def erase_lead(self, org_id: uuid.UUID, lead_id: uuid.UUID, version: int) -> None:
        """Drop what is kept of an erased lead: its copy becomes a tombstone (no company, no
        owner, ``ERASED_LEAD``, at ``version``: an older event redelivered late changes
        nothing), and the notifications about it (with their emails) and the webhook
        deliveries of its events (with their attempts) are deleted."""
        ...

    async def lead_erased(self, org_id: uuid.UUID, lead_id: uuid.UUID) -> bool: ...

    async def record_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, name: str, roles: Sequence[str]
    ) -> None: ...

    # --- reminder passes (every org) ----------------------------------------------------------

    async def activities_coming_due(
        self, now: datetime, limit: int
    ) -> list[tuple[Activity, str]]:
        """Open calls and meetings whose owner's lead time has begun before ``now`` and that
        have not started, with no due reminder yet for their current time; each with the name
        of its deal ("" when unknown)."""
        ...

    async def moved_opportunities(
        self, moved_before: datetime, limit: int
    ) -> list[tuple[Opportunity, bool]]:
        """Opportunities whose stage move at or before ``moved_before`` has not been checked
        for a next contact yet, each with whether it has an open activity."""
        ...

    async def moved_checked(self, opportunity: Opportunity) -> None:
        """The stage move of ``opportunity`` (its ``moved_at``) has been checked."""
        ...

    # --- calendar feed ------------------------------------------------------------------------

    async def feed_token(self, org_id: uuid.UUID, member_id: uuid.UUID) -> str | None: ...

    async def set_feed_token(
        self, org_id: uuid.UUID, member_id: uuid.UUID, token: str, now: datetime,
        *, replace: bool,
    ) -> str:
        """The member's feed token after this: ``token`` when they had none (or ``replace``),
        else the one they had."""
        ...

    async def feed_owner(self, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        """The org and member whose feed ``token`` opens (None: no feed)."""
        ...

    async def feed_entries(
        self, org_id: uuid.UUID, member_id: uuid.UUID, since: datetime
    ) -> list[FeedEntry]:
        """The member's activities due from ``since`` on, cancelled ones left out, by due
        time, each with its deal's and client's names."""
        ...

    # --- webhooks -----------------------------------------------------------------------------

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...

    async def endpoints(self, org_id: uuid.UUID) -> list[WebhookEndpoint]:
        """The org's endpoints, oldest first."""
        ...

    async def endpoint(
        self, org_id: uuid.UUID, endpoint_id: uuid.UUID
    ) -> WebhookEndpoint | None: ...

    async def set_endpoint_enabled(
        self, org_id: uuid.UUID, endpoint_id: uuid.UUID, enabled: bool, reason: str | None
    ) -> None: ...

    async def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> int:
        """Queue those not queued yet (by id); how many were new."""
        ...

    async def due_deliveries(
        self, now: datetime, limit: int
    ) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
        """Pending deliveries of enabled endpoints whose next attempt has come and that have
        no earlier pending delivery of the same aggregate to the same endpoint, in order,
        locked for this unit of work (another process skips them)."""
        ...

    async def delivery_done(self, delivery: WebhookDelivery, attempt: WebhookAttempt) -> None:
        """Record an attempt and the delivery's state after it."""
        ...

    async def deliveries(
        self, org_id: uuid.UUID, endpoint_id: uuid.UUID, page: PageRequest
    ) -> list[WebhookDelivery]:
        """The endpoint's deliveries, newest first, each with its attempts."""
        ...

    async def delivery(
        self, org_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> WebhookDelivery | None: ...

    async def replay_delivery(
        self, org_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime
    ) -> None:
        """Queue the delivery again from its first attempt (its history stays)."""
        ...

    async def admins(self, org_id: uuid.UUID) -> list[uuid.UUID]:
        """The org's members with the admin role (from the roster's events)."""
        ...

    # --- email --------------------------------------------------------------------------------

    async def add_emails(self, emails: Sequence[Email]) -> int:
        """Queue those not queued (or sent) yet, by id; how many were new."""
        ...

    async def due_emails(self, now: datetime, limit: int) -> list[Email]:
        """Pending emails whose next attempt has come, locked for this unit of work (another
        process skips them)."""
        ...

    async def email_done(self, email: Email) -> None:
        """Store the email's status, attempts, next attempt, error and sent time."""
        ...

    async def digest_members(self, now: datetime) -> list[MemberPreferences]:
        """Members with an email address whose digest hour it is at ``now`` in their time
        zone (every org)."""
        ...

    async def digest(
        self, prefs: MemberPreferences, start: datetime, end: datetime, now: datetime
    ) -> Digest:
        """What the member's digest of the local day ``[start, end)`` lists at ``now``: their
        open calls and meetings of the day, their open activities due before ``now``, their
        open deals without an open activity, and the org's leads waiting in the pool."""
        ...


class TemporaryFailure(Exception):
    """The mail server did not take the email this time (try again later)."""


class PermanentFailure(Exception):
    """The mail server refused the email for good (a bad address, say)."""


class Mailer(Protocol):
    async def send(self, email_id: uuid.UUID, to: str, subject: str, body: str) -> None:
        """Hand one email to the mail server; raises :class:`TemporaryFailure` or
        :class:`PermanentFailure`."""
        ...


@dataclass(frozen=True)
class AttemptResult:
    """How one webhook attempt went: the receiver's status code (None: no answer) or what
    went wrong, and how long it took."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    async def check_target(self, url: str) -> str | None:
        """Why ``url`` may not be a webhook target (a private address in production...);
        None when it may."""
        ...

    async def deliver(
        self, endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime
    ) -> AttemptResult:
        """POST the delivery's payload, signed with the endpoint's secret at ``now``."""
        ...

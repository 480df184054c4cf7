"""An in-memory notifications repository: the :class:`~services.notifications.ports.
NotificationsRepository` protocol on dicts, for handler unit tests (no IO)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from crmkit.paging import PageRequest
from crmkit.testing.fakes import FakeUnitOfWork
from crmkit.testing.paging import keyset_page
from services.notifications.domain import (
    ERASED_LEAD,
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


class FakeNotificationsRepository:
    def __init__(self) -> None:
        self.notification_rows: dict[uuid.UUID, Notification] = {}
        self.prefs_rows: dict[tuple[uuid.UUID, uuid.UUID], MemberPreferences] = {}
        self.activity_rows: dict[tuple[uuid.UUID, uuid.UUID], Activity] = {}
        self.opportunity_rows: dict[tuple[uuid.UUID, uuid.UUID], Opportunity] = {}
        self.account_rows: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        self.lead_rows: dict[tuple[uuid.UUID, uuid.UUID], Lead] = {}
        self.member_rows: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, tuple[str, ...]]] = {}
        self.reminded: set[tuple[uuid.UUID, datetime]] = set()
        self.feed_tokens: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        self.endpoint_rows: dict[uuid.UUID, WebhookEndpoint] = {}
        self.delivery_rows: dict[uuid.UUID, WebhookDelivery] = {}
        self.email_rows: dict[uuid.UUID, Email] = {}

    # --- notifications ------------------------------------------------------------------------

    async def add_notifications(self, notifications: Sequence[Notification]) -> int:
        made = 0
        for n in notifications:
            if n.id not in self.notification_rows:
                self.notification_rows[n.id] = n
                made += 1
                if n.due_at is not None:
                    self.reminded.add((n.subject_id, n.due_at))
        return made

    def _mine(self, org_id: uuid.UUID, member_id: uuid.UUID) -> list[Notification]:
        return [n for n in self.notification_rows.values()
                if n.org_id == org_id and n.member_id == member_id and n.in_app]

    async def notifications(
        self, org_id: uuid.UUID, member_id: uuid.UUID, *, unread_only: bool, page: PageRequest
    ) -> list[Notification]:
        rows = (n for n in self._mine(org_id, member_id) if not unread_only or n.read_at is None)
        return keyset_page(rows, lambda n: (n.created_at, n.id), page, newest_first=True)

    async def unread_count(self, org_id: uuid.UUID, member_id: uuid.UUID) -> int:
        return sum(1 for n in self._mine(org_id, member_id) if n.read_at is None)

    async def mark_read(
        self, org_id: uuid.UUID, member_id: uuid.UUID, ids: Sequence[uuid.UUID] | None,
        now: datetime,
    ) -> int:
        marked = 0
        for n in self._mine(org_id, member_id):
            if n.read_at is None and (ids is None or n.id in ids):
                self.notification_rows[n.id] = replace(n, read_at=now)
                marked += 1
        return marked

    # --- preferences --------------------------------------------------------------------------

    async def preferences(
        self, org_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, MemberPreferences]:
        return {m: self.prefs_rows[(org_id, m)] for m in member_ids
                if (org_id, m) in self.prefs_rows}

    async def save_preferences(self, prefs: MemberPreferences) -> bool:
        key = (prefs.org_id, prefs.member_id)
        stored = self.prefs_rows.get(key)
        if (stored.version if stored else 0) != prefs.version - 1:
            return False
        self.prefs_rows[key] = prefs
        return True

    # --- projections --------------------------------------------------------------------------

    async def record_activity(self, activity: Activity) -> Activity | None:
        key = (activity.org_id, activity.id)
        before = self.activity_rows.get(key)
        if before is None or before.version <= activity.version:
            self.activity_rows[key] = activity
        return before

    async def record_opportunity(self, opportunity: Opportunity) -> Opportunity | None:
        key = (opportunity.org_id, opportunity.id)
        before = self.opportunity_rows.get(key)
        if before is None or before.version <= opportunity.version:
            moved_at = opportunity.moved_at or (before.moved_at if before else None)
            self.opportunity_rows[key] = replace(opportunity, moved_at=moved_at)
        return before

    async def opportunity(
        self, org_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> Opportunity | None:
        return self.opportunity_rows.get((org_id, opportunity_id))

    async def record_account(self, org_id: uuid.UUID, account_id: uuid.UUID, name: str) -> None:
        self.account_rows[(org_id, account_id)] = name

    async def record_lead(self, lead: Lead) -> Lead | None:
        key = (lead.org_id, lead.id)
        before = self.lead_rows.get(key)
        if before is None or before.version <= lead.version:
            company = lead.company or (before.company if before else "")
            self.lead_rows[key] = replace(lead, company=company)
        return before

    async def erase_lead(self, org_id: uuid.UUID, lead_id: uuid.UUID, version: int) -> None:
        before = self.lead_rows.get((org_id, lead_id))
        if before is None or before.version <= version:
            self.lead_rows[(org_id, lead_id)] = Lead(
                id=lead_id, org_id=org_id, owner_id=None, status=ERASED_LEAD, version=version)
        about = {n.id for n in self.notification_rows.values()
                 if n.org_id == org_id and n.subject_id == lead_id}
        for key in about:
            del self.notification_rows[key]
        for email in [e for e in self.email_rows.values() if e.notification_id in about]:
            del self.email_rows[email.id]
        for delivery in [x for x in self.delivery_rows.values()
                         if x.org_id == org_id and x.aggregate_id == lead_id]:
            del self.delivery_rows[delivery.id]

    async def lead_erased(self, org_id: uuid.UUID, lead_id: uuid.UUID) -> bool:
        found = self.lead_rows.get((org_id, lead_id))
        return found is not None and found.status == ERASED_LEAD

    async def record_member(
        self, org_id: uuid.UUID, member_id: uuid.UUID, name: str, roles: Sequence[str]
    ) -> None:
        self.member_rows[(org_id, member_id)] = (name, tuple(roles))

    # --- reminder passes (every org) ----------------------------------------------------------

    async def activities_coming_due(
        self, now: datetime, limit: int
    ) -> list[tuple[Activity, str]]:
        found = []
        for (org, _), a in sorted(self.activity_rows.items(), key=lambda r: r[1].due_at):
            prefs = self.prefs_rows.get((org, a.owner_id)) or MemberPreferences(org, a.owner_id)
            if (a.status == "open" and a.kind in ("call", "meeting")
                    and a.due_at - prefs.lead_time <= now < a.due_at
                    and (a.id, a.due_at) not in self.reminded):
                deal = self.opportunity_rows.get((org, a.opportunity_id))
                found.append((a, deal.name if deal else ""))
        return found[:limit]

    async def moved_opportunities(
        self, moved_before: datetime, limit: int
    ) -> list[tuple[Opportunity, bool]]:
        found = []
        for (org, opp_id), o in self.opportunity_rows.items():
            if o.moved_at is not None and o.moved_at <= moved_before:
                busy = any(a.opportunity_id == opp_id and a.status == "open"
                           for (a_org, _), a in self.activity_rows.items() if a_org == org)
                found.append((o, busy))
        return found[:limit]

    async def moved_checked(self, opportunity: Opportunity) -> None:
        key = (opportunity.org_id, opportunity.id)
        stored = self.opportunity_rows.get(key)
        if stored is not None and stored.moved_at == opportunity.moved_at:
            self.opportunity_rows[key] = replace(stored, moved_at=None)

    # --- calendar feed ------------------------------------------------------------------------

    async def feed_token(self, org_id: uuid.UUID, member_id: uuid.UUID) -> str | None:
        return self.feed_tokens.get((org_id, member_id))

    async def set_feed_token(
        self, org_id: uuid.UUID, member_id: uuid.UUID, token: str, now: datetime,
        *, replace: bool,
    ) -> str:
        key = (org_id, member_id)
        if replace or key not in self.feed_tokens:
            self.feed_tokens[key] = token
        return self.feed_tokens[key]

    async def feed_owner(self, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        for key, stored in self.feed_tokens.items():
            if stored == token:
                return key
        return None

    async def feed_entries(
        self, org_id: uuid.UUID, member_id: uuid.UUID, since: datetime
    ) -> list[FeedEntry]:
        rows = sorted((a for (org, _), a in self.activity_rows.items()
                       if org == org_id and a.owner_id == member_id and a.due_at >= since
                       and a.status != "cancelled"), key=lambda a: (a.due_at, a.id))
        entries = []
        for a in rows:
            deal = self.opportunity_rows.get((org_id, a.opportunity_id))
            client = (self.account_rows.get((org_id, deal.account_id), "")
                      if deal is not None and deal.account_id is not None else "")
            entries.append(FeedEntry(a, deal.name if deal else "", client))
        return entries

    # --- webhooks -----------------------------------------------------------------------------

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self.endpoint_rows[endpoint.id] = endpoint

    async def endpoints(self, org_id: uuid.UUID) -> list[WebhookEndpoint]:
        return sorted((e for e in self.endpoint_rows.values() if e.org_id == org_id),
                      key=lambda e: (e.created_at, e.id))

    async def endpoint(
        self, org_id: uuid.UUID, endpoint_id: uuid.UUID
    ) -> WebhookEndpoint | None:
        found = self.endpoint_rows.get(endpoint_id)
        return found if found is not None and found.org_id == org_id else None

    async def set_endpoint_enabled(
        self, org_id: uuid.UUID, endpoint_id: uuid.UUID, enabled: bool, reason: str | None
    ) -> None:
        found = await self.endpoint(org_id, endpoint_id)
        if found is not None:
            self.endpoint_rows[endpoint_id] = replace(
                found, enabled=enabled, disabled_reason=reason
            )

    async def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> int:
        made = 0
        for x in deliveries:
            if x.id not in self.delivery_rows:
                self.delivery_rows[x.id] = replace(x, seq=len(self.delivery_rows) + 1)
                made += 1
        return made

    async def due_deliveries(
        self, now: datetime, limit: int
    ) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
        pending = sorted((x for x in self.delivery_rows.values() if x.status == "pending"),
                         key=lambda x: x.seq)
        found, blocked = [], set()
        for x in pending:
            key = (x.endpoint_id, x.aggregate_id)
            endpoint = self.endpoint_rows.get(x.endpoint_id)
            if (key not in blocked and endpoint is not None and endpoint.enabled
                    and x.next_attempt_at is not None and x.next_attempt_at <= now):
                found.append((x, endpoint))
            blocked.add(key)
        return found[:limit]

    async def delivery_done(self, delivery: WebhookDelivery, attempt: WebhookAttempt) -> None:
        stored = self.delivery_rows[delivery.id]
        self.delivery_rows[delivery.id] = replace(
            delivery, history=(*stored.history, attempt)
        )

    async def deliveries(
        self, org_id: uuid.UUID, endpoint_id: uuid.UUID, page: PageRequest
    ) -> list[WebhookDelivery]:
        rows = (x for x in self.delivery_rows.values()
                if x.org_id == org_id and x.endpoint_id == endpoint_id)
        return keyset_page(rows, lambda x: (x.created_at, x.id), page, newest_first=True)

    async def delivery(
        self, org_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> WebhookDelivery | None:
        found = self.delivery_rows.get(delivery_id)
        return found if found is not None and found.org_id == org_id else None

    async def replay_delivery(
        self, org_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime
    ) -> None:
        found = await self.delivery(org_id, delivery_id)
        if found is not None:
            self.delivery_rows[delivery_id] = replace(
                found, status="pending", attempts=0, next_attempt_at=now
            )

    async def admins(self, org_id: uuid.UUID) -> list[uuid.UUID]:
        return [m for (org, m), (_, roles) in self.member_rows.items()
                if org == org_id and "admin" in roles]

    # --- email --------------------------------------------------------------------------------

    async def add_emails(self, emails: Sequence[Email]) -> int:
        made = 0
        for e in emails:
            if e.id not in self.email_rows:
                self.email_rows[e.id] = e
                made += 1
        return made

    async def due_emails(self, now: datetime, limit: int) -> list[Email]:
        return [e for e in self.email_rows.values()
                if e.status == "pending" and e.next_attempt_at is not None
                and e.next_attempt_at <= now][:limit]

    async def email_done(self, email: Email) -> None:
        self.email_rows[email.id] = email

    async def digest_members(self, now: datetime) -> list[MemberPreferences]:
        return [p for p in self.prefs_rows.values()
                if p.email is not None and p.digest_hour == now.astimezone(p.zone).hour]

    async def digest(
        self, prefs: MemberPreferences, start: datetime, end: datetime, now: datetime
    ) -> Digest:
        mine = [a for (org, _), a in self.activity_rows.items()
                if org == prefs.org_id and a.owner_id == prefs.member_id and a.status == "open"]
        return Digest(
            day=start.astimezone(prefs.zone).date(),
            today=[a for a in mine if a.kind in ("call", "meeting") and start <= a.due_at < end],
            overdue=[a for a in mine if a.due_at < now],
            no_next_contact=[],
            pool_leads=sum(1 for (org, _), ld in self.lead_rows.items()
                           if org == prefs.org_id and ld.owner_id is None
                           and ld.status == "NEW"),
        )


def fake_uow(
    repo: FakeNotificationsRepository | None = None,
) -> FakeUnitOfWork[FakeNotificationsRepository]:
    return FakeUnitOfWork(repo or FakeNotificationsRepository())

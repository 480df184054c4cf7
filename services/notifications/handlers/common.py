"""What the notifications use cases share: the unit of work, the moment they run at, the
members' preferences, and queueing a notification's email with it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from crmkit.uow import UnitOfWork
from services.notifications import domain as d
from services.notifications.mail.compose import notification_email
from services.notifications.ports import NotificationsRepository

Work = UnitOfWork[NotificationsRepository]


@dataclass(frozen=True)
class At:
    """When a use case runs (the service's clock) and the app's address for links."""

    now: datetime
    base_url: str = "http://127.0.0.1:4005"


async def preferences_of(
    repo: NotificationsRepository, org_id: uuid.UUID, member_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, d.MemberPreferences]:
    """Every member's preferences, the defaults for one who never set any."""
    wanted = list(dict.fromkeys(member_ids))
    stored = await repo.preferences(org_id, wanted)
    return {m: stored.get(m) or d.MemberPreferences(org_id, m) for m in wanted}


async def store(
    repo: NotificationsRepository,
    notifications: Sequence[d.Notification],
    prefs: Mapping[uuid.UUID, d.MemberPreferences],
    at: At,
) -> int:
    """Store new notifications, and the email of each whose member wants it by email, in the
    same transaction (both keyed by the notification: neither can be made twice)."""
    if not notifications:
        return 0
    made = await repo.add_notifications(notifications)
    emails = []
    for n in notifications:
        member = prefs[n.member_id]
        if d.wants_email(member, n.kind):
            assert member.email is not None
            subject, body = notification_email(n, member, at.base_url)
            emails.append(d.Email(
                id=n.id, org_id=n.org_id, member_id=n.member_id, kind=n.kind.value,
                to_address=member.email, subject=subject, body=body, created_at=at.now,
                notification_id=n.id, next_attempt_at=at.now,
            ))
    if emails:
        await repo.add_emails(emails)
    return made

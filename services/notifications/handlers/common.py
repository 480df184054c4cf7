"""What the notifications use cases share: the unit of work and the members' preferences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from crmkit.uow import UnitOfWork
from services.notifications import domain as d
from services.notifications.ports import NotificationsRepository

Work = UnitOfWork[NotificationsRepository]


async def preferences_of(
    repo: NotificationsRepository, org_id: uuid.UUID, member_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, d.MemberPreferences]:
    """Every member's preferences, the defaults for one who never set any."""
    wanted = list(dict.fromkeys(member_ids))
    stored = await repo.preferences(org_id, wanted)
    return {m: stored.get(m) or d.MemberPreferences(org_id, m) for m in wanted}

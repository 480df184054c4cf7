"""A member's notifications: the list, the unread count, marking them read."""

from __future__ import annotations

import uuid
from datetime import datetime

from crmkit.auth import Caller
from crmkit.commands import Command
from crmkit.paging import Page, page_of, page_request
from services.notifications import domain as d
from services.notifications.handlers.common import Work


class ListNotifications(Command):
    first: int | None = None
    after: str | None = None
    unread_only: bool = False


class MarkRead(Command):
    ids: tuple[uuid.UUID, ...] | None
    """None: every unread notification of the caller."""
    now: datetime


async def list_notifications(query: ListNotifications, uow: Work) -> Page[d.Notification]:
    """Newest first."""
    request = page_request(query.first, query.after, default=20)
    async with uow:
        rows = await uow.repo.notifications(
            query.caller.org_id, query.caller.member_id,
            unread_only=query.unread_only, page=request,
        )
    return page_of(rows, request, lambda n: (n.created_at, n.id))


async def unread_count(caller: Caller, uow: Work) -> int:
    async with uow:
        return await uow.repo.unread_count(caller.org_id, caller.member_id)


async def mark_read(cmd: MarkRead, uow: Work) -> tuple[int, int]:
    """How many were marked, and how many stay unread. Ids of someone else's notifications
    (or of none) mark nothing."""
    async with uow:
        marked = await uow.repo.mark_read(
            cmd.caller.org_id, cmd.caller.member_id, cmd.ids, cmd.now
        )
        left = await uow.repo.unread_count(cmd.caller.org_id, cmd.caller.member_id)
        await uow.commit()
    return marked, left

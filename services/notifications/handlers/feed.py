"""A member's calendar feed: its secret address (made on first ask, replaced on rotation) and
what it holds. The token is the only key: whoever has the address reads that member's
calendar, so rotating it is how a leaked address is shut."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crmkit.auth import Caller
from services.notifications import domain as d
from services.notifications.handlers.common import Work


@dataclass(frozen=True)
class Feed:
    """What a feed address opens: the member's calendar."""

    entries: list[d.FeedEntry]


async def feed_token(caller: Caller, now: datetime, uow: Work) -> str:
    """The caller's feed token, made on first ask."""
    async with uow:
        found = await uow.repo.feed_token(caller.org_id, caller.member_id)
        if found is None:
            found = await uow.repo.set_feed_token(
                caller.org_id, caller.member_id, d.new_feed_token(), now, replace=False
            )
            await uow.commit()
    return found


async def rotate_feed(caller: Caller, now: datetime, uow: Work) -> str:
    """A new token for the caller's feed; the old address stops working."""
    async with uow:
        token = await uow.repo.set_feed_token(
            caller.org_id, caller.member_id, d.new_feed_token(), now, replace=True
        )
        await uow.commit()
    return token


async def open_feed(token: str, now: datetime, uow: Work) -> Feed | None:
    """The calendar ``token`` opens; None when it opens none (never made, or rotated)."""
    if not 20 <= len(token) <= 64:
        return None
    async with uow:
        owner = await uow.repo.feed_owner(token)
        if owner is None:
            return None
        entries = await uow.repo.feed_entries(owner[0], owner[1], now - d.FEED_PAST)
    return Feed(entries)

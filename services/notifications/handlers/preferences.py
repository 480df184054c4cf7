"""A member's notification settings: channels per kind, digest hour, time zone, lead time."""

from __future__ import annotations

from crmkit.auth import Caller
from crmkit.commands import Command
from crmkit.errors import VersionConflictError
from services.notifications import domain as d
from services.notifications.handlers.common import Work, preferences_of


class UpdatePreferences(Command):
    change: d.PreferencesChange


async def my_preferences(caller: Caller, uow: Work) -> d.MemberPreferences:
    async with uow:
        found = await preferences_of(uow.repo, caller.org_id, [caller.member_id])
    return found[caller.member_id]


async def update_preferences(cmd: UpdatePreferences, uow: Work) -> d.MemberPreferences:
    caller = cmd.caller
    async with uow:
        current = (await preferences_of(uow.repo, caller.org_id, [caller.member_id]))[
            caller.member_id
        ]
        changed = d.change_preferences(current, cmd.change)
        if not await uow.repo.save_preferences(changed):
            raise VersionConflictError(
                "NotificationSettings", current.version, current.version + 1
            )
        await uow.commit()
    return changed

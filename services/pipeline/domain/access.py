"""Who sees and changes what: a rep their own records, a manager their team's, an admin the
org's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from crmkit.auth import Caller
from crmkit.commands import require_admin, require_manager
from crmkit.errors import ForbiddenError, InvalidInput
from services.pipeline.domain.opportunities import Opportunity


def can_see(caller: Caller, org_id: uuid.UUID, owner_id: uuid.UUID, team: str | None) -> bool:
    """A rep sees their own records, a manager their team's, an admin the org's."""
    if caller.org_id != org_id:
        return False
    if caller.is_admin or owner_id == caller.member_id:
        return True
    return caller.is_manager and caller.team is not None and team == caller.team


def ensure_can_change(caller: Caller, opp: Opportunity) -> None:
    if not can_see(caller, opp.org_id, opp.owner_id, opp.team):
        raise ForbiddenError("you may not change this opportunity")


def ensure_can_reopen(caller: Caller, opp: Opportunity) -> None:
    ensure_can_change(caller, opp)
    require_manager(caller, "only a manager or an admin may reopen an opportunity")


def ensure_admin(caller: Caller, what: str = "configure pipelines") -> None:
    require_admin(caller, f"only an admin may {what}")


@dataclass(frozen=True)
class RosterMember:
    """A member of an org as the leads service announces them (``member.updated``)."""

    org_id: uuid.UUID
    member_id: uuid.UUID
    team: str | None = None


def may_assign(caller: Caller, member: RosterMember | None) -> bool:
    """Whether the caller may make ``member`` the owner of a record: an admin any member of
    the org, a manager a member of their own team; a rep no one but themselves."""
    if member is None or member.org_id != caller.org_id:
        return False
    if caller.is_admin:
        return True
    return caller.is_manager and caller.team is not None and member.team == caller.team


def owner_for_new(
    caller: Caller, owner_id: uuid.UUID | None, team: str | None,
    member: RosterMember | None = None,
) -> tuple[uuid.UUID, str | None]:
    """Owner and team of a new opportunity: the caller's own by default; a manager may assign
    to a member of their team, an admin to any member of the org (``member`` is the owner's
    roster entry, None when the roster has no such member)."""
    if owner_id is None or owner_id == caller.member_id:
        if team is not None and team != caller.team and not caller.is_admin:
            raise ForbiddenError("you may only create opportunities in your own team")
        return caller.member_id, team if team is not None else caller.team
    require_manager(caller, "a rep may only create opportunities they own")
    if caller.is_admin:
        if member is None or member.org_id != caller.org_id:
            raise InvalidInput.field("input.ownerId", "is not a member of this organisation")
        return owner_id, team if team is not None else member.team
    if team is not None and team != caller.team:
        raise ForbiddenError("a manager may only assign within their own team")
    if not may_assign(caller, member):
        raise InvalidInput.field("input.ownerId", "is not a member of your team")
    return owner_id, caller.team


def new_owner(
    caller: Caller, opp: Opportunity, member: RosterMember | None
) -> tuple[uuid.UUID, str | None]:
    """Who an open deal may be handed to, and their team: a manager hands a deal of their
    team to a member of it, an admin any deal to any member of the org (``member`` is the
    new owner's roster entry, None when the roster has no such member). A won or lost deal
    stays with whoever closed it: the numbers of who won what do not move."""
    ensure_can_change(caller, opp)
    require_manager(caller, "only a manager or an admin may hand a deal to someone else")
    if not opp.is_open:
        raise InvalidInput.field("id", "is closed: a won or lost deal stays with its owner")
    if member is None or not may_assign(caller, member):
        raise InvalidInput.field(
            "ownerId", "is not a member of this organisation" if caller.is_admin
            else "is not a member of your team")
    return member.member_id, member.team


def activity_owner(
    caller: Caller, owner_id: uuid.UUID | None, member: RosterMember | None = None
) -> uuid.UUID:
    """Who an activity the caller schedules belongs to: themselves by default; a manager may
    schedule for a member of their team, an admin for any member of the org."""
    if owner_id is None or owner_id == caller.member_id:
        return caller.member_id
    if not caller.is_manager:
        raise InvalidInput.field("input.ownerId", "a rep schedules activities for themselves")
    if not may_assign(caller, member):
        raise InvalidInput.field(
            "input.ownerId",
            "is not a member of this organisation" if caller.is_admin
            else "is not a member of your team",
        )
    return owner_id

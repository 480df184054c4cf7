"""Who sees and changes what: a rep their own records, a manager their team's, an admin the
org's."""

from __future__ import annotations

import uuid

from crmkit.auth import Caller
from crmkit.errors import ForbiddenError
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
    if not caller.is_manager:
        raise ForbiddenError("only a manager or an admin may reopen an opportunity")


def ensure_admin(caller: Caller, what: str = "configure pipelines") -> None:
    if not caller.is_admin:
        raise ForbiddenError(f"only an admin may {what}")


def owner_for_new(
    caller: Caller, owner_id: uuid.UUID | None, team: str | None
) -> tuple[uuid.UUID, str | None]:
    """Owner and team of a new opportunity: the caller's own by default; a manager may assign
    within their team, an admin to anyone in any team."""
    if owner_id is None or owner_id == caller.member_id:
        if team is not None and team != caller.team and not caller.is_admin:
            raise ForbiddenError("you may only create opportunities in your own team")
        return caller.member_id, team if team is not None else caller.team
    if caller.is_admin:
        return owner_id, team
    if caller.is_manager:
        if team is not None and team != caller.team:
            raise ForbiddenError("a manager may only assign within their own team")
        return owner_id, caller.team
    raise ForbiddenError("a rep may only create opportunities they own")


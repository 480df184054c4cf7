"""Who may see which figures: a rep their own, a manager their team's, an admin the org's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from enum import IntEnum

from crmkit.auth import Caller
from crmkit.errors import ForbiddenError


class RollupLevel(IntEnum):
    """How finely the funnel totals are kept: every total exists per owner, rolled up per
    team and for the whole org, so a query reads the coarsest rows its scope allows (a few
    hundred) instead of summing the per-owner rows of a whole org."""

    OWNER = 0
    TEAM = 1
    ORG = 2


# The owner of the rows rolled up above the owner level: no member has this id.
NO_OWNER = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class Scope:
    """The rows a query may read: always one org, then an owner and/or a team."""

    org_id: uuid.UUID
    owner_id: uuid.UUID | None
    team: str | None

    @property
    def level(self) -> RollupLevel:
        """The coarsest rollup of the funnel totals that still answers this scope exactly."""
        if self.owner_id is not None:
            return RollupLevel.OWNER
        return RollupLevel.TEAM if self.team is not None else RollupLevel.ORG

    def covers(self, owner_id: uuid.UUID, team: str | None) -> bool:
        """Whether a row of this owner and team is within the scope (the org aside)."""
        return (self.owner_id is None or owner_id == self.owner_id) and (
            self.team is None or team == self.team
        )


def resolve_scope(caller: Caller, owner_id: uuid.UUID | None, team: str | None) -> Scope:
    """A rep sees their own figures, a manager their team's, an admin the org's."""
    scope = Scope(caller.org_id, owner_id, team)
    if caller.is_admin:
        return scope
    if caller.is_manager and caller.team is not None:
        if team is not None and team != caller.team:
            raise ForbiddenError("a manager sees their own team's figures only")
        return replace(scope, team=caller.team)
    if owner_id is not None and owner_id != caller.member_id:
        raise ForbiddenError("a sales rep sees their own figures only")
    if team is not None and team != caller.team:
        raise ForbiddenError("a sales rep sees their own figures only")
    return replace(scope, owner_id=caller.member_id)

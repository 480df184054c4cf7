"""The offer library: the org's past offers of won and lost deals, for every member to learn
from, unless an admin restricts it to some groups."""

from __future__ import annotations

from collections.abc import Sequence

from crmkit.commands import Command, require_admin
from crmkit.errors import ForbiddenError, ProblemCollector
from services.documents import domain as d
from services.documents.handlers.common import Work, now


class OfferLibrary(Command):
    search: str | None = None
    outcome: d.Outcome | None = None
    first: int = 20
    offset: int = 0


async def offer_library(query: OfferLibrary, uow: Work) -> list[d.LibraryEntry]:
    """The org's past offers of won and lost deals, for every member of the org to learn
    from, matching every word of ``search`` (with or without Polish diacritics)."""
    problems = ProblemCollector()
    if not 1 <= query.first <= 100:
        problems.add("first", "must be between 1 and 100")
    if query.offset < 0:
        problems.add("offset", "must not be negative")
    if query.search is not None and (len(query.search) > 200 or "\x00" in query.search):
        problems.add("search", "must be at most 200 characters, without NUL")
    problems.raise_if_any()
    async with uow:
        if not d.sees(query.caller, await uow.repo.library_groups(query.caller.org_id)):
            raise ForbiddenError("the offer library is open to some groups only")
        return await uow.repo.offer_library(
            query.caller.org_id, terms=d.search_terms(query.search or ""),
            outcome=query.outcome, limit=query.first, offset=query.offset)


class SetLibraryAccess(Command):
    allowed_groups: Sequence[str]


async def set_library_access(cmd: SetLibraryAccess, uow: Work) -> list[str]:
    """An admin restricts the offer library to groups (none: every member of the org)."""
    require_admin(cmd.caller, "only admins may restrict the offer library")
    problems = ProblemCollector()
    groups = d.clean_groups(cmd.allowed_groups, "allowedGroups", problems)
    problems.raise_if_any()
    async with uow:
        await uow.repo.set_library_groups(cmd.caller.org_id, groups, now())
        await uow.commit()
    return groups

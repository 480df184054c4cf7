"""Use cases of the pipeline service, each ``async def x(cmd, uow)``: it opens the unit of
work, applies the domain rules through the repository protocol (:mod:`..ports`), and a change
commits with its events or not at all. Reads open the unit of work too and commit nothing.

- :mod:`.opportunities`: creating, editing, moving, closing and reopening opportunities, and
  reading them (pages, references, history);
- :mod:`.activities`: scheduling and completing activities, the calendar, the overdue pass;
- :mod:`.configuration`: pipelines and stages, lost reasons, the org's locale;
- :mod:`.intake`: what other services' events create here (converted leads, issued offers).

An opportunity or activity the caller may not see answers NotFound, exactly like one that
does not exist, so ids never reveal what is hidden.
"""

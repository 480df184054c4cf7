"""Use cases of the notifications service, each ``async def x(cmd, uow)``: it opens the unit of
work, applies the domain rules through the repository protocol (:mod:`..ports`) and commits
once. The time always comes in the command (the service's clock), never from here.

- :mod:`.projections`: other services' events into the local read models, and the
  notifications some of them make at once (overdue, lead assigned, offer decided);
- :mod:`.reminders`: the periodic pass (calls and meetings coming due, deals left without a
  next contact after a stage move);
- :mod:`.inbox`: a member's notifications, their unread count, marking them read;
- :mod:`.preferences`: a member's notification settings.
"""

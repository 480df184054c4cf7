"""Use cases of the leads service, each ``async def x(cmd, uow)``: it opens the unit of work,
applies the domain rules through the repository protocol (:mod:`..ports`), and a change
commits with its events or not at all. Reads open the unit of work too and commit nothing.

- :mod:`.roster`: members (registered from their tokens), lead caps, the org's settings;
- :mod:`.leads`: creating, editing and qualifying leads, and reading them;
- :mod:`.pool`: claiming, releasing, assigning, and the idle return to the pool;
- :mod:`.clients`: accounts and contacts;
- :mod:`.conversion`: a lead becomes a client and a deal for the pipeline;
- :mod:`.imports`: CSV import.

A lead the caller may not see answers NotFound, exactly like one that does not exist.
"""

"""Use cases of the documents service, each ``async def x(cmd, uow)``: it opens the unit of
work, applies the domain rules through the repository protocol (:mod:`..ports`), and a change
commits with its events or not at all. Reads open the unit of work too and commit nothing.

- :mod:`.library`: folders and documents with their versions and access rules;
- :mod:`.offers`: offers rendered from templates and kept with their opportunity;
- :mod:`.offer_library`: the org's past offers, open to every member or to some groups;
- :mod:`.opportunities`: the local read model of the pipeline's opportunities;
- :mod:`.settings`: the org's offer settings and locale.

A folder or document the caller may not see answers NotFound, exactly like one that does not
exist, so ids never reveal what is hidden. A missing role answers Forbidden. The ``*_by_id``
reads take many ids at once: entity references load in one query per type (ADR 0008).
"""

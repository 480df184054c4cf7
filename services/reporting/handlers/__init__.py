"""Use cases of the reporting service, each ``async def x(cmd, uow)``: it opens the unit of
work, works through the repository protocol (:mod:`..ports`) and commits, or not at all.

- :mod:`.projection`: events into the read tables (one at a time, or a pulled batch at once),
  and folding the funnel's deltas into its totals;
- :mod:`.funnel`, :mod:`.dashboard`, :mod:`.analytics`: the reads, each scoped by who asks
  (a rep their own figures, a manager their team's, an admin the org's);
- :mod:`.rates`: the org's base currency and exchange rates.
"""

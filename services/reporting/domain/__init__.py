"""The reporting rules, free of IO, one module per concept:

- :mod:`.funnel`: funnel contributions and their deltas, the funnel's assembly, close ranges
  and rollup levels;
- :mod:`.opportunities`: the opportunity read model and how an event (or a run of them)
  changes it;
- :mod:`.records`: the rows of the simpler read tables (pipelines, activities, leads, members,
  offers);
- :mod:`.money`: totals per currency, exchange rates and their conversion;
- :mod:`.access`: who may see which figures;
- :mod:`.dashboard`, :mod:`.analytics`: the shapes of those answers and their arithmetic.
"""

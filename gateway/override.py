"""Progressive `@override(label:)`: which labels are active for a request.

A label `percent(N)` is active for N% of requests, drawn per request; any other label is active
when the operator lists it in `CRM_GATEWAY_OVERRIDE_LABELS` (a feature flag), else inactive.
An active label routes the field to the overriding subgraph, an inactive one to the original.
"""

from __future__ import annotations

import random
import re

_PERCENT = re.compile(r"^percent\((\d+(?:\.\d+)?)\)$")


class OverrideLabels:
    def __init__(self, labels: frozenset[str], enabled: frozenset[str]) -> None:
        self._fixed = frozenset(label for label in labels if label in enabled)
        self._percent: list[tuple[str, float]] = []
        for label in sorted(labels):
            match = _PERCENT.match(label)
            if match:
                self._percent.append((label, float(match.group(1))))
        self._random = random.Random()

    def active(self) -> frozenset[str]:
        """The labels active for one request (part of the plan cache key)."""
        if not self._percent:
            return self._fixed
        drawn = {label for label, share in self._percent if self._random.random() * 100 < share}
        return self._fixed | drawn if drawn else self._fixed

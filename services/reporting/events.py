"""The events reporting consumes (it publishes none).

One durable inbox consumer per producing service, so a slow or failing stream of one service
never holds back the others; every projection is safe under reordering across aggregates.
"""

from __future__ import annotations

from typing import Final

from services.reporting.handlers import PROJECTORS

CONSUMER_PREFIX: Final = "reporting"
# consumer name suffix -> subjects it reads
CONSUMED_SUBJECTS: Final = {
    "pipeline": "crm.pipeline.>",
    "leads": "crm.leads.>",
    "documents": "crm.documents.>",
}
CONSUMERS: Final = {f"{CONSUMER_PREFIX}-{k}": v for k, v in CONSUMED_SUBJECTS.items()}

CONSUMED_TYPES: Final = tuple(sorted(PROJECTORS))

"""The events reporting consumes (it publishes none).

One durable inbox consumer per producing service, so a slow or failing stream of one service
never holds back the others; every projection is safe under reordering across aggregates.
"""

from __future__ import annotations

from typing import Final

from services.reporting.handlers import PROJECTORS

CONSUMERS: Final = {
    "reporting-pipeline": "crm.pipeline.>",
    "reporting-leads": "crm.leads.>",
    "reporting-documents": "crm.documents.>",
}

CONSUMED_TYPES: Final = tuple(sorted(PROJECTORS))

"""The orders an opportunity list is read in, and each deal's place in them (its keyset):
newest first (the default), recently updated, closing soonest (by expected close date, those
without one last), recently closed (open ones last).

Each order is a ``(moment, id)`` keyset, like every connection of the kit's paging: a date
is that day's midnight UTC, and a missing one the order's far end, so one cursor format
serves all of them and the SQL sorts by the same value (``repository/fast.py``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import Enum

from crmkit.paging import Keyset
from services.pipeline.domain.opportunities import Opportunity


class OpportunityOrder(Enum):
    NEWEST = "newest"
    RECENTLY_UPDATED = "recently_updated"
    CLOSING_SOONEST = "closing_soonest"
    RECENTLY_CLOSED = "recently_closed"

    @property
    def descending(self) -> bool:
        return self is not OpportunityOrder.CLOSING_SOONEST


# Not date.max nor datetime.min: the database driver sends those as infinity.
NO_CLOSE_DATE = date(9998, 12, 31)
"""Where a deal without an expected close date sorts: after every dated one (a close date is
at most in the year 9000, ``crmkit.values``)."""
NEVER_CLOSED = datetime(1, 1, 2, tzinfo=UTC)
"""Where an open deal sorts among recently closed ones: after every closed one."""


def order_key(order: OpportunityOrder, opp: Opportunity) -> Keyset:
    at: datetime
    if order is OpportunityOrder.RECENTLY_UPDATED:
        at = opp.updated_at
    elif order is OpportunityOrder.CLOSING_SOONEST:
        at = datetime.combine(opp.expected_close_date or NO_CLOSE_DATE, time(), UTC)
    elif order is OpportunityOrder.RECENTLY_CLOSED:
        at = opp.closed_at or NEVER_CLOSED
    else:
        at = opp.created_at
    return at, opp.id

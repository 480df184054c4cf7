"""What the reporting handlers need from storage: the repository protocol. The SQL repository
(:mod:`services.reporting.repository`) and the in-memory one of the unit tests implement it;
one contract suite runs against both (``tests/integration/reporting/test_repository.py``).

Every read takes the org (or a :class:`Scope`, which carries it) and sees that org's rows
only. Writes come from events and carry their org.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from services.reporting.domain.access import Scope
from services.reporting.domain.analytics import (
    ClosedTotal,
    ForecastTotal,
    LostTotal,
    Period,
    SalesCycle,
    StageDuration,
)
from services.reporting.domain.dashboard import (
    ActivityItem,
    ActivityWindow,
    OpenInStage,
    OpportunityItem,
)
from services.reporting.domain.funnel import CloseRange, FunnelDelta, FunnelRow, Stage
from services.reporting.domain.money import Rates
from services.reporting.domain.opportunities import (
    OpportunityChange,
    OpportunityRef,
    OpportunityState,
    OpportunityVersion,
)
from services.reporting.domain.records import (
    ActivityRecord,
    LeadRecord,
    MemberRecord,
    OfferRecord,
    PipelineConfiguration,
)


class ReportingRepository(Protocol):
    # --- projection: locks ----------------------------------------------------------------
    # Several replicas apply events at once, and a rebuild swaps the tables under them: the
    # locks (held until the unit of work ends) keep them from interleaving.

    async def lock_projection(self) -> None:
        """Shared with every other event being applied; a rebuild's swap takes it alone."""
        ...

    async def lock_pipeline(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> None:
        """The pipeline alone (its reconfiguration recomputes all of its rows)."""
        ...

    async def lock_opportunities(
        self, refs: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]
    ) -> None:
        """For ``(org, pipeline, opportunity)`` events: the projection lock and the pipelines'
        shared, the opportunities' alone, each kind in one sorted order (so two replicas
        never deadlock), all in one round trip."""
        ...

    # --- projection: pipelines ------------------------------------------------------------

    async def pipeline_version(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> int:
        """The version of the configuration held; -1 when none is."""
        ...

    async def save_pipeline(self, org_id: uuid.UUID, pipeline: PipelineConfiguration) -> None:
        """Keep the pipeline and its stages (one default pipeline per org; stages it no longer
        lists are removed) and move opportunities off removed stages as it says."""
        ...

    async def recompute_pipeline(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> None:
        """After the pipeline's stages changed: its opportunities' furthest stages and its
        funnel aggregate again from the opportunity rows (the rules of the deltas)."""
        ...

    # --- projection: opportunities (the batch path: a run of events in three round trips) --

    async def record_versions_and_load(
        self,
        changes: Sequence[tuple[uuid.UUID, OpportunityChange]],
        pipelines: Sequence[OpportunityRef],
    ) -> tuple[dict[OpportunityRef, OpportunityState], dict[OpportunityRef, list[Stage]]]:
        """Keep each ``(org, change)``'s version row (a version kept already stays as it
        is), read the changes' opportunities, and the stages of ``pipelines`` (``(org,
        pipeline)``, by position; removed ones left out)."""
        ...

    async def save_opportunities(
        self,
        states: Sequence[tuple[uuid.UUID, OpportunityState]],
        deltas: Sequence[tuple[uuid.UUID, FunnelDelta]],
    ) -> None:
        """Write the rows (``(org, state)``, each opportunity once) and move the funnel
        aggregate by the deltas (``(org, delta)``)."""
        ...

    async def compact_funnel(self, limit: int = 20_000, *, lock: bool = True) -> int:
        """Fold up to ``limit`` pending deltas into the totals: the number of total rows
        moved, 0 when none was pending or another compactor is at work (``lock=False``:
        nobody else writes these tables, a rebuild's)."""
        ...

    # --- projection: the simpler read tables (newest version wins) -------------------------

    async def save_activity(self, org_id: uuid.UUID, activity: ActivityRecord) -> None: ...

    async def save_lead(self, org_id: uuid.UUID, lead: LeadRecord) -> None: ...

    async def save_member(self, org_id: uuid.UUID, member: MemberRecord) -> None: ...

    async def save_offer(self, org_id: uuid.UUID, offer: OfferRecord) -> None: ...

    # --- the funnel -----------------------------------------------------------------------

    async def pipeline_stages(
        self, org_id: uuid.UUID, pipeline_id: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, list[Stage]]:
        """The stages of ``pipeline_id`` (none: of the org's default pipeline), by position:
        the pipeline's id and its stages; ``(None, [])`` when the org has no pipeline."""
        ...

    async def funnel_rows(
        self, scope: Scope, pipeline_id: uuid.UUID, close: CloseRange | None
    ) -> list[FunnelRow]:
        """The funnel aggregate summed per (stage, currency), exact whether or not its deltas
        were folded, of the opportunities closing in ``close`` (None: all)."""
        ...

    async def versions_as_of(
        self, scope: Scope, pipeline_id: uuid.UUID, as_of: datetime
    ) -> list[OpportunityVersion]:
        """Each opportunity of the pipeline as its latest version at ``as_of`` left it."""
        ...

    # --- the dashboard --------------------------------------------------------------------

    async def open_activities(
        self, org_id: uuid.UUID, owner_id: uuid.UUID, window: ActivityWindow, limit: int
    ) -> list[ActivityItem]:
        """The owner's open activities in ``window``, soonest first (then by id)."""
        ...

    async def open_in_stages(self, org_id: uuid.UUID, owner_id: uuid.UUID) -> list[OpenInStage]:
        """The owner's open opportunities per (pipeline, stage, currency)."""
        ...

    async def without_next_contact(
        self, org_id: uuid.UUID, owner_id: uuid.UUID, now: datetime, limit: int
    ) -> tuple[list[OpportunityItem], int]:
        """The owner's open opportunities with no open activity due from ``now`` on: the
        first ``limit`` by expected close (none last), name and id, and how many there are."""
        ...

    async def leads_held(
        self, org_id: uuid.UUID, member_id: uuid.UUID
    ) -> tuple[int, int | None]:
        """How many active leads the member holds, and their cap (the roster's, else the one
        the latest assignment repeated; None when neither told it)."""
        ...

    # --- analytics ------------------------------------------------------------------------

    async def closed_totals(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> list[ClosedTotal]:
        """Won and lost opportunities closed in the period, per owner, status, currency."""
        ...

    async def lost_totals(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> list[LostTotal]:
        """Opportunities lost in the period, per reason (id and label) and currency."""
        ...

    async def stage_durations(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> list[StageDuration]:
        """Per stage (by position), the stage visits that ended in the period: how many and
        their average length. A visit starts with a version in another stage than the one
        before and ends with the next such version."""
        ...

    async def sales_cycle(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> SalesCycle:
        """Creation to win of the opportunities won in the period: count, mean and median
        in days."""
        ...

    async def open_by_close_month(
        self, scope: Scope, pipeline_id: uuid.UUID | None, first: date | None,
        last: date | None,
    ) -> list[ForecastTotal]:
        """Open opportunities per expected close month in ``[first, last]`` (the funnel
        aggregate; months None with no bound) and currency."""
        ...

    async def completed_activities(
        self, scope: Scope, period: Period
    ) -> dict[uuid.UUID, dict[str, int]]:
        """Activities completed in the period: owner -> kind -> count."""
        ...

    async def offers_issued(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> dict[uuid.UUID, int]:
        """Offers issued in the period, per owner of their opportunity."""
        ...

    async def member_names(
        self, org_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        """The names the roster told of these members ("" when it told none)."""
        ...

    # --- exchange rates (not derived from events) -----------------------------------------

    async def rates(self, org_id: uuid.UUID, default_base: str) -> Rates:
        """The org's base currency (``default_base`` until an admin chose one) and rates."""
        ...

    async def base_currency(self, org_id: uuid.UUID) -> str | None:
        """The base currency an admin chose (locked until the unit of work ends)."""
        ...

    async def set_base_currency(
        self, org_id: uuid.UUID, currency: str, now: datetime
    ) -> None:
        """Change the base currency and clear the rates (they were relative to the old)."""
        ...

    async def set_exchange_rate(
        self, org_id: uuid.UUID, currency: str, rate: Decimal, set_by: uuid.UUID,
        now: datetime,
    ) -> None: ...



"""The reporting repository in memory: what the handler unit tests run on. The repository
contract suite (``tests/integration/reporting/test_repository.py``) holds it to the same
behaviour as the SQL repository, fast paths included."""

from __future__ import annotations

import itertools
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from crmkit.contracts.leads import ACTIVE_STATUSES
from crmkit.testing.fakes import FakeUnitOfWork
from services.reporting.domain.access import NO_OWNER, Scope
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
from services.reporting.domain.funnel import (
    CloseRange,
    Counters,
    FunnelDelta,
    FunnelKey,
    FunnelRow,
    Stage,
    contribution,
    furthest_stage,
)
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


@dataclass(frozen=True)
class PipelineRow:
    name: str
    is_default: bool
    version: int


@dataclass(frozen=True)
class StageRow:
    pipeline_id: uuid.UUID
    stage: Stage
    removed: bool = False


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)
K = TypeVar("K")
W = TypeVar("W")


class Rows(dict[K, W]):
    """A table: its rows are immutable, so the unit of work's snapshot (a deep copy) copies
    the mapping only (a deep copy of every row made the tests slow)."""

    def __deepcopy__(self, memo: dict[int, object]) -> Rows[K, W]:
        return Rows(self)


class Log(list[W]):
    """Immutable entries in order (copied like :class:`Rows`)."""

    def __deepcopy__(self, memo: dict[int, object]) -> Log[W]:
        return Log(self)




def _month(day: date | None) -> date | None:
    return None if day is None else day.replace(day=1)


@dataclass
class FakeReportingRepository:
    pipeline_rows: Rows[OpportunityRef, PipelineRow] = field(default_factory=Rows)
    stage_rows: Rows[OpportunityRef, StageRow] = field(default_factory=Rows)
    opportunity_rows: Rows[OpportunityRef, OpportunityState] = field(default_factory=Rows)
    version_rows: Rows[tuple[uuid.UUID, uuid.UUID, int], OpportunityChange] = field(
        default_factory=Rows
    )
    pending: Log[tuple[uuid.UUID, FunnelKey, Counters]] = field(default_factory=Log)
    totals: Rows[tuple[uuid.UUID, FunnelKey], Counters] = field(default_factory=Rows)
    activity_rows: Rows[OpportunityRef, ActivityRecord] = field(default_factory=Rows)
    lead_rows: Rows[OpportunityRef, LeadRecord] = field(default_factory=Rows)
    member_rows: Rows[OpportunityRef, MemberRecord] = field(default_factory=Rows)
    offer_rows: Rows[OpportunityRef, OfferRecord] = field(default_factory=Rows)
    base_currencies: Rows[uuid.UUID, str] = field(default_factory=Rows)
    exchange_rates: Rows[tuple[uuid.UUID, str], Decimal] = field(default_factory=Rows)
    # What the locks were asked for, in order (a lock is held until the unit of work ends).
    locks: Log[tuple[str, object]] = field(default_factory=Log)

    # --- locks --------------------------------------------------------------------------------

    async def lock_projection(self) -> None:
        self.locks.append(("projection", None))

    async def lock_pipeline(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> None:
        self.locks.append(("pipeline", (org_id, pipeline_id)))

    async def lock_opportunities(
        self, refs: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]
    ) -> None:
        if refs:
            self.locks.append(("opportunities", sorted({(org, o) for org, _, o in refs})))

    # --- pipelines ----------------------------------------------------------------------------

    async def pipeline_version(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> int:
        row = self.pipeline_rows.get((org_id, pipeline_id))
        return -1 if row is None else row.version

    async def save_pipeline(self, org_id: uuid.UUID, pipeline: PipelineConfiguration) -> None:
        self.pipeline_rows[(org_id, pipeline.pipeline_id)] = PipelineRow(
            pipeline.name, pipeline.is_default, pipeline.version
        )
        if pipeline.is_default:
            for (org, pid), other in list(self.pipeline_rows.items()):
                if org == org_id and pid != pipeline.pipeline_id:
                    self.pipeline_rows[(org, pid)] = replace(other, is_default=False)
        listed = {s.id for s in pipeline.stages}
        for (org, stage_id), row in list(self.stage_rows.items()):
            if org == org_id and row.pipeline_id == pipeline.pipeline_id and (
                stage_id in pipeline.removed_stage_ids or stage_id not in listed
            ):
                self.stage_rows[(org, stage_id)] = replace(row, removed=True)
        for stage in pipeline.stages:
            self.stage_rows[(org_id, stage.id)] = StageRow(pipeline.pipeline_id, stage)
        kinds = {s.id: s.kind for s in pipeline.stages}
        for source, target in pipeline.moved_opportunities_to.items():
            for ref, state in self._opportunities(org_id):
                if state.stage_id == source:
                    self.opportunity_rows[ref] = replace(
                        state, stage_id=target, stage_kind=kinds.get(target, "open")
                    )

    def _stages(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> list[Stage]:
        return sorted((row.stage for (org, _), row in self.stage_rows.items()
                       if org == org_id and row.pipeline_id == pipeline_id and not row.removed),
                      key=lambda s: s.position)

    async def recompute_pipeline(self, org_id: uuid.UUID, pipeline_id: uuid.UUID) -> None:
        stages = self._stages(org_id, pipeline_id)
        for ref, state in self._opportunities(org_id):
            if state.pipeline_id == pipeline_id:
                self.opportunity_rows[ref] = replace(
                    state, furthest_stage_id=furthest_stage(state.visited_stage_ids, stages)
                )
        self.pending = Log((org, k, c) for org, k, c in self.pending
                           if (org, k.pipeline_id) != (org_id, pipeline_id))
        self.totals = Rows({(org, k): c for (org, k), c in self.totals.items()
                            if (org, k.pipeline_id) != (org_id, pipeline_id)})
        for _, state in self._opportunities(org_id):
            if state.pipeline_id == pipeline_id:
                for key, counters in contribution(state.facts).items():
                    self.totals[(org_id, key)] = (
                        self.totals.get((org_id, key), Counters()) + counters
                    )

    # --- opportunities ------------------------------------------------------------------------

    def _opportunities(
        self, org_id: uuid.UUID
    ) -> Iterator[tuple[OpportunityRef, OpportunityState]]:
        return iter([(ref, s) for ref, s in self.opportunity_rows.items() if ref[0] == org_id])

    async def record_versions_and_load(
        self,
        changes: Sequence[tuple[uuid.UUID, OpportunityChange]],
        pipelines: Sequence[OpportunityRef],
    ) -> tuple[dict[OpportunityRef, OpportunityState], dict[OpportunityRef, list[Stage]]]:
        for org, change in changes:
            self.version_rows.setdefault((org, change.opportunity_id, change.version), change)
        states = {(org, c.opportunity_id): self.opportunity_rows[(org, c.opportunity_id)]
                  for org, c in changes if (org, c.opportunity_id) in self.opportunity_rows}
        return states, {(org, p): self._stages(org, p) for org, p in pipelines}

    async def save_opportunities(
        self,
        states: Sequence[tuple[uuid.UUID, OpportunityState]],
        deltas: Sequence[tuple[uuid.UUID, FunnelDelta]],
    ) -> None:
        for org, state in states:
            self.opportunity_rows[(org, state.opportunity_id)] = state
        self.pending += [(org, key, c) for org, delta in deltas for key, c in delta.items()]

    async def compact_funnel(self, limit: int = 20_000, *, lock: bool = True) -> int:
        folded, self.pending = self.pending[:limit], Log(self.pending[limit:])
        day_rows = set()
        for org, key, counters in folded:
            self.totals[(org, key)] = self.totals.get((org, key), Counters()) + counters
            base = (org, key.pipeline_id, key.close_date, key.stage_id, key.status, key.currency)
            day_rows |= {(*base, key.owner_id, key.team), (*base, NO_OWNER, key.team),
                         (*base, NO_OWNER, "<org>")}
        return len(day_rows)

    def _aggregate(self, org_id: uuid.UUID) -> Iterator[tuple[FunnelKey, Counters]]:
        """The totals and the pending deltas of an org (a key may come several times)."""
        yield from ((k, c) for (org, k), c in self.totals.items() if org == org_id)
        yield from ((k, c) for org, k, c in self.pending if org == org_id)

    # --- the simpler read tables --------------------------------------------------------------

    async def save_activity(self, org_id: uuid.UUID, activity: ActivityRecord) -> None:
        self._keep_newer(self.activity_rows, (org_id, activity.activity_id), activity)

    async def save_lead(self, org_id: uuid.UUID, lead: LeadRecord) -> None:
        self._keep_newer(self.lead_rows, (org_id, lead.lead_id), lead)

    async def save_member(self, org_id: uuid.UUID, member: MemberRecord) -> None:
        self._keep_newer(self.member_rows, (org_id, member.member_id), member)

    async def save_offer(self, org_id: uuid.UUID, offer: OfferRecord) -> None:
        self._keep_newer(self.offer_rows, (org_id, offer.offer_id), offer)

    @staticmethod
    def _keep_newer(rows: dict[OpportunityRef, V], ref: OpportunityRef, record: V) -> None:
        held = rows.get(ref)
        if held is None or held.version < record.version:
            rows[ref] = record

    # --- the funnel ---------------------------------------------------------------------------

    async def pipeline_stages(
        self, org_id: uuid.UUID, pipeline_id: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, list[Stage]]:
        chosen = pipeline_id
        if chosen is None:
            mine = sorted(((not row.is_default, row.name, pid)
                           for (org, pid), row in self.pipeline_rows.items() if org == org_id))
            chosen = mine[0][2] if mine else None
        stages = [] if chosen is None else self._stages(org_id, chosen)
        return (chosen if stages else pipeline_id), stages

    async def funnel_rows(
        self, scope: Scope, pipeline_id: uuid.UUID, close: CloseRange | None
    ) -> list[FunnelRow]:
        def closes(day: date | None) -> bool:
            if close is None:
                return True
            if day is None:
                return False
            first, last = close.first_month, close.last_month
            in_months = first is not None and last is not None and (
                first <= day.replace(day=1) <= last
            )
            return in_months or any(start <= day <= end for start, end in close.partial)

        summed: dict[tuple[uuid.UUID, str], Counters] = {}
        for key, counters in self._aggregate(scope.org_id):
            if (key.pipeline_id == pipeline_id and scope.covers(key.owner_id, key.team)
                    and closes(key.close_date)):
                at = (key.stage_id, key.currency)
                summed[at] = summed.get(at, Counters()) + counters
        return [FunnelRow(stage, currency, c) for (stage, currency), c in summed.items()]

    async def versions_as_of(
        self, scope: Scope, pipeline_id: uuid.UUID, as_of: datetime
    ) -> list[OpportunityVersion]:
        history: dict[uuid.UUID, list[OpportunityChange]] = defaultdict(list)
        for (org, opportunity, _), change in self.version_rows.items():
            if org == scope.org_id and change.occurred_at <= as_of:
                history[opportunity].append(change)
        found = []
        for changes in history.values():
            v = max(changes, key=lambda c: c.version)
            if v.pipeline_id == pipeline_id and scope.covers(v.owner_id, v.team):
                found.append(OpportunityVersion(
                    opportunity_id=v.opportunity_id, version=v.version,
                    pipeline_id=v.pipeline_id, stage_id=v.stage_id, stage_kind=v.stage_kind,
                    status=v.status, owner_id=v.owner_id, team=v.team, amount=v.amount,
                    currency=v.currency, probability=v.probability,
                    expected_close_date=v.expected_close_date,
                    visited_stage_ids=frozenset(c.stage_id for c in changes),
                ))
        return found

    # --- the dashboard ------------------------------------------------------------------------

    async def open_activities(
        self, org_id: uuid.UUID, owner_id: uuid.UUID, window: ActivityWindow, limit: int
    ) -> list[ActivityItem]:
        found = sorted(
            (a for (org, _), a in self.activity_rows.items()
             if org == org_id and a.owner_id == owner_id and a.status == "open"
             and window.holds(a.kind, a.due_at)),
            key=lambda a: (a.due_at, a.activity_id),
        )
        return [ActivityItem(a.activity_id, a.opportunity_id, a.kind, a.subject, a.due_at)
                for a in found[:limit]]

    async def open_in_stages(self, org_id: uuid.UUID, owner_id: uuid.UUID) -> list[OpenInStage]:
        grouped: dict[tuple[uuid.UUID, uuid.UUID, str], tuple[int, Decimal]] = {}
        for _, o in self._opportunities(org_id):
            if o.owner_id == owner_id and o.status == "open":
                key = (o.pipeline_id, o.stage_id, o.currency)
                count, amount = grouped.get(key, (0, Decimal(0)))
                grouped[key] = (count + 1, amount + o.amount)
        rows = []
        for (pipeline, stage_id, currency), (count, amount) in grouped.items():
            stage = self.stage_rows.get((org_id, stage_id))
            rows.append(OpenInStage(pipeline, stage_id, stage.stage.name if stage else None,
                                    stage.stage.position if stage else None, currency, count,
                                    amount))
        return rows

    async def without_next_contact(
        self, org_id: uuid.UUID, owner_id: uuid.UUID, now: datetime, limit: int
    ) -> tuple[list[OpportunityItem], int]:
        contacted = {a.opportunity_id for (org, _), a in self.activity_rows.items()
                     if org == org_id and a.status == "open" and a.due_at >= now}
        lonely = sorted(
            (o for _, o in self._opportunities(org_id)
             if o.owner_id == owner_id and o.status == "open"
             and o.opportunity_id not in contacted),
            key=lambda o: (o.expected_close_date is None,
                           o.expected_close_date or date.min, o.name, o.opportunity_id),
        )
        return [OpportunityItem(o.opportunity_id, o.name, o.stage_id, o.amount, o.currency,
                                o.expected_close_date) for o in lonely[:limit]], len(lonely)

    async def leads_held(
        self, org_id: uuid.UUID, member_id: uuid.UUID
    ) -> tuple[int, int | None]:
        mine = [ld for (org, _), ld in self.lead_rows.items()
                if org == org_id and ld.owner_id == member_id]
        held = sum(1 for ld in mine if ld.status in ACTIVE_STATUSES)
        member = self.member_rows.get((org_id, member_id))
        if member is not None:
            return held, member.lead_cap
        capped = sorted((ld for ld in mine if ld.owner_lead_cap is not None),
                        key=lambda ld: (-ld.version, ld.lead_id))
        return held, capped[0].owner_lead_cap if capped else None

    # --- analytics ----------------------------------------------------------------------------

    def _scoped(
        self, scope: Scope, pipeline_id: uuid.UUID | None
    ) -> list[OpportunityState]:
        return [o for _, o in self._opportunities(scope.org_id)
                if scope.covers(o.owner_id, o.team)
                and (pipeline_id is None or o.pipeline_id == pipeline_id)]

    async def closed_totals(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> list[ClosedTotal]:
        grouped: dict[tuple[uuid.UUID, str, str], tuple[int, Decimal]] = {}
        for o in self._scoped(scope, pipeline_id):
            if o.status in ("won", "lost") and period.holds(o.closed_at):
                key = (o.owner_id, o.status, o.currency)
                count, amount = grouped.get(key, (0, Decimal(0)))
                grouped[key] = (count + 1, amount + o.amount)
        return [ClosedTotal(*key, count, amount) for key, (count, amount) in grouped.items()]

    async def lost_totals(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> list[LostTotal]:
        grouped: dict[tuple[uuid.UUID | None, str | None, str], tuple[int, Decimal]] = {}
        for o in self._scoped(scope, pipeline_id):
            if o.status == "lost" and period.holds(o.closed_at):
                key = (o.close_reason_id, o.close_reason_label, o.currency)
                count, amount = grouped.get(key, (0, Decimal(0)))
                grouped[key] = (count + 1, amount + o.amount)
        return [LostTotal(*key, count, amount) for key, (count, amount) in grouped.items()]

    async def stage_durations(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> list[StageDuration]:
        visits: dict[uuid.UUID, list[float]] = defaultdict(list)
        for o in self._scoped(scope, pipeline_id):
            versions = sorted((c for (org, opp, _), c in self.version_rows.items()
                               if org == scope.org_id and opp == o.opportunity_id),
                              key=lambda c: c.version)
            entries = [c for i, c in enumerate(versions)
                       if i == 0 or versions[i - 1].stage_id != c.stage_id]
            for entry, following in itertools.pairwise(entries):
                if period.holds(following.occurred_at):
                    visits[entry.stage_id].append(
                        (following.occurred_at - entry.occurred_at).total_seconds()
                    )
        found = []
        for stage_id, seconds in visits.items():
            row = self.stage_rows.get((scope.org_id, stage_id))
            found.append((row.stage.position if row else None, stage_id, StageDuration(
                stage_id, row.stage.name if row else "", len(seconds),
                sum(seconds) / len(seconds),
            )))
        found.sort(key=lambda f: (f[0] is None, f[0] or 0, f[1]))
        return [duration for _, _, duration in found]

    async def sales_cycle(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> SalesCycle:
        days = [(o.closed_at - o.created_at).total_seconds() / 86400
                for o in self._scoped(scope, pipeline_id)
                if o.status == "won" and period.holds(o.closed_at) and o.closed_at is not None]
        if not days:
            return SalesCycle(0, None, None)
        return SalesCycle(len(days), sum(days) / len(days), statistics.median(days))

    async def open_by_close_month(
        self, scope: Scope, pipeline_id: uuid.UUID | None, first: date | None,
        last: date | None,
    ) -> list[ForecastTotal]:
        grouped: dict[tuple[date | None, str], Counters] = {}
        for key, counters in self._aggregate(scope.org_id):
            month = _month(key.close_date)
            if (key.status != "open" or not scope.covers(key.owner_id, key.team)
                    or (pipeline_id is not None and key.pipeline_id != pipeline_id)
                    or (first is not None and (month is None or month < first))
                    or (last is not None and (month is None or month > last))):
                continue
            grouped[(month, key.currency)] = grouped.get((month, key.currency), Counters()) + (
                counters
            )
        return [ForecastTotal(month, currency, c.count, c.amount, c.weighted)
                for (month, currency), c in grouped.items()]

    async def completed_activities(
        self, scope: Scope, period: Period
    ) -> dict[uuid.UUID, dict[str, int]]:
        counts: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for (org, _), a in self.activity_rows.items():
            if (org == scope.org_id and scope.covers(a.owner_id, a.team) and a.status == "done"
                    and period.holds(a.completed_at)):
                counts[a.owner_id][a.kind] += 1
        return {owner: dict(kinds) for owner, kinds in counts.items()}

    async def offers_issued(
        self, scope: Scope, pipeline_id: uuid.UUID | None, period: Period
    ) -> dict[uuid.UUID, int]:
        owners = {o.opportunity_id: o.owner_id for o in self._scoped(scope, pipeline_id)}
        counts: dict[uuid.UUID, int] = defaultdict(int)
        for (org, _), offer in self.offer_rows.items():
            if org == scope.org_id and offer.opportunity_id in owners and period.holds(
                offer.issued_at
            ):
                counts[owners[offer.opportunity_id]] += 1
        return dict(counts)

    async def member_names(
        self, org_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        return {m: self.member_rows[(org_id, m)].name or ""
                for m in member_ids if (org_id, m) in self.member_rows}

    # --- exchange rates -----------------------------------------------------------------------

    async def rates(self, org_id: uuid.UUID, default_base: str) -> Rates:
        return Rates(self.base_currencies.get(org_id) or default_base,
                     {c: r for (org, c), r in self.exchange_rates.items() if org == org_id})

    async def base_currency(self, org_id: uuid.UUID) -> str | None:
        return self.base_currencies.get(org_id)

    async def set_base_currency(
        self, org_id: uuid.UUID, currency: str, now: datetime
    ) -> None:
        self.base_currencies[org_id] = currency
        self.exchange_rates = Rows(
            {k: r for k, r in self.exchange_rates.items() if k[0] != org_id}
        )

    async def set_exchange_rate(
        self, org_id: uuid.UUID, currency: str, rate: Decimal, set_by: uuid.UUID,
        now: datetime,
    ) -> None:
        self.exchange_rates[(org_id, currency)] = rate


def fake_uow(
    repo: FakeReportingRepository | None = None,
) -> FakeUnitOfWork[FakeReportingRepository]:
    return FakeUnitOfWork(repo or FakeReportingRepository())

"""The sales funnel: one pipeline's stages with counts, money and conversion rates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from crmkit.graphql import Forbidden, NotFound, ValidationError
from crmkit.results import ErrorUnion
from crmkit.schema_context import gid, optional_id
from services.reporting.domain import funnel as d
from services.reporting.handlers import funnel as h
from services.reporting.schema.context import Info, caller, default_base, read_uow
from services.reporting.schema.money import ReportMoneyTotals


@strawberry.type(description="One stage of the funnel. For an open stage: the open "
                             "opportunities in it; for a won/lost stage: those closed in it.")
class FunnelStage:
    stage_id: strawberry.ID
    name: str
    kind: str
    position: int
    probability: int
    count: int
    amounts: ReportMoneyTotals
    weighted_amounts: ReportMoneyTotals
    reached: int = strawberry.field(
        description="Opportunities that got at least as far as this stage."
    )
    conversion_rate: float | None = strawberry.field(
        description="Share of `reached` that went on to the next stage (null for the last)."
    )

    @staticmethod
    def of(s: d.FunnelStage) -> FunnelStage:
        return FunnelStage(
            stage_id=gid(s.stage.id),
            name=s.stage.name,
            kind=s.stage.kind,
            position=s.stage.position,
            probability=s.stage.probability,
            count=s.count,
            amounts=ReportMoneyTotals.of(s.amounts),
            weighted_amounts=ReportMoneyTotals.of(s.weighted_amounts),
            reached=s.reached,
            conversion_rate=s.conversion_rate,
        )


@strawberry.type
class SalesFunnel:
    pipeline_id: strawberry.ID | None
    as_of: datetime | None
    stages: list[FunnelStage]

    @staticmethod
    def of(funnel: d.Funnel) -> SalesFunnel:
        return SalesFunnel(
            pipeline_id=gid(funnel.pipeline_id) if funnel.pipeline_id else None,
            as_of=funnel.as_of,
            stages=[FunnelStage.of(s) for s in funnel.stages],
        )


SalesFunnelResult = Annotated[
    SalesFunnel | ValidationError | NotFound | Forbidden,
    strawberry.union("SalesFunnelResult"),
]
FUNNEL_ERRORS: ErrorUnion[ValidationError | NotFound | Forbidden] = ErrorUnion(
    ValidationError, NotFound, Forbidden
)


@strawberry.type
class FunnelQuery:
    @strawberry.field(description="The funnel of one pipeline (the default one when omitted), "  # type: ignore[untyped-decorator]
                                  "as it is now or, with `asOf`, as it stood then.")
    async def sales_funnel(
        self,
        info: Info,
        pipeline_id: strawberry.ID | None = None,
        owner_id: strawberry.ID | None = None,
        team: str | None = None,
        close_from: date | None = None,
        close_to: date | None = None,
        as_of: datetime | None = None,
    ) -> SalesFunnelResult:
        async def run() -> SalesFunnel:
            funnel = await h.sales_funnel(
                h.GetSalesFunnel(
                    caller(info),
                    default_base(info),
                    pipeline_id=optional_id(pipeline_id, "pipelineId"),
                    owner_id=optional_id(owner_id, "ownerId"),
                    team=team,
                    close_from=close_from,
                    close_to=close_to,
                    as_of=as_of,
                ),
                read_uow(info),
            )
            return SalesFunnel.of(funnel)

        return await FUNNEL_ERRORS.answer(run())

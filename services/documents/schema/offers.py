"""Offers in GraphQL: the offer, the pipeline's opportunity extended with its offers, and
issuing one. Thin: resolvers call the handlers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from crmkit.errors import ProblemCollector
from crmkit.graphql import CommonError, GraphQLContext
from crmkit.references import load_entity
from crmkit.results import answer_mutation
from crmkit.values import id_or_none, parse_id
from services.documents import domain as d
from services.documents.handlers import offers as h
from services.documents.schema.context import Info, caller, caller_of, uow, uow_of
from services.documents.schema.library import Document


async def offers_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Offer]:
    return await h.offers_by_id(h.OffersById(caller_of(context), ids), uow_of(context))


async def offers_of_opportunities(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, list[d.Offer]]:
    query = h.OffersOfOpportunities(caller_of(context), ids)
    return await h.offers_of_opportunities(query, uow_of(context))


@strawberry.federation.type(keys=["id"])
class Offer:
    id: strawberry.ID
    opportunity_id: strawberry.ID
    template_id: strawberry.ID
    template_version: int
    title: str
    content: str
    media_type: str
    amount: Decimal | None
    currency: str | None
    issued_by: strawberry.ID
    issued_at: datetime

    @classmethod
    def of(cls, offer: d.Offer) -> Offer:
        return cls(
            id=strawberry.ID(str(offer.id)),
            opportunity_id=strawberry.ID(str(offer.opportunity_id)),
            template_id=strawberry.ID(str(offer.template_id)),
            template_version=offer.template_version,
            title=offer.title,
            content=offer.content,
            media_type=offer.media_type,
            amount=offer.amount,
            currency=offer.currency,
            issued_by=strawberry.ID(str(offer.issued_by)),
            issued_at=offer.issued_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Offer | None:
        offer = await load_entity(info, offers_by_id, id)
        return cls.of(offer) if offer else None

    @strawberry.field(description="The template it was rendered from, when the caller sees it.")  # type: ignore[untyped-decorator]
    async def template(self, info: Info) -> Document | None:
        return await Document.resolve_reference(info, self.template_id)


async def _offers(info: Info, opportunity_id: str) -> list[Offer]:
    found = await load_entity(info, offers_of_opportunities, opportunity_id)
    return [Offer.of(o) for o in found or []]


@strawberry.federation.type(keys=["id"])
class Opportunity:
    """The pipeline's opportunity; this subgraph contributes its offers."""

    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Opportunity:
        return cls(id=id)

    @strawberry.field(description="Offers issued for this opportunity, newest first.")  # type: ignore[untyped-decorator]
    async def offers(self, info: Info) -> list[Offer]:
        return await _offers(info, self.id)


@strawberry.type
class IssueOfferPayload:
    offer: Offer


IssueOfferResult = Annotated[IssueOfferPayload | CommonError, strawberry.union("IssueOfferResult")]


@strawberry.input
class OfferValueInput:
    """One placeholder value: ``${name}`` in the template becomes ``value``."""

    name: str
    value: str


@strawberry.type
class OffersQuery:
    @strawberry.field
    async def offer(self, info: Info, id: strawberry.ID) -> Offer | None:
        return await Offer.resolve_reference(info, id)

    @strawberry.field(description="Offers of an opportunity the caller may see, newest first.")  # type: ignore[untyped-decorator]
    async def offers(self, info: Info, opportunity_id: strawberry.ID) -> list[Offer]:
        return [] if id_or_none(opportunity_id) is None else await _offers(info, opportunity_id)


@strawberry.type
class OffersMutation:
    @strawberry.mutation(description="Render an offer template and keep it with the opportunity.")  # type: ignore[untyped-decorator]
    async def issue_offer(
        self,
        info: Info,
        opportunity_id: strawberry.ID,
        template_id: strawberry.ID,
        values: list[OfferValueInput] | None = None,
        title: str | None = None,
        template_version: int | None = None,
        amount: Decimal | None = None,
        currency: str | None = None,
    ) -> IssueOfferResult:
        async def run() -> IssueOfferPayload:
            problems = ProblemCollector()
            opportunity = problems.value("opportunityId", lambda: parse_id(opportunity_id))
            template = problems.value("templateId", lambda: parse_id(template_id))
            problems.raise_if_any()
            assert opportunity is not None and template is not None
            cmd = h.IssueOffer(
                caller=caller(info),
                opportunity_id=opportunity,
                template_id=template,
                values=tuple((v.name, v.value) for v in values or ()),
                title=title,
                template_version=template_version,
                amount=amount,
                currency=currency,
            )
            return IssueOfferPayload(offer=Offer.of(await h.issue_offer(cmd, uow(info))))

        return await answer_mutation(run())

"""Offers in GraphQL: the offer and its revisions, the pipeline's opportunity extended with
its offers, drafting, revising, issuing and answering one, and the offer library. Thin:
resolvers call the handlers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from crmkit.commands import ById
from crmkit.errors import DomainError, ProblemCollector
from crmkit.graphql import CommonError, GraphQLContext
from crmkit.references import load_entity
from crmkit.results import answer_mutation, query_error
from crmkit.values import id_or_none, parse_id
from services.documents import domain as d
from services.documents import merge as m
from services.documents.handlers import offer_library
from services.documents.handlers import offers as h
from services.documents.schema.context import Info, caller, caller_of, signer, uow, uow_of
from services.documents.schema.documents import Document
from services.documents.signing import Action


async def offers_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Offer]:
    return await h.offers_by_id(ById(caller_of(context), ids), uow_of(context))


async def offers_of_opportunities(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, list[d.Offer]]:
    query = h.OffersOfOpportunities(caller_of(context), ids)
    return await h.offers_of_opportunities(query, uow_of(context))


@strawberry.enum(description="draft -> issued -> accepted / rejected / expired.")
class OfferStatus(Enum):
    DRAFT = "DRAFT"
    ISSUED = "ISSUED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


@strawberry.enum(description="A closed deal's outcome.")
class DealOutcome(Enum):
    WON = "WON"
    LOST = "LOST"


@strawberry.type(description="One line of an offer as it was rendered.")
class OfferLineItem:
    product: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount: Decimal
    vat_rate: str
    net: Decimal
    vat: Decimal
    gross: Decimal

    @classmethod
    def of(cls, item: m.LineItem) -> OfferLineItem:
        return cls(product=item.product, quantity=item.quantity, unit=item.unit,
                   unit_price=item.unit_price, discount=item.discount, vat_rate=item.vat_rate,
                   net=item.net, vat=item.vat, gross=item.gross)


@strawberry.type(description="One rendering of an offer (v1, v2, ...): its file and author.")
class OfferRevision:
    number: int
    template_id: strawberry.ID
    template_version: int
    media_type: str
    size_bytes: int
    sha256: str
    amount: Decimal | None
    currency: str | None
    created_by: strawberry.ID
    created_at: datetime
    line_items: list[OfferLineItem]

    @classmethod
    def of(cls, revision: d.OfferRevision) -> OfferRevision:
        return cls(
            number=revision.number, template_id=strawberry.ID(str(revision.template_id)),
            template_version=revision.template_version, media_type=revision.media_type,
            size_bytes=revision.size_bytes, sha256=revision.sha256, amount=revision.amount,
            currency=revision.currency, created_by=strawberry.ID(str(revision.created_by)),
            created_at=revision.created_at,
            line_items=[OfferLineItem.of(i) for i in h.line_items(revision)],
        )


@strawberry.federation.type(keys=["id"])
class Offer:
    id: strawberry.ID
    opportunity_id: strawberry.ID
    template_id: strawberry.ID
    template_version: int
    title: str
    content: str = strawberry.field(description="The offer's text (of its current revision).")
    media_type: str
    amount: Decimal | None = strawberry.field(description="The net total (before VAT).")
    currency: str | None
    issued_by: strawberry.ID | None
    issued_at: datetime | None
    number: str | None = strawberry.field(description="In the org's sequence: OF/2026/12/0007.")
    status: OfferStatus
    revision: int
    valid_until: date | None
    created_at: datetime | None
    decided_at: datetime | None
    decision_note: str

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
            issued_by=strawberry.ID(str(offer.issued_by)) if offer.issued_by else None,
            issued_at=offer.issued_at,
            number=offer.number,
            status=OfferStatus(offer.status.value),
            revision=offer.revision,
            valid_until=offer.valid_until,
            created_at=offer.created_at,
            decided_at=offer.decided_at,
            decision_note=offer.decision_note,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Offer | None:
        offer = await load_entity(info, offers_by_id, id)
        return cls.of(offer) if offer else None

    @strawberry.field(description="The template it was rendered from, when the caller sees it.")  # type: ignore[untyped-decorator]
    async def template(self, info: Info) -> Document | None:
        return await Document.resolve_reference(info, self.template_id)

    @strawberry.field(description="Its revisions, newest first.")  # type: ignore[untyped-decorator]
    async def revisions(self, info: Info) -> list[OfferRevision]:
        found = await h.offer_revisions(
            h.OfferRevisions(caller(info), uuid.UUID(self.id)), uow(info))
        return [OfferRevision.of(r) for r in found]


@strawberry.type(description="A past offer of a won or lost deal, to learn from.")
class OfferLibraryEntry:
    offer: Offer
    deal_name: str
    client_name: str
    outcome: DealOutcome
    close_reason: str | None
    close_comment: str | None
    lessons_learned: str | None
    closed_at: datetime | None

    @classmethod
    def of(cls, entry: d.LibraryEntry) -> OfferLibraryEntry:
        return cls(offer=Offer.of(entry.offer), deal_name=entry.deal_name,
                   client_name=entry.client_name, outcome=DealOutcome(entry.outcome.value),
                   close_reason=entry.close_reason, close_comment=entry.close_comment,
                   lessons_learned=entry.lessons_learned, closed_at=entry.closed_at)


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


@strawberry.type(description="A short-lived signed URL of an offer revision's file (GET it "
                 "from the API's origin, no token needed).")
class OfferDownload:
    url: str
    expires_at: datetime
    file_name: str
    media_type: str
    revision: int


@strawberry.type
class RequestOfferDownloadPayload:
    download: OfferDownload


RequestOfferDownloadResult = Annotated[
    RequestOfferDownloadPayload | CommonError, strawberry.union("RequestOfferDownloadResult")
]


@strawberry.type
class SetOfferLibraryAccessPayload:
    allowed_groups: list[str]


SetOfferLibraryAccessResult = Annotated[
    SetOfferLibraryAccessPayload | CommonError, strawberry.union("SetOfferLibraryAccessResult")
]


@strawberry.type
class OfferPayload:
    offer: Offer


OfferResult = Annotated[OfferPayload | CommonError, strawberry.union("OfferResult")]


@strawberry.input(description="One line of an offer: the unit price is net, before the discount.")
class OfferLineItemInput:
    product: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: str = strawberry.field(description="23, 8, 5, 0, or zw (exempt) / np.")
    unit: str = "szt."
    discount: Decimal | None = strawberry.field(default=None, description="Percent off.")


def _items(items: list[OfferLineItemInput] | None) -> list[m.LineItemInput] | None:
    if items is None:
        return None
    return [m.LineItemInput(product=i.product, quantity=i.quantity, unit_price=i.unit_price,
                            vat_rate=i.vat_rate, unit=i.unit, discount=i.discount)
            for i in items]


def _values(values: list[OfferValueInput] | None) -> tuple[tuple[str, str], ...] | None:
    return None if values is None else tuple((v.name, v.value) for v in values)


def _id(path: str, value: strawberry.ID) -> uuid.UUID:
    problems = ProblemCollector()
    found = problems.value(path, lambda: parse_id(value))
    problems.raise_if_any()
    assert found is not None
    return found


async def _offer_result(run: Callable[[], Awaitable[d.Offer]]) -> OfferResult:
    async def payload() -> OfferPayload:
        return OfferPayload(offer=Offer.of(await run()))

    return await answer_mutation(payload())


@strawberry.input
class OfferValueInput:
    """A rep's value: ``client.address`` replaces that merge field, any other name is
    ``custom.<name>`` in a template (and ``${name}`` in a plain-text one)."""

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

    @strawberry.field(description="The org's past offers of won and lost deals, newest first, "
                      "matching every word of search in the offer's text, the deal's comment "
                      "and lessons learned (with or without Polish diacritics).")  # type: ignore[untyped-decorator]
    async def offer_library(
        self,
        info: Info,
        search: str | None = None,
        outcome: DealOutcome | None = None,
        first: int = 20,
        offset: int = 0,
    ) -> list[OfferLibraryEntry]:
        query = offer_library.OfferLibrary(caller(info), search=search,
                               outcome=d.Outcome(outcome.value) if outcome else None,
                               first=first, offset=offset)
        try:
            found = await offer_library.offer_library(query, uow(info))
        except DomainError as error:
            raise query_error(error) from None
        return [OfferLibraryEntry.of(e) for e in found]


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
        items: list[OfferLineItemInput] | None = None,
        valid_until: date | None = None,
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
                items=_items(items),
                valid_until=valid_until,
            )
            return IssueOfferPayload(offer=Offer.of(await h.issue_offer(cmd, uow(info))))

        return await answer_mutation(run())

    @strawberry.mutation(description="Draft an offer of the deal from a template, its line "
                         "items and values (revision 1; nothing is sent yet).")  # type: ignore[untyped-decorator]
    async def draft_offer(
        self,
        info: Info,
        opportunity_id: strawberry.ID,
        template_id: strawberry.ID,
        items: list[OfferLineItemInput] | None = None,
        values: list[OfferValueInput] | None = None,
        title: str | None = None,
        template_version: int | None = None,
        valid_until: date | None = None,
        currency: str | None = None,
    ) -> OfferResult:
        async def run() -> d.Offer:
            content = h.OfferContent(
                template_id=_id("templateId", template_id), template_version=template_version,
                items=_items(items), values=_values(values), title=title,
                valid_until=valid_until, currency=currency)
            cmd = h.DraftOffer(caller(info), _id("opportunityId", opportunity_id), content)
            return await h.draft_offer(cmd, uow(info))

        return await _offer_result(run)

    @strawberry.mutation(description="The next revision of a draft or issued offer (what is "
                         "not given stays as it was); a draft until issued.")  # type: ignore[untyped-decorator]
    async def revise_offer(
        self,
        info: Info,
        offer_id: strawberry.ID,
        template_id: strawberry.ID | None = None,
        items: list[OfferLineItemInput] | None = None,
        values: list[OfferValueInput] | None = None,
        title: str | None = None,
        template_version: int | None = None,
        valid_until: date | None = None,
    ) -> OfferResult:
        async def run() -> d.Offer:
            content = h.OfferContent(
                template_id=_id("templateId", template_id) if template_id else None,
                template_version=template_version, items=_items(items),
                values=_values(values), title=title, valid_until=valid_until)
            cmd = h.ReviseOffer(caller(info), _id("offerId", offer_id), content)
            return await h.revise_offer(cmd, uow(info))

        return await _offer_result(run)

    @strawberry.mutation(description="Issue a drafted offer to the client.")  # type: ignore[untyped-decorator]
    async def issue_offer_draft(self, info: Info, offer_id: strawberry.ID) -> OfferResult:
        async def run() -> d.Offer:
            return await h.issue_draft(h.IssueDraft(caller(info), _id("offerId", offer_id)),
                                       uow(info))

        return await _offer_result(run)

    @strawberry.mutation(description="A signed URL of an offer revision's file (default: the "
                         "current one).")  # type: ignore[untyped-decorator]
    async def request_offer_download(
        self, info: Info, offer_id: strawberry.ID, revision: int | None = None
    ) -> RequestOfferDownloadResult:
        async def run() -> RequestOfferDownloadPayload:
            who = caller(info)
            found = await h.offer_download(
                h.OfferDownload(who, _id("offerId", offer_id), revision), uow(info))
            grant = signer(info).grant(Action.OFFER, who, datetime.now(UTC),
                                       offerId=str(offer_id), revision=found.revision)
            return RequestOfferDownloadPayload(download=OfferDownload(
                url=signer(info).sign(grant), expires_at=grant.expires_at, file_name=found.name,
                media_type=found.file.media_type, revision=found.revision))

        return await answer_mutation(run())

    @strawberry.mutation(description="Restrict the offer library to groups (admins; an empty "
                         "list opens it to every member of the org).")  # type: ignore[untyped-decorator]
    async def set_offer_library_access(
        self, info: Info, allowed_groups: list[str]
    ) -> SetOfferLibraryAccessResult:
        async def run() -> SetOfferLibraryAccessPayload:
            groups = await offer_library.set_library_access(
                offer_library.SetLibraryAccess(caller(info), allowed_groups), uow(info))
            return SetOfferLibraryAccessPayload(allowed_groups=groups)

        return await answer_mutation(run())

    @strawberry.mutation(description="Record that the client accepted the issued offer.")  # type: ignore[untyped-decorator]
    async def accept_offer(
        self, info: Info, offer_id: strawberry.ID, comment: str = ""
    ) -> OfferResult:
        async def run() -> d.Offer:
            cmd = h.AnswerOffer(caller(info), _id("offerId", offer_id), True, comment)
            return await h.answer_offer(cmd, uow(info))

        return await _offer_result(run)

    @strawberry.mutation(description="Record that the client rejected the issued offer.")  # type: ignore[untyped-decorator]
    async def reject_offer(
        self, info: Info, offer_id: strawberry.ID, reason: str = ""
    ) -> OfferResult:
        async def run() -> d.Offer:
            cmd = h.AnswerOffer(caller(info), _id("offerId", offer_id), False, reason)
            return await h.answer_offer(cmd, uow(info))

        return await _offer_result(run)

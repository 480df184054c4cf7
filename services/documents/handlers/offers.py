"""Offers: a template's version rendered with the deal's values and kept with its
opportunity, announced to the pipeline (its ``offer_issued`` gate)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from crmkit.auth import Caller
from crmkit.contracts import documents as contract
from crmkit.errors import ForbiddenError, InvalidInput, ProblemCollector
from services.documents import domain as d
from services.documents.handlers.common import Work, now, visible_document, wrap


@dataclass(frozen=True)
class IssueOffer:
    caller: Caller
    opportunity_id: uuid.UUID
    template_id: uuid.UUID
    values: Sequence[tuple[str, str]] = ()
    title: str | None = None
    template_version: int | None = None
    amount: Decimal | str | None = None
    currency: str | None = None


async def issue_offer(cmd: IssueOffer, uow: Work) -> d.Offer:
    """Render the template's chosen (default: latest) version with ``values``, keep the
    offer with the opportunity and announce it, in one transaction."""
    problems = ProblemCollector()
    title, values, money = d.check_offer_input(
        title=cmd.title,
        values=cmd.values,
        amount=cmd.amount,
        currency=cmd.currency,
        problems=problems,
    )
    if cmd.template_version is not None and cmd.template_version < 1:
        problems.add("templateVersion", "must be at least 1")
    problems.raise_if_any()
    caller = cmd.caller
    async with uow:
        template = await visible_document(uow.repo, caller, cmd.template_id)
        if template.kind is not d.DocumentKind.OFFER_TEMPLATE:
            raise InvalidInput.field("templateId", "is not an offer template")
        number = cmd.template_version or template.current_version
        if number > template.current_version:
            raise InvalidInput.field(
                "templateVersion", f"the template has {template.current_version} versions"
            )
        access = await uow.repo.opportunity_access(caller.org_id, [cmd.opportunity_id])
        if not d.may_issue_offer(caller, access.get(cmd.opportunity_id)):
            raise ForbiddenError("you may not issue offers on this opportunity")
        content = await uow.repo.version_content(caller.org_id, template.id, number)
        text = content.text() if content is not None else None
        if content is None or text is None:
            raise InvalidInput.field("templateId", "the template version is not text")
        rendered = d.render_template(text, values)
        offer = d.Offer(
            id=uuid.uuid4(),
            org_id=caller.org_id,
            opportunity_id=cmd.opportunity_id,
            template_id=template.id,
            template_version=number,
            title=title or template.name,
            content=rendered,
            media_type=content.media_type,
            amount=money.amount if money else None,
            currency=money.currency.code if money else None,
            issued_by=caller.member_id,
            issued_at=now(),
        )
        await uow.repo.add_offer(offer)
        uow.emit(
            wrap(
                contract.OfferIssued(
                    offer_id=offer.id,
                    opportunity_id=offer.opportunity_id,
                    document_id=template.id,
                    title=offer.title,
                    issued_at=offer.issued_at,
                    template_version=number,
                    amount=offer.amount,
                    currency=offer.currency,
                    issued_by=caller.member_id,
                ),
                caller,
                offer.id,
                1,
            )
        )
        await uow.commit()
    return offer


@dataclass(frozen=True)
class OffersById:
    caller: Caller
    ids: Sequence[uuid.UUID]


async def offers_by_id(query: OffersById, uow: Work) -> dict[uuid.UUID, d.Offer]:
    """The offers among ``ids`` the caller sees (those of opportunities they see; of one not
    known here yet, their own, or any for a manager)."""
    caller = query.caller
    async with uow:
        offers = await uow.repo.offers(caller.org_id, query.ids)
        access = await uow.repo.opportunity_access(
            caller.org_id, list({o.opportunity_id for o in offers})
        )
    return {
        o.id: o
        for o in offers
        if d.sees_opportunity(caller, access.get(o.opportunity_id), issued_by=[o.issued_by])
    }


@dataclass(frozen=True)
class OffersOfOpportunities:
    caller: Caller
    opportunity_ids: Sequence[uuid.UUID]


async def offers_of_opportunities(
    query: OffersOfOpportunities, uow: Work
) -> dict[uuid.UUID, list[d.Offer]]:
    """Each opportunity's offers the caller sees, newest first."""
    caller = query.caller
    async with uow:
        offers = await uow.repo.offers_of(caller.org_id, query.opportunity_ids)
        access = await uow.repo.opportunity_access(caller.org_id, query.opportunity_ids)
    found: dict[uuid.UUID, list[d.Offer]] = {i: [] for i in query.opportunity_ids}
    for offer in offers:
        if d.sees_opportunity(caller, access.get(offer.opportunity_id),
                              issued_by=[offer.issued_by]):
            found[offer.opportunity_id].append(offer)
    return found

"""Offers: drafted from a template with the deal's merge data and line items (revisions v1,
v2, ... each with its rendered file), issued to the client (the pipeline's ``offer_issued``
gate), then accepted, rejected or expired.

An offer event's ``aggregate_version`` is ``2 x revision - 1`` when a revision is issued (1 for
the first, as before revisions) and one more when the client's answer (or the expiry) is
recorded, so it only grows.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from crmkit.auth import Caller
from crmkit.commands import ById, Command, must_exist
from crmkit.contracts import Envelope
from crmkit.contracts import documents as contract
from crmkit.errors import (
    ForbiddenError,
    InvalidInput,
    NotFoundError,
    ProblemCollector,
)
from crmkit.values import Money, clean_text, search_form
from services.documents import domain as d
from services.documents import merge as m
from services.documents import rendering as r
from services.documents.handlers.common import Work, now, visible_document, wrap

MAX_NOTE_LENGTH = 2000


@dataclass(frozen=True)
class OfferContent:
    """What an offer revision is rendered from (every field optional on a revision: None
    keeps the previous revision's)."""

    template_id: uuid.UUID | None = None
    template_version: int | None = None
    items: Sequence[m.LineItemInput] | None = None
    values: Sequence[tuple[str, str]] | None = None
    title: str | None = None
    valid_until: date | None = None
    currency: str | None = None
    amount: Decimal | str | None = None
    """Without line items, the net total the rep states (offers before line items)."""


class DraftOffer(Command):
    opportunity_id: uuid.UUID
    content: OfferContent


class IssueOffer(Command):
    """Draft and issue in one step."""

    opportunity_id: uuid.UUID
    template_id: uuid.UUID
    values: Sequence[tuple[str, str]] = ()
    title: str | None = None
    template_version: int | None = None
    amount: Decimal | str | None = None
    currency: str | None = None
    items: Sequence[m.LineItemInput] | None = None
    valid_until: date | None = None


class ReviseOffer(Command):
    offer_id: uuid.UUID
    content: OfferContent


class IssueDraft(Command):
    offer_id: uuid.UUID


class AnswerOffer(Command):
    """The client's answer to an issued offer, recorded by a member."""

    offer_id: uuid.UUID
    accepted: bool
    note: str = ""


# --- input ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    title: str | None
    values: dict[str, str]
    items: list[m.LineItem] | None
    money: Money | None
    currency: str | None


def _check(content: OfferContent, problems: ProblemCollector) -> _Checked:
    title, values, money = d.check_offer_input(
        title=content.title,
        values=content.values or (),
        amount=content.amount,
        currency=content.currency if content.amount is not None else None,
        problems=problems,
    )
    for index, (name, _) in enumerate(content.values or ()):
        problem = m.override_problem(name)
        if problem is not None:
            problems.add(f"values.{index}.name", problem)
    if content.template_version is not None and content.template_version < 1:
        problems.add("templateVersion", "must be at least 1")
    items = None if content.items is None else m.check_items(content.items, problems)
    currency = money.currency.code if money is not None else None
    if content.currency is not None and content.amount is None:
        found = problems.value("", lambda: Money.optional(
            Decimal(0), (content.currency or "").strip().upper()))
        currency = found.currency.code if found is not None else None
    return _Checked(title, values, items, money, currency)


# --- rendering one revision -------------------------------------------------------------


@dataclass(frozen=True)
class _Revision:
    offer: d.Offer
    revision: d.OfferRevision
    data: bytes
    search_text: str


async def _render(
    uow: Work,
    caller: Caller,
    *,
    offer: d.Offer | None,
    opportunity_id: uuid.UUID,
    content: OfferContent,
    checked: _Checked,
) -> _Revision:
    """Render a revision (the first when ``offer`` is None) from the template, the deal's
    merge data, the line items and the rep's values."""
    repo = uow.repo
    previous = None
    if offer is not None:
        revisions = await repo.offer_revisions(caller.org_id, offer.id)
        previous = revisions[0] if revisions else None
    template_id = content.template_id or (offer.template_id if offer else None)
    if template_id is None:
        raise InvalidInput.field("templateId", "is required")
    template = await visible_document(repo, caller, template_id)
    if template.kind is not d.DocumentKind.OFFER_TEMPLATE:
        raise InvalidInput.field("templateId", "is not an offer template")
    number = content.template_version or template.current_version
    if number > template.current_version:
        raise InvalidInput.field(
            "templateVersion", f"the template has {template.current_version} versions")
    source = must_exist(
        await repo.version_content(caller.org_id, template.id, number), "Document", template.id
    )

    deal = await repo.deal_facts(caller.org_id, opportunity_id)
    currency = _currency(deal, checked, offer)
    items = checked.items
    if items is None and previous is not None:
        items = _items_of(previous)
    items = items or []
    if items:
        amount: Decimal | None = m.totals(items).net
    elif checked.money is not None:
        amount = checked.money.amount
    elif offer is not None and content.amount is None:
        amount = offer.amount
    else:
        amount = None
    if amount is not None and currency is None:
        raise InvalidInput.field("currency", "is required while the deal is not known here")

    today = now().date()
    settings = await repo.offer_settings(caller.org_id)
    valid_until = content.valid_until or (offer.valid_until if offer else None) \
        or today + timedelta(days=settings.validity_days)
    if valid_until < today:
        raise InvalidInput.field("validUntil", "must not be in the past")
    offer_number = offer.number if offer and offer.number else d.offer_number(
        today, await repo.next_offer_number(caller.org_id, today))
    revision_no = offer.revision + 1 if offer else 1
    title = checked.title or (offer.title if offer else template.name)
    values = dict(previous.merge_data.get("_values", {})) if previous else {}
    values.update(checked.values)
    facts = deal or m.DealFacts(opportunity_id=opportunity_id)
    if not facts.owner.name and facts.owner_id in (None, caller.member_id):
        facts = replace(facts, owner=m.Party(name=caller.name))
    merge = m.merge_data(
        facts,
        m.OfferFacts(number=offer_number, title=title, revision=revision_no,
                     valid_until=valid_until, currency=currency or "", today=today,
                     locale=settings.locale or m.DEFAULT_LOCALE),
        items,
        values,
    )
    try:
        # CPU-bound (a PDF takes about a second): off the event loop, so other requests go on.
        rendered = await asyncio.to_thread(
            r.render, source.data, source.media_type, merge,
            {k: v for k, v in values.items() if "." not in k})
    except r.MissingValues as missing:
        problems = ProblemCollector()
        for name in missing.names:
            problems.add(f"values.{name}", "is required by the template")
        problems.raise_if_any()
        raise
    except r.RenderError as error:
        raise InvalidInput.field("templateId", str(error)) from None
    at = now()
    offer_id = offer.id if offer else uuid.uuid4()
    stored = {**merge, "_values": values, "_items": [_item_record(i) for i in items]}
    revision = d.OfferRevision(
        offer_id=offer_id, number=revision_no, org_id=caller.org_id, template_id=template.id,
        template_version=number, media_type=rendered.media_type,
        size_bytes=len(rendered.data), sha256=hashlib.sha256(rendered.data).hexdigest(),
        text=rendered.text, merge_data=stored, amount=amount,
        currency=currency if amount is not None else None,
        created_by=caller.member_id, created_at=at,
    )
    fields = dict(
        template_id=template.id, template_version=number, title=title, content=rendered.text,
        media_type=rendered.media_type, amount=revision.amount, currency=revision.currency,
        status=d.OfferStatus.DRAFT, revision=revision_no, valid_until=valid_until,
    )
    if offer is None:
        updated = d.Offer(id=offer_id, org_id=caller.org_id, opportunity_id=opportunity_id,
                          issued_by=None, issued_at=None, number=offer_number,
                          created_by=caller.member_id, created_at=at, **fields)  # type: ignore[arg-type]
    else:
        updated = replace(offer, **fields)  # type: ignore[arg-type]
    search = search_form(" ".join((offer_number, title, facts.client_name, rendered.text)))
    return _Revision(updated, revision, rendered.data, search)


def _currency(deal: m.DealFacts | None, checked: _Checked, offer: d.Offer | None) -> str | None:
    """The deal's currency; a different one given is refused."""
    given = checked.currency or (checked.money.currency.code if checked.money else None)
    known = deal.currency if deal is not None and deal.currency else None
    if known is not None and given is not None and given != known:
        raise InvalidInput.field("currency", f"must be the deal's currency ({known})")
    return known or given or (offer.currency if offer else None)


def _item_record(item: m.LineItem) -> dict[str, str]:
    return {"product": item.product, "quantity": str(item.quantity), "unit": item.unit,
            "unit_price": str(item.unit_price), "vat_rate": item.vat_rate,
            "discount": str(item.discount)}


def _items_of(revision: d.OfferRevision) -> list[m.LineItem]:
    return [
        m.LineItem(product=i["product"], quantity=Decimal(i["quantity"]), unit=i["unit"],
                   unit_price=Decimal(i["unit_price"]), vat_rate=i["vat_rate"],
                   discount=Decimal(i["discount"]))
        for i in revision.merge_data.get("_items", [])
    ]


def line_items(revision: d.OfferRevision) -> list[m.LineItem]:
    """The line items a revision was rendered with."""
    return _items_of(revision)


async def _store_new(uow: Work, made: _Revision) -> None:
    await uow.repo.add_offer(made.offer)
    await uow.repo.update_offer(made.offer, made.search_text)
    await uow.repo.add_offer_revision(made.revision, made.data)


# --- use cases --------------------------------------------------------------------------


async def draft_offer(cmd: DraftOffer, uow: Work) -> d.Offer:
    """A new offer of the deal, drafted (revision 1): nothing is sent or announced yet."""
    problems = ProblemCollector()
    checked = _check(cmd.content, problems)
    problems.raise_if_any()
    caller = cmd.caller
    async with uow:
        await _may_write(uow, caller, cmd.opportunity_id)
        made = await _render(uow, caller, offer=None, opportunity_id=cmd.opportunity_id,
                             content=cmd.content, checked=checked)
        await _store_new(uow, made)
        await uow.commit()
    return made.offer


async def issue_offer(cmd: IssueOffer, uow: Work) -> d.Offer:
    """Draft an offer and issue it at once, in one transaction."""
    content = OfferContent(
        template_id=cmd.template_id, template_version=cmd.template_version, items=cmd.items,
        values=cmd.values, title=cmd.title, valid_until=cmd.valid_until,
        currency=cmd.currency, amount=cmd.amount,
    )
    problems = ProblemCollector()
    checked = _check(content, problems)
    problems.raise_if_any()
    caller = cmd.caller
    async with uow:
        await _may_write(uow, caller, cmd.opportunity_id)
        made = await _render(uow, caller, offer=None, opportunity_id=cmd.opportunity_id,
                             content=content, checked=checked)
        await _store_new(uow, made)
        issued = await _issue(uow, caller, made.offer)
        await uow.commit()
    return issued


async def revise_offer(cmd: ReviseOffer, uow: Work) -> d.Offer:
    """The next revision of a draft or issued offer (a draft again until it is issued)."""
    problems = ProblemCollector()
    checked = _check(cmd.content, problems)
    problems.raise_if_any()
    caller = cmd.caller
    async with uow:
        offer = await _visible_offer(uow, caller, cmd.offer_id, lock=True)
        if offer.status not in d.REVISABLE:
            raise _wrong_state(f"an offer {offer.status.value.lower()} cannot be revised")
        if offer.number is None:
            raise _wrong_state("an offer made before revisions cannot be revised")
        made = await _render(uow, caller, offer=offer, opportunity_id=offer.opportunity_id,
                             content=cmd.content, checked=checked)
        await uow.repo.update_offer(made.offer, made.search_text)
        await uow.repo.add_offer_revision(made.revision, made.data)
        await uow.commit()
    return made.offer


async def issue_draft(cmd: IssueDraft, uow: Work) -> d.Offer:
    """Issue a drafted offer's current revision to the client."""
    caller = cmd.caller
    async with uow:
        offer = await _visible_offer(uow, caller, cmd.offer_id, lock=True)
        if offer.status is not d.OfferStatus.DRAFT:
            raise _wrong_state(f"the offer is {offer.status.value.lower()}, not a draft")
        if offer.valid_until is not None and offer.valid_until < now().date():
            raise InvalidInput.field("validUntil", "has passed: revise the offer first")
        issued = await _issue(uow, caller, offer)
        await uow.commit()
    return issued


async def answer_offer(cmd: AnswerOffer, uow: Work) -> d.Offer:
    """Record that the client accepted or rejected the issued offer, and announce it."""
    note = cmd.note.strip()
    if note:
        problems = ProblemCollector()
        note = problems.value("comment" if cmd.accepted else "reason", lambda: clean_text(
            cmd.note, max_length=MAX_NOTE_LENGTH, multiline=True)) or ""
        problems.raise_if_any()
    caller = cmd.caller
    async with uow:
        offer = await _visible_offer(uow, caller, cmd.offer_id, lock=True)
        if offer.status is not d.OfferStatus.ISSUED:
            raise _wrong_state(f"the offer is {offer.status.value.lower()}, not issued")
        at = now()
        status = d.OfferStatus.ACCEPTED if cmd.accepted else d.OfferStatus.REJECTED
        answered = replace(offer, status=status, decided_by=caller.member_id, decided_at=at,
                           decision_note=note)
        await uow.repo.update_offer(answered)
        owner = await _owner(uow, offer)
        common = _decision(answered, owner, at)
        event: contract.OfferDecision = (
            contract.OfferAccepted(**common, accepted_by=caller.member_id, comment=note)
            if cmd.accepted else
            contract.OfferRejected(**common, rejected_by=caller.member_id, reason=note))
        uow.emit(wrap(event, caller, offer.id, 2 * offer.revision))
        await uow.commit()
    return answered


@dataclass(frozen=True)
class ExpireOffers:
    today: date
    limit: int = 100


async def expire_offers(cmd: ExpireOffers, uow: Work) -> int:
    """Offers still issued after their validity date become expired (announced); how many."""
    async with uow:
        due = await uow.repo.issued_offers_until(cmd.today, cmd.limit)
        at = now()
        for stale in due:
            offer = await uow.repo.offer(stale.org_id, stale.id, lock=True)
            if offer is None or offer.status is not d.OfferStatus.ISSUED:
                continue
            expired = replace(offer, status=d.OfferStatus.EXPIRED, decided_at=at)
            await uow.repo.update_offer(expired)
            assert offer.valid_until is not None
            event = contract.OfferExpired(**_decision(expired, await _owner(uow, offer), at),
                                          valid_until=offer.valid_until)
            uow.emit(Envelope.wrap(event, org_id=offer.org_id, aggregate_id=offer.id,
                                   aggregate_version=2 * offer.revision))
        await uow.commit()
    return len(due)


def _wrong_state(message: str) -> InvalidInput:
    """An offer in a state that does not allow the change (nothing was changed)."""
    return InvalidInput.field("offerId", message)


# --- shared steps -----------------------------------------------------------------------


async def _may_write(uow: Work, caller: Caller, opportunity_id: uuid.UUID) -> None:
    access = await uow.repo.opportunity_access(caller.org_id, [opportunity_id])
    if not d.may_issue_offer(caller, access.get(opportunity_id)):
        raise ForbiddenError("you may not issue offers on this opportunity")


async def _visible_offer(uow: Work, caller: Caller, offer_id: uuid.UUID, *,
                         lock: bool = False) -> d.Offer:
    offer = await uow.repo.offer(caller.org_id, offer_id, lock=lock)
    if offer is not None:
        access = await uow.repo.opportunity_access(caller.org_id, [offer.opportunity_id])
        if d.sees_opportunity(caller, access.get(offer.opportunity_id),
                              issued_by=[offer.author]):
            return offer
    raise NotFoundError("Offer", offer_id)


async def _owner(uow: Work, offer: d.Offer) -> uuid.UUID | None:
    access = await uow.repo.opportunity_access(offer.org_id, [offer.opportunity_id])
    found = access.get(offer.opportunity_id)
    return found.owner_id if found else None


async def _issue(uow: Work, caller: Caller, offer: d.Offer) -> d.Offer:
    issued = replace(offer, status=d.OfferStatus.ISSUED, issued_by=caller.member_id,
                     issued_at=now())
    await uow.repo.update_offer(issued)
    assert issued.issued_at is not None
    uow.emit(wrap(
        contract.OfferIssued(
            offer_id=issued.id,
            opportunity_id=issued.opportunity_id,
            document_id=issued.template_id,
            title=issued.title,
            issued_at=issued.issued_at,
            template_version=issued.template_version,
            amount=issued.amount,
            currency=issued.currency,
            issued_by=caller.member_id,
            number=issued.number,
            revision=issued.revision,
            valid_until=issued.valid_until,
            media_type=issued.media_type,
            owner_id=await _owner(uow, issued),
        ),
        caller,
        issued.id,
        2 * issued.revision - 1,
    ))
    return issued


def _decision(offer: d.Offer, owner: uuid.UUID | None, at: object) -> dict[str, object]:
    return {
        "offer_id": offer.id, "opportunity_id": offer.opportunity_id, "number": offer.number,
        "title": offer.title, "revision": offer.revision, "amount": offer.amount,
        "currency": offer.currency, "issued_by": offer.issued_by, "owner_id": owner,
        "decided_at": at,
    }


# --- queries ----------------------------------------------------------------------------


async def offers_by_id(query: ById, uow: Work) -> dict[uuid.UUID, d.Offer]:
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
        if d.sees_opportunity(caller, access.get(o.opportunity_id), issued_by=[o.author])
    }


class OffersOfOpportunities(Command):
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
                              issued_by=[offer.author]):
            found[offer.opportunity_id].append(offer)
    return found


class OfferRevisions(Command):
    offer_id: uuid.UUID


async def offer_revisions(query: OfferRevisions, uow: Work) -> list[d.OfferRevision]:
    """The revisions of an offer the caller sees, newest first."""
    async with uow:
        offer = await _visible_offer(uow, query.caller, query.offer_id)
        return await uow.repo.offer_revisions(query.caller.org_id, offer.id)


class OfferDownload(Command):
    offer_id: uuid.UUID
    revision: int | None = None


@dataclass(frozen=True)
class Download:
    name: str
    """``OF-2026-12-0007-v2.pdf``."""
    revision: int
    file: d.OfferFile


async def offer_download(query: OfferDownload, uow: Work) -> Download:
    """A revision's file (default: the current one) with its download name; an offer made
    before revisions downloads as its text."""
    async with uow:
        offer = await _visible_offer(uow, query.caller, query.offer_id)
        number = query.revision or offer.revision
        found = await uow.repo.offer_file(query.caller.org_id, offer.id, number)
    if found is None:
        if offer.number is not None or number != 1:
            raise NotFoundError("OfferRevision", offer.id)
        data = offer.content.encode("utf-8")
        found = d.OfferFile(data, "text/plain", hashlib.sha256(data).hexdigest())
    return Download(d.file_name(replace(offer, revision=number), found.media_type), number,
                    found)

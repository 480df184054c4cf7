"""Offers with revisions, states and merge data from the CRM's events, and the offer library,
on the in-memory repository: what each use case writes, refuses and announces."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import docx
import pytest

from crmkit.commands import ById
from crmkit.contracts import Envelope
from crmkit.contracts import documents as contract
from crmkit.contracts.leads import AccountCreated, ContactCreated, MemberUpdated
from crmkit.contracts.pipeline import OpportunityCreated, OpportunityLost, OpportunityWon
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError
from services.documents import domain as d
from services.documents import merge as m
from services.documents import rendering as r
from services.documents.handlers import library as lib
from services.documents.handlers import offer_library as olib
from services.documents.handlers import offers as off
from services.documents.handlers.opportunities import record_client, record_opportunity

from .fakes import fake_uow
from .test_handlers import ADMIN, ORG, Uow, folder, person
from .test_rendering import docx_template

ITEMS = [m.LineItemInput("Lokalizator GPS", "10", "199.99", "23"),
         m.LineItemInput("Wdrożenie systemu", "1", "5000", "8", unit="usł.")]


async def docx_offer_template(uow: Uow) -> d.Document:
    document, _ = await lib.upload_document(lib.UploadDocument(
        ADMIN, (await folder(uow)).id, "Oferta", d.DocumentKind.OFFER_TEMPLATE,
        docx_template(), media_type=r.DOCX_MEDIA_TYPE), uow)
    return document


async def deal(uow: Uow, owner: object, *, currency: str = "PLN",
               event: type[OpportunityCreated] | None = None) -> uuid.UUID:
    """A deal documents learned of from leads' and the pipeline's events."""
    opportunity_id, account_id = uuid.uuid4(), uuid.uuid4()
    assert hasattr(owner, "member_id")
    for envelope in (
        Envelope.wrap(AccountCreated(account_id=account_id, name="Żabka Polska Sp. z o.o.",
                                     nip="5260250274", address="ul. Prosta 1, Warszawa"),
                      org_id=ORG, aggregate_id=account_id, aggregate_version=1),
        Envelope.wrap(ContactCreated(contact_id=uuid.uuid4(), account_id=account_id,
                                     name="Anna Nowak", email="anna@zabka.example"),
                      org_id=ORG, aggregate_id=account_id, aggregate_version=1),
        Envelope.wrap(MemberUpdated(member_id=owner.member_id, lead_cap=10,
                                    name="Jan Kowalski"),
                      org_id=ORG, aggregate_id=owner.member_id, aggregate_version=1),
    ):
        assert await record_client(envelope, uow)
    created = OpportunityCreated(
        opportunity_id=opportunity_id, name="Flota 2027", owner_id=owner.member_id,
        team=getattr(owner, "team", None), account_id=account_id, pipeline_id=uuid.uuid4(),
        stage_id=uuid.uuid4(), stage_name="Offer", status="open", amount=Decimal("25000"),
        currency=currency, probability=40)
    await record_opportunity(Envelope.wrap(created, org_id=ORG, aggregate_id=opportunity_id,
                                           aggregate_version=1), uow)
    return opportunity_id


def offer_events(uow: Uow) -> list[Envelope]:
    return [e for e in uow.committed if e.type.startswith("crm.documents.offer.")]


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    return "\n".join([p.text for p in document.paragraphs] + [
        c.text for t in document.tables for row in t.rows for c in row.cells])


async def test_a_draft_is_rendered_from_the_deal_and_its_client_numbered_and_not_announced(
) -> None:
    uow = fake_uow()
    rep = person()
    template = await docx_offer_template(uow)
    opportunity = await deal(uow, rep)
    offer = await off.draft_offer(off.DraftOffer(rep, opportunity, off.OfferContent(
        template_id=template.id, items=ITEMS, values=(("delivery", "14 dni"),))), uow)
    assert offer.status is d.OfferStatus.DRAFT and offer.revision == 1
    assert offer.number == f"OF/{date.today():%Y/%m}/0001"
    assert (offer.amount, offer.currency) == (Decimal("6999.90"), "PLN")  # net
    assert offer.media_type == r.DOCX_MEDIA_TYPE
    assert offer_events(uow) == []
    download = await off.offer_download(off.OfferDownload(rep, offer.id), uow)
    assert (download.name, download.revision) == (f"OF-{date.today():%Y-%m}-0001-v1.docx", 1)
    text = docx_text(download.file.data)
    assert "Żabka Polska Sp. z o.o., NIP 5260250274" in text
    assert "Lokalizator GPS" in text and "Wdrożenie systemu" in text
    assert "Dostawa: 14 dni" in text
    (revision,) = await off.offer_revisions(off.OfferRevisions(rep, offer.id), uow)
    assert revision.merge_data["client"]["contact"]["name"] == "Anna Nowak"
    assert revision.merge_data["owner"]["name"] == "Jan Kowalski"
    assert revision.created_by == rep.member_id


async def test_revisions_issue_and_the_clients_answer_each_announced() -> None:
    uow = fake_uow()
    rep = person()
    template = await docx_offer_template(uow)
    opportunity = await deal(uow, rep)
    draft = await off.draft_offer(off.DraftOffer(rep, opportunity, off.OfferContent(
        template_id=template.id, items=ITEMS)), uow)
    issued = await off.issue_draft(off.IssueDraft(rep, draft.id), uow)
    assert issued.status is d.OfferStatus.ISSUED
    revised = await off.revise_offer(off.ReviseOffer(rep, draft.id, off.OfferContent(
        items=ITEMS[:1], values=(("client.address", "ul. Nowa 2"),))), uow)
    assert (revised.revision, revised.status, revised.number) == (
        2, d.OfferStatus.DRAFT, draft.number)
    assert revised.amount == Decimal("1999.90")
    await off.issue_draft(off.IssueDraft(rep, draft.id), uow)
    accepted = await off.answer_offer(off.AnswerOffer(rep, draft.id, True, "Podpisane"), uow)
    assert accepted.status is d.OfferStatus.ACCEPTED
    events = [(e.type, e.aggregate_version) for e in offer_events(uow)]
    assert events == [(contract.OfferIssued.TYPE, 1), (contract.OfferIssued.TYPE, 3),
                      (contract.OfferAccepted.TYPE, 4)]
    second = offer_events(uow)[1].parse(contract.OfferIssued)
    assert (second.revision, second.number, second.owner_id, second.amount) == (
        2, draft.number, rep.member_id, Decimal("1999.90"))
    assert offer_events(uow)[2].parse(contract.OfferAccepted).comment == "Podpisane"
    revisions = await off.offer_revisions(off.OfferRevisions(rep, draft.id), uow)
    assert [x.number for x in revisions] == [2, 1]
    assert revisions[0].merge_data["client"]["address"] == "ul. Nowa 2"
    with pytest.raises(InvalidInput) as caught:  # answered: final
        await off.answer_offer(off.AnswerOffer(rep, draft.id, False), uow)
    assert "not issued" in str(caught.value)
    with pytest.raises(InvalidInput):
        await off.revise_offer(off.ReviseOffer(rep, draft.id, off.OfferContent()), uow)


async def test_a_rejection_and_an_expiry_are_announced_once() -> None:
    uow = fake_uow()
    rep = person()
    template = await docx_offer_template(uow)
    opportunity = await deal(uow, rep)
    rejected = await off.issue_offer(off.IssueOffer(rep, opportunity, template.id, items=ITEMS),
                                     uow)
    await off.answer_offer(off.AnswerOffer(rep, rejected.id, False, "Za drogo"), uow)
    expiring = await off.issue_offer(off.IssueOffer(
        rep, opportunity, template.id, items=ITEMS, valid_until=date.today()), uow)
    assert await off.expire_offers(off.ExpireOffers(date.today()), uow) == 0
    later = date.today() + timedelta(days=1)
    assert await off.expire_offers(off.ExpireOffers(later), uow) == 1
    assert await off.expire_offers(off.ExpireOffers(later), uow) == 0
    types = [e.type for e in offer_events(uow)]
    assert types == [contract.OfferIssued.TYPE, contract.OfferRejected.TYPE,
                     contract.OfferIssued.TYPE, contract.OfferExpired.TYPE]
    assert offer_events(uow)[1].parse(contract.OfferRejected).reason == "Za drogo"
    assert offer_events(uow)[3].parse(contract.OfferExpired).offer_id == expiring.id


async def test_the_currency_is_the_deals_and_bad_line_items_change_nothing() -> None:
    uow = fake_uow()
    rep = person()
    template = await docx_offer_template(uow)
    opportunity = await deal(uow, rep)
    with pytest.raises(InvalidInput) as caught:
        await off.draft_offer(off.DraftOffer(rep, opportunity, off.OfferContent(
            template_id=template.id, items=ITEMS, currency="EUR")), uow)
    assert str(caught.value) == "invalid input: currency: must be the deal's currency (PLN)"
    with pytest.raises(InvalidInput) as caught:
        await off.draft_offer(off.DraftOffer(rep, opportunity, off.OfferContent(
            template_id=template.id,
            items=[m.LineItemInput("X", "-1", "abc", "7.5")])), uow)
    assert {".".join(p.path) for p in caught.value.problems} == {
        "items.0.quantity", "items.0.unitPrice", "items.0.vatRate"}
    async with uow:
        assert uow.repo.offer_rows == {} and uow.repo.number_rows == {}


async def test_another_orgs_member_sees_no_offer_and_cannot_act_on_it() -> None:
    uow = fake_uow()
    rep = person()
    template = await docx_offer_template(uow)
    offer = await off.issue_offer(off.IssueOffer(rep, await deal(uow, rep), template.id,
                                                 items=ITEMS), uow)
    stranger = person("admin", org=uuid.uuid4())
    assert await off.offers_by_id(ById(stranger, [offer.id]), uow) == {}
    for attempt in (
        off.offer_download(off.OfferDownload(stranger, offer.id), uow),
        off.answer_offer(off.AnswerOffer(stranger, offer.id, True), uow),
        off.offer_revisions(off.OfferRevisions(stranger, offer.id), uow),
    ):
        with pytest.raises(NotFoundError):
            await attempt
    assert await olib.offer_library(olib.OfferLibrary(stranger), uow) == []


async def test_the_library_finds_past_offers_by_words_with_or_without_diacritics() -> None:
    uow = fake_uow()
    rep, colleague = person(), person(team="beta")
    template = await docx_offer_template(uow)
    won, lost = await deal(uow, rep), await deal(uow, rep)
    for opportunity in (won, lost):
        await off.issue_offer(off.IssueOffer(rep, opportunity, template.id, items=ITEMS), uow)
    closed = datetime.now(UTC)
    common = {"owner_id": rep.member_id, "team": rep.team, "pipeline_id": uuid.uuid4(),
              "stage_id": uuid.uuid4(), "amount": Decimal("25000"), "currency": "PLN",
              "from_stage_id": uuid.uuid4(), "closed_at": closed}
    await record_opportunity(Envelope.wrap(OpportunityWon(
        opportunity_id=won, name="Flota 2027", status="won", probability=100,
        lessons_learned="Szybkie wdrożenie przekonało zarząd", **common),
        org_id=ORG, aggregate_id=won, aggregate_version=2), uow)
    await record_opportunity(Envelope.wrap(OpportunityLost(
        opportunity_id=lost, name="Flota 2028", status="lost", probability=0,
        close_reason_id=uuid.uuid4(), close_reason_label="Cena", comment="Konkurencja tańsza",
        **common), org_id=ORG, aggregate_id=lost, aggregate_version=2), uow)

    async def found(search: str | None, outcome: d.Outcome | None = None) -> list[str]:
        entries = await olib.offer_library(olib.OfferLibrary(colleague, search, outcome), uow)
        return [e.deal_name for e in entries]

    assert sorted(await found(None)) == ["Flota 2027", "Flota 2028"]
    assert await found("wdrożenie zarząd") == ["Flota 2027"]
    assert await found("WDROZENIE zarzad") == ["Flota 2027"]
    assert await found("tansza") == ["Flota 2028"]
    assert await found(None, d.Outcome.LOST) == ["Flota 2028"]
    assert sorted(await found("lokalizator")) == ["Flota 2027", "Flota 2028"]  # offer text
    assert await found("nieznane") == []


async def test_an_admin_may_restrict_the_library_to_groups() -> None:
    uow = fake_uow()
    sales, other = person(groups=("sales",)), person(groups=("support",))
    with pytest.raises(ForbiddenError):
        await olib.set_library_access(olib.SetLibraryAccess(sales, ["sales"]), uow)
    assert await olib.set_library_access(
        olib.SetLibraryAccess(ADMIN, [" sales", "sales"]), uow) == ["sales"]
    assert await olib.offer_library(olib.OfferLibrary(sales), uow) == []
    with pytest.raises(ForbiddenError):
        await olib.offer_library(olib.OfferLibrary(other), uow)
    await olib.set_library_access(olib.SetLibraryAccess(ADMIN, []), uow)
    assert await olib.offer_library(olib.OfferLibrary(other), uow) == []

"""The documents contracts stay compatible with their consumers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from crmkit.contracts import REGISTRY, Envelope
from crmkit.contracts.documents import OfferAccepted, OfferExpired, OfferIssued, OfferRejected
from services.documents.events import CONSUMES, EMITS


def test_an_offer_issued_payload_of_the_first_shape_still_parses() -> None:
    offer_id, opportunity_id = uuid.uuid4(), uuid.uuid4()
    envelope = Envelope(
        type=OfferIssued.TYPE,
        org_id=uuid.uuid4(),
        aggregate_id=offer_id,
        payload={"offer_id": str(offer_id), "opportunity_id": str(opportunity_id)},
    )
    event = envelope.parse(OfferIssued)
    assert (event.offer_id, event.opportunity_id, event.amount) == (offer_id, opportunity_id, None)


def test_an_offer_issued_event_round_trips_with_its_money() -> None:
    event = OfferIssued(
        offer_id=uuid.uuid4(),
        opportunity_id=uuid.uuid4(),
        document_id=uuid.uuid4(),
        title="Offer",
        issued_at=datetime.now(UTC),
        template_version=2,
        amount=Decimal("1200.50"),
        currency="EUR",
        issued_by=uuid.uuid4(),
    )
    envelope = Envelope.wrap(event, org_id=uuid.uuid4(), aggregate_id=event.offer_id)
    parsed = Envelope.from_json(envelope.to_json()).parse(OfferIssued)
    assert parsed == event
    assert parsed.amount == Decimal("1200.50")


def test_every_emitted_event_is_registered_under_the_documents_subjects() -> None:
    for event in EMITS:
        assert event.TYPE.startswith("crm.documents.")
        assert REGISTRY[event.TYPE] is event


def test_the_consumed_events_are_opportunities_what_an_offer_shows_and_the_orgs_locale(
) -> None:
    assert {e.TYPE.rsplit(".", 1)[0] for e in CONSUMES} == {
        "crm.pipeline.opportunity", "crm.leads.account", "crm.leads.contact", "crm.leads.member",
        "crm.pipeline.organization"}


def test_an_offers_outcomes_carry_the_offer_as_issued() -> None:
    offer_id, deal, rep = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    common = {"offer_id": offer_id, "opportunity_id": deal, "number": "OF/2026/12/0007",
              "title": "Offer", "revision": 2, "amount": Decimal("1000.00"),
              "currency": "PLN", "issued_by": rep,
              "owner_id": rep, "decided_at": now}
    outcomes = [
        OfferAccepted(**common, accepted_by=rep, comment="Signed"),
        OfferRejected(**common, rejected_by=rep, reason="Too expensive"),
        OfferExpired(**common, valid_until=date(2026, 12, 31)),
    ]
    for event in outcomes:
        envelope = Envelope.wrap(event, org_id=uuid.uuid4(), aggregate_id=offer_id)
        assert envelope.subject.startswith("crm.documents.offer.")
        assert Envelope.from_json(envelope.to_json()).parse(type(event)) == event


@pytest.mark.parametrize(
    "money",
    [
        {"amount": Decimal("10.00")},  # an amount without its currency
        {"amount": Decimal("10.005"), "currency": "PLN"},
        {"revision": 0},
    ],
)
def test_an_offer_event_refuses_money_its_consumers_could_not_store(
    money: dict[str, object],
) -> None:
    fields: dict[str, object] = {"offer_id": uuid.uuid4(), "opportunity_id": uuid.uuid4(),
                                 "revision": 1, "decided_at": datetime.now(UTC),
                                 "accepted_by": uuid.uuid4(), **money}
    with pytest.raises(ValidationError):
        OfferAccepted(**fields)
    with pytest.raises(ValidationError):
        OfferIssued(**{k: v for k, v in fields.items()
                       if k not in ("decided_at", "accepted_by")})

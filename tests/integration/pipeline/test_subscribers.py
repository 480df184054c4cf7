"""Events consumed from the bus (LeadConverted, OfferIssued) and events reaching JetStream."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from crmkit.contracts import Envelope, Event
from crmkit.contracts.documents import OfferIssued
from crmkit.contracts.leads import LeadConverted
from crmkit.contracts.pipeline import (
    OpportunityCreated,
    OpportunityStageChanged,
    OpportunityWon,
)

from .conftest import MOVE, UPDATE, WON, People, Service, create_opportunity, eventually, stages

pytestmark = pytest.mark.integration


async def publish(service: Service, envelope: Envelope, message_id: str | None = None) -> None:
    """Publish as a producer's relay would; a distinct ``message_id`` defeats the stream's
    duplicate window, which is how a redelivery reaches the consumer."""
    js = service.runtime.broker.config.connection_state.stream
    await js.publish(
        envelope.subject, envelope.to_json(), stream=service.runtime.settings.stream_name,
        headers={"Nats-Msg-Id": message_id or str(envelope.id)},
    )


def converted(people: People, **overrides: object) -> LeadConverted:
    values: dict[str, object] = {
        "lead_id": uuid.uuid4(), "opportunity_id": uuid.uuid4(), "name": "ACME fleet",
        "amount": Decimal("25000"), "currency": "PLN", "account_id": uuid.uuid4(),
        "owner_id": people.rep_id, "team": "alpha",
    }
    values.update(overrides)
    return LeadConverted(**values)  # type: ignore[arg-type]


def wrap(event: Event, people: People, aggregate: uuid.UUID) -> Envelope:
    return Envelope.wrap(event, org_id=people.org.id, aggregate_id=aggregate,
                         aggregate_version=1, actor_id=people.rep_id)


async def test_lead_converted_creates_the_opportunity_once(
    pipeline_service: Service, people: People
) -> None:
    event = converted(people)
    envelope = wrap(event, people, event.lead_id)
    await publish(pipeline_service, envelope)
    opp_id = str(event.opportunity_id)
    get = "query($id: ID!) { opportunity(id: $id) { id name amount currency ownerId team " \
          "stage { name } account { id } owner { id } } }"

    async def exists() -> bool:
        return bool((await pipeline_service.data(people.rep, get, {"id": opp_id}))["opportunity"])

    await eventually(exists)
    got = (await pipeline_service.data(people.rep, get, {"id": opp_id}))["opportunity"]
    assert got["name"] == "ACME fleet" and got["amount"] == "25000.00"
    assert got["stage"] == {"name": "Identification"} and got["team"] == "alpha"
    assert got["account"] == {"id": str(event.account_id)}
    assert got["owner"] == {"id": str(people.rep_id)}

    # Redelivered, and published again by a confused producer under a new event id.
    await publish(pipeline_service, envelope, message_id=str(uuid.uuid4()))
    again = wrap(event, people, event.lead_id)
    await publish(pipeline_service, again)
    consumer = next(c for c in pipeline_service.runtime.consumers
                    if c.name.startswith("pipeline-lead-converted"))

    async def handled_both() -> bool:
        rows = await pipeline_service.sql(
            "SELECT count(*) FROM inbox WHERE event_id IN (:a, :b)",
            a=envelope.id, b=again.id)
        return bool(rows[0][0] == 2) and consumer.skipped >= 1

    await eventually(handled_both)
    rows = await pipeline_service.sql(
        "SELECT count(*) FROM opportunities WHERE id = :id", id=event.opportunity_id)
    assert rows[0][0] == 1
    events = await pipeline_service.events(aggregate_id=opp_id)
    assert [e.type for e in events] == [OpportunityCreated.TYPE]
    created = events[0].parse(OpportunityCreated)
    assert created.lead_id == event.lead_id and created.source == "lead_conversion"
    assert created.team == "alpha" and created.owner_id == people.rep_id


async def test_offer_issued_meets_the_offer_gate(
    pipeline_service: Service, people: People
) -> None:
    s = await stages(pipeline_service, people.admin)
    # Let the test reach Offer quickly: no requirements before Negotiation.
    for name in ("Qualification", "Offer"):
        await pipeline_service.data(people.admin, """mutation($id: ID!) { updateStage(
            stageId: $id, patch: {requirements: []}) { __typename } }""", {"id": s[name]})
    opp = await create_opportunity(pipeline_service, people.rep)
    moved = await pipeline_service.data(people.rep, MOVE, {"id": opp["id"],
                                                          "stageId": s["Offer"], "v": 1})
    assert moved["moveOpportunity"]["__typename"] == "OpportunityPayload"
    refused = await pipeline_service.data(people.rep, MOVE, {"id": opp["id"],
                                                            "stageId": s["Negotiation"], "v": 2})
    assert refused["moveOpportunity"]["missing"] == ["OFFER_ISSUED"]

    offer = OfferIssued(offer_id=uuid.uuid4(), opportunity_id=uuid.UUID(opp["id"]),
                        title="Offer 1", issued_at=datetime.now(UTC))
    await publish(pipeline_service, wrap(offer, people, offer.offer_id))

    async def issued() -> bool:
        data = await pipeline_service.data(people.rep, "query($id: ID!) { opportunity(id: $id) "
                                          "{ offerIssued } }", {"id": opp["id"]})
        return bool(data["opportunity"]["offerIssued"])

    await eventually(issued)
    moved = await pipeline_service.data(people.rep, MOVE, {"id": opp["id"],
                                                          "stageId": s["Negotiation"], "v": 2})
    assert moved["moveOpportunity"]["__typename"] == "OpportunityPayload"


async def test_offer_issued_before_the_conversion_arrives_still_counts(
    pipeline_service: Service, people: People
) -> None:
    event = converted(people)
    offer = OfferIssued(offer_id=uuid.uuid4(), opportunity_id=event.opportunity_id)
    await publish(pipeline_service, wrap(offer, people, offer.offer_id))

    async def recorded() -> bool:
        rows = await pipeline_service.sql(
            "SELECT count(*) FROM issued_offers WHERE offer_id = :id", id=offer.offer_id)
        return bool(rows[0][0] == 1)

    await eventually(recorded)
    await publish(pipeline_service, wrap(event, people, event.lead_id))

    async def created() -> bool:
        rows = await pipeline_service.sql(
            "SELECT offer_issued_at IS NOT NULL FROM opportunities WHERE id = :id",
            id=event.opportunity_id)
        return bool(rows and rows[0][0])

    await eventually(created)


async def test_events_reach_jetstream_exactly_once_in_order(
    pipeline_service: Service, people: People
) -> None:
    js = pipeline_service.runtime.broker.config.connection_state.stream
    reader = await js.pull_subscribe(
        "crm.pipeline.opportunity.>", stream=pipeline_service.runtime.settings.stream_name,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
    )
    try:
        opp = await create_opportunity(pipeline_service, people.rep)
        for version in (1, 2, 3):
            await pipeline_service.data(people.rep, UPDATE, {
                "id": opp["id"], "v": version, "patch": {"name": f"Name {version}"}})
        await pipeline_service.data(people.rep, WON, {"id": opp["id"], "comment": "Signed"})

        async def all_sent() -> bool:
            rows = await pipeline_service.sql(
                "SELECT count(*) FROM outbox WHERE aggregate_id = :id AND sent_at IS NULL",
                id=uuid.UUID(opp["id"]))
            return bool(rows[0][0] == 0)

        await eventually(all_sent)
        seen: list[tuple[str, int]] = []
        while True:
            try:
                batch = await reader.fetch(100, timeout=1)
            except TimeoutError:
                break
            for message in batch:
                envelope = Envelope.from_json(message.data)
                if str(envelope.aggregate_id) == opp["id"]:
                    seen.append((envelope.type, envelope.aggregate_version))
                await message.ack()
        assert seen == [
            (OpportunityCreated.TYPE, 1),
            ("crm.pipeline.opportunity.updated", 2),
            ("crm.pipeline.opportunity.updated", 3),
            ("crm.pipeline.opportunity.updated", 4),
            (OpportunityStageChanged.TYPE, 5),
            (OpportunityWon.TYPE, 5),
        ]
    finally:
        await reader.unsubscribe()

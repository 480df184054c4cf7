from __future__ import annotations

import uuid

import pytest

from crmkit.contracts import REGISTRY, Envelope, Event, subject_service


class ThingHappened(Event):
    TYPE = "crm.unittest.thing.happened"

    thing_id: uuid.UUID
    note: str = ""


class OtherThing(Event):
    TYPE = "crm.unittest.thing.other"


def test_envelope_round_trips_through_json() -> None:
    org, actor, thing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    envelope = Envelope.wrap(
        ThingHappened(thing_id=thing, note="hi"),
        org_id=org,
        actor_id=actor,
        aggregate_id=thing,
        aggregate_version=3,
    )
    back = Envelope.from_json(envelope.to_json())
    assert back == envelope
    assert back.subject == "crm.unittest.thing.happened"
    assert back.parse(ThingHappened).thing_id == thing
    assert {
        "id",
        "type",
        "version",
        "occurred_at",
        "org_id",
        "actor_id",
        "aggregate_id",
        "aggregate_version",
        "payload",
    } == set(back.model_dump())


def test_parse_refuses_the_wrong_event_type() -> None:
    envelope = Envelope.wrap(OtherThing(), org_id=uuid.uuid4(), aggregate_id=uuid.uuid4())
    with pytest.raises(ValueError, match="is not"):
        envelope.parse(ThingHappened)


def test_events_register_by_type() -> None:
    assert REGISTRY["crm.unittest.thing.happened"] is ThingHappened


def test_subject_service() -> None:
    assert subject_service("crm.pipeline.opportunity.won") == "pipeline"
    with pytest.raises(ValueError):
        subject_service("other.thing")

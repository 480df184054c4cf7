"""The fast paths of the import: the same answers as the general code they stand in for."""

import uuid
from datetime import UTC, datetime

import phonenumbers
import pytest
from phonenumbers import PhoneNumber

from crmkit.contracts import Envelope
from crmkit.contracts.leads import LeadCreated
from services.leads import events, normalise
from services.leads.domain import LeadFields
from services.leads.import_chunks import lead_created_envelope
from services.leads.records import LeadRecord


def _record(fields: LeadFields, lead_id: uuid.UUID, org_id: uuid.UUID, actor: uuid.UUID,
            import_id: uuid.UUID, created_at: datetime) -> LeadRecord:
    return LeadRecord(
        id=lead_id, org_id=org_id, company=fields.company, company_key=fields.company_key,
        contact_name=fields.contact_name, email=fields.email, phone=fields.phone,
        website=fields.website, domain=fields.domain, source=fields.source, notes=fields.notes,
        tags=list(fields.tags), priority=fields.priority, status="NEW", owner_id=None,
        owner_team=None, assigned_at=None, status_changed_at=created_at, last_activity_at=None,
        disqualify_reason=None, account_id=None, contact_id=None, opportunity_id=None,
        import_id=import_id, created_by=actor, version=1, created_at=created_at,
        updated_at=created_at,
    )


@pytest.mark.parametrize("fields", [
    LeadFields(company="ACME \"Sp. z o.o.\"", contact_name="Zażółć Gęślą", email="a@acme.pl",
               phone="+48601234567", website="https://acme.pl/x", domain="acme.pl",
               company_key="acme", source="targi", notes="line\\one", tags=("a", "b"),
               priority=7),
    LeadFields(contact_name="Only a person"),
])
def test_import_envelope_is_what_the_python_side_emits(fields):
    lead_id, event_id, org_id, actor, import_id = (uuid.uuid4() for _ in range(5))
    created_at = datetime(2026, 11, 26, 17, 1, 2, 345678, tzinfo=UTC)
    text = lead_created_envelope(
        event_id=str(event_id), lead_id=str(lead_id), org_id=str(org_id), actor_id=str(actor),
        import_id=str(import_id), created_at=created_at.isoformat(), fields=fields,
    )
    record = _record(fields, lead_id, org_id, actor, import_id, created_at)
    expected = Envelope.wrap(
        events.lead_created(record), org_id=org_id, aggregate_id=lead_id,
        aggregate_version=1, actor_id=actor, occurred_at=created_at, event_id=event_id,
    )
    envelope = Envelope.from_json(text)
    assert envelope == expected.model_copy(update={"payload": envelope.payload})
    assert envelope.parse(LeadCreated) == expected.parse(LeadCreated)
    assert set(envelope.payload) == set(LeadCreated.model_fields)


@pytest.mark.parametrize("country_code", [48, 49, 1, 44, 420, 380, 33, 39])
def test_possible_length_matches_phonenumbers(country_code):
    for digits in range(1, 18):
        for number in (int("1" * digits), int("9" * digits), 10 ** (digits - 1)):
            sample = PhoneNumber(country_code=country_code, national_number=number)
            assert normalise._possible_length(country_code, digits) == (
                phonenumbers.is_possible_number(sample)
            )

"""No lost conversion (issue 13, item 1), through the whole use case: whatever
``convertLead`` accepts becomes an opportunity in the pipeline (its ``lead.converted`` event
applied through the pipeline's own intake), and whatever it refuses leaves the lead as it
was, with no event."""

from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import HealthCheck, given, settings

from crmkit.auth import Caller, Role
from crmkit.contracts.leads import LeadConverted
from crmkit.errors import InvalidInput
from services.leads.handlers import conversion, leads, pool, roster
from services.pipeline.handlers import intake as pipeline_intake
from tests.unit.pipeline.fakes import fake_uow as pipeline_fake_uow
from tests.unit.test_contract_properties import raw_amounts, raw_currencies, raw_names

from .fakes import fake_uow


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_names, raw_amounts, raw_currencies)
async def test_every_accepted_conversion_becomes_an_opportunity(
    name: str, amount: Decimal | str, currency: str
) -> None:
    uow = fake_uow()
    rep = Caller(member_id=uuid.uuid4(), org_id=uuid.uuid4(), roles=frozenset({Role.REP}),
                 team="alpha")
    await roster.register_member(roster.RegisterMember(rep), uow)
    lead = await leads.create_lead(leads.CreateLead(rep, leads.LeadInput(company="Acme")), uow)
    await pool.claim_lead(pool.ClaimLead(rep, lead.id), uow)
    announced = len(uow.committed)
    try:
        done = await conversion.convert_lead(conversion.ConvertLead(
            rep, lead.id, conversion.OpportunityInput(name, amount, currency)), uow)
    except InvalidInput:
        async with uow:
            assert uow.repo.lead_rows[lead.id].status == "ASSIGNED"
        assert len(uow.committed) == announced
        return
    [envelope] = [e for e in uow.committed if e.type == LeadConverted.TYPE]
    created = await pipeline_intake.apply_lead_converted(envelope, pipeline_fake_uow())
    assert created is not None, "the pipeline refused a conversion leads accepted"
    event = envelope.parse(LeadConverted)
    assert (created.id, event.opportunity_id, done.lead.status) == (
        done.opportunity_id, done.opportunity_id, "CONVERTED")

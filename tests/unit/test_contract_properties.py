"""What a producer may publish, its consumers accept (ADR 0008).

Every consumed event type is drawn within its contract's rules (the rules producers build
their events with) and applied through each IO-free consumer's own path; reporting's
projections, which write SQL, get the same events in
``tests/integration/reporting/test_contract_properties.py``. And the conversion lost between
leads and pipeline cannot happen again: leads refuses exactly the deals the pipeline would.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crmkit.contracts import Envelope, Event
from crmkit.contracts import pipeline as pipeline_contract
from crmkit.contracts.documents import OfferIssued
from crmkit.contracts.leads import AccountCreated, AccountUpdated, LeadConverted, MemberUpdated
from crmkit.errors import DomainError, ProblemCollector
from crmkit.testing.strategies import events
from crmkit.values import CURRENCIES
from services.documents import events as documents_events
from services.documents.handlers.opportunities import record_client, record_opportunity
from services.documents.handlers.settings import record_organization_settings
from services.documents.merge import locale_of
from services.leads import domain as leads_domain
from services.pipeline import events as pipeline_events
from services.pipeline.handlers import intake as pipeline_handlers
from services.reporting import events as reporting_events
from tests.unit.documents.fakes import fake_uow
from tests.unit.pipeline.fakes import fake_uow as pipeline_fake_uow

EXAMPLES = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


OPPORTUNITY_EVENTS = [e for e in documents_events.CONSUMES
                      if e.TYPE.startswith("crm.pipeline.opportunity.")]
SETTINGS_EVENTS = [pipeline_contract.OrganizationSettingsChanged]
CLIENT_EVENTS = [e for e in documents_events.CONSUMES
                 if e not in OPPORTUNITY_EVENTS and e not in SETTINGS_EVENTS]


def test_every_consumed_event_type_is_drawn_here_or_in_reporting_s_test() -> None:
    consumed = {*pipeline_events.CONSUMES, *documents_events.CONSUMES}
    assert consumed == {LeadConverted, OfferIssued, MemberUpdated, AccountCreated,
                        AccountUpdated, *OPPORTUNITY_EVENTS, *CLIENT_EVENTS, *SETTINGS_EVENTS}
    assert set(reporting_events.CONSUMED_TYPES) >= {e.TYPE for e in OPPORTUNITY_EVENTS}


@EXAMPLES
@given(events(LeadConverted))
async def test_the_pipeline_creates_every_converted_deal(envelope: Envelope) -> None:
    uow = pipeline_fake_uow()
    opportunity = await pipeline_handlers.apply_lead_converted(envelope, uow)
    event = envelope.parse(LeadConverted)
    assert opportunity is not None
    assert (opportunity.name, opportunity.amount, opportunity.currency) == (
        event.name, event.amount, event.currency)
    assert [e.type for e in uow.committed][-1] == pipeline_contract.OpportunityCreated.TYPE


@EXAMPLES
@given(events(OfferIssued))
async def test_the_pipeline_records_every_issued_offer(envelope: Envelope) -> None:
    uow = pipeline_fake_uow()
    assert await pipeline_handlers.apply_offer_issued(envelope, uow)


@EXAMPLES
@given(events(MemberUpdated))
async def test_the_pipeline_keeps_every_announced_member(envelope: Envelope) -> None:
    uow = pipeline_fake_uow()
    assert await pipeline_handlers.apply_member_updated(envelope, uow)


@pytest.mark.parametrize("event_type", [AccountCreated, AccountUpdated], ids=lambda e: e.TYPE)
def test_the_pipeline_keeps_every_announced_account(event_type: type[Event]) -> None:
    @EXAMPLES
    @given(events(event_type))
    def check(envelope: Envelope) -> None:
        assert asyncio.run(pipeline_handlers.apply_account(envelope, pipeline_fake_uow()))

    check()


@pytest.mark.parametrize("event_type", OPPORTUNITY_EVENTS, ids=lambda e: e.TYPE)
def test_documents_keeps_the_access_of_every_opportunity_event(
    event_type: type[Event],
) -> None:
    @EXAMPLES
    @given(events(event_type))
    def check(envelope: Envelope) -> None:
        uow = fake_uow()
        assert asyncio.run(record_opportunity(envelope, uow))
        async def held() -> dict[uuid.UUID, object]:
            async with uow:
                return dict(await uow.repo.opportunity_access(
                    envelope.org_id, [uuid.UUID(envelope.payload["opportunity_id"])]))
        assert len(asyncio.run(held())) == 1

    check()


@pytest.mark.parametrize("event_type", CLIENT_EVENTS, ids=lambda e: e.TYPE)
def test_documents_keeps_every_client_contact_and_member_event(event_type: type[Event]) -> None:
    @EXAMPLES
    @given(events(event_type))
    def check(envelope: Envelope) -> None:
        kept = asyncio.run(record_client(envelope, fake_uow()))
        # A member's event without a name has nothing an offer shows.
        assert kept or envelope.payload.get("name") is None

    check()


@EXAMPLES
@given(events(pipeline_contract.OrganizationSettingsChanged))
async def test_documents_formats_offers_in_every_announced_locale(envelope: Envelope) -> None:
    uow = fake_uow()
    assert await record_organization_settings(envelope, uow)
    async with uow:
        kept = (await uow.repo.offer_settings(envelope.org_id)).locale
    assert kept == envelope.payload["locale"]
    assert locale_of(kept).language == kept  # Babel knows it: no silent fallback


# --- the lost conversion ----------------------------------------------------------------------

raw_names = st.one_of(
    st.text(max_size=230),
    st.sampled_from(["Pilot", " Pilot ", "Pilot\x00deal", "Pilot\x07", "Pi\nlot", "P" * 200,
                     "P" * 201, "Zażółć gęślą jaźń"]),
)
raw_amounts = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.decimals(min_value=0, max_value=10**6, places=3),
    st.sampled_from(["10.005", "10.5", "10", "-1", "1e15", "999999999999999.99", "ten", ""]),
)
raw_currencies = st.one_of(
    st.sampled_from(sorted(CURRENCIES)),
    st.sampled_from(["pln", " eur ", "ABC", "QQQ", "XAU", "BGN", "", "PLNX"]),
    st.text(max_size=4),
)


@settings(max_examples=400, deadline=None)
@given(raw_names, raw_amounts, raw_currencies)
async def test_leads_refuses_exactly_the_deals_the_pipeline_would_refuse(
    name: str, amount: Decimal | str, currency: str
) -> None:
    """``convertLead`` checks its opportunity input with these two functions before it changes
    anything; what they accept becomes the event (leads' own conveniences applied: inner
    whitespace collapsed, the code upper-cased), which the pipeline must then create."""
    problems = ProblemCollector()
    deal_name = leads_domain.validate_deal_name(name, problems, "opportunity.name")
    money = leads_domain.validate_money(amount, currency, problems, "opportunity.")
    leads_accepts = not problems.problems
    try:
        event = LeadConverted(
            lead_id=uuid.uuid4(), opportunity_id=uuid.uuid4(), account_id=uuid.uuid4(),
            owner_id=uuid.uuid4(), name=" ".join(name.split()), amount=amount,
            currency=currency.strip().upper(),
        )
        envelope = Envelope.wrap(event, org_id=uuid.uuid4(), aggregate_id=event.lead_id)
        created = await pipeline_handlers.apply_lead_converted(
            envelope, pipeline_fake_uow())
        pipeline_accepts = created is not None
    except (ValidationError, DomainError):
        pipeline_accepts = False
    assert leads_accepts == pipeline_accepts, problems.problems
    if leads_accepts:
        assert deal_name == event.name and money is not None
        assert (money.amount, money.currency.code) == (event.amount, event.currency)

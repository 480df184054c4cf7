"""The org's offer settings over GraphQL, and its locale arriving from the pipeline through the
bus: an English org's offers show English money and dates, a Polish org's Polish ones."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crmkit.contracts import Envelope
from crmkit.testing.bus import publish as put_on_bus
from crmkit.testing.plugin import Org
from services.documents.tables import organization_locales
from services.pipeline import domain as pipeline_domain
from services.pipeline import events as pipeline_events

from .conftest import Api, make_document, make_folder, opportunity

pytestmark = pytest.mark.integration

SETTINGS = "{ offerSettings { validityDays locale } }"
SET_SETTINGS = """mutation($days: Int!) { setOfferSettings(validityDays: $days) { __typename
  ... on SetOfferSettingsPayload { settings { validityDays locale } }
  ... on ValidationError { message fields { path message } } ... on Forbidden { message } } }"""
DRAFT = """mutation($opportunity: ID!, $template: ID!, $items: [OfferLineItemInput!]) {
  draftOffer(opportunityId: $opportunity, templateId: $template, items: $items) { __typename
    ... on OfferPayload { offer { id content validUntil } }
    ... on ValidationError { message fields { path message } } } }"""
TEMPLATE = "Gross ${totals_gross}, valid until ${offer_valid_until}."
ITEMS = [{"product": "Licence", "quantity": "1", "unitPrice": "1003.66", "vatRate": "23"}]


async def announced(api: Api, org: Org, locale: str) -> None:
    """The pipeline's own event for the locale, put on the bus as its relay would, applied."""
    envelope = pipeline_events.organization_settings_changed(
        org.id, pipeline_domain.Locale(locale), uuid.uuid4())
    await put_on_bus(api.runtime.broker, envelope)
    await kept(api, org, envelope)


async def kept(api: Api, org: Org, envelope: Envelope) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        async with api.runtime.sessions() as session:
            row = (await session.execute(select(organization_locales).where(
                organization_locales.c.org_id == org.id))).first()
        if row is not None and row.occurred_at >= envelope.occurred_at:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the settings event was not applied")


async def drafted(api: Api, org: Org) -> dict[str, str]:
    admin = org.token("admin")
    template = await make_document(api, admin, await make_folder(api, admin), content=TEMPLATE)
    deal = await opportunity(api, org.id, uuid.uuid4())  # a EUR deal
    result = (await api.data(admin, DRAFT, opportunity=str(deal), template=template,
                             items=ITEMS))["draftOffer"]
    assert result["__typename"] == "OfferPayload", result
    offer: dict[str, str] = result["offer"]
    return offer


async def test_an_english_orgs_offer_shows_english_money_and_dates(api: Api, org: Org) -> None:
    await announced(api, org, "en")
    rep = org.token("rep")
    assert (await api.data(rep, SETTINGS))["offerSettings"] == {"validityDays": 30,
                                                                 "locale": "en"}
    offer = await drafted(api, org)
    valid = date.fromisoformat(offer["validUntil"])
    assert valid == datetime.now(UTC).date() + timedelta(days=30)
    assert offer["content"] == (f"Gross €1,234.50, valid until "
                                f"{valid:%B} {valid.day}, {valid.year}.")


async def test_the_newest_locale_wins_and_a_redelivery_changes_nothing(
    api: Api, org: Org
) -> None:
    await announced(api, org, "en")
    await announced(api, org, "pl")
    stale = pipeline_events.organization_settings_changed(
        org.id, pipeline_domain.Locale.EN, None).model_copy(
        update={"occurred_at": datetime.now(UTC) - timedelta(hours=1)})
    assert await api.deliver(stale)  # applied, but older than the one kept: no change
    assert not await api.deliver(stale)  # the inbox has it: not applied again
    assert (await api.data(org.token("rep"), SETTINGS))["offerSettings"]["locale"] == "pl"
    offer = await drafted(api, org)
    assert offer["content"].startswith("Gross 1\xa0234,50\xa0€, valid until ")


async def test_only_an_admin_sets_the_validity_within_bounds(api: Api, org: Org) -> None:
    admin, manager = org.token("admin"), org.token("manager")
    refused = (await api.data(manager, SET_SETTINGS, days=14))["setOfferSettings"]
    assert refused["__typename"] == "Forbidden"
    for days in (0, 366):
        invalid = (await api.data(admin, SET_SETTINGS, days=days))["setOfferSettings"]
        assert invalid["__typename"] == "ValidationError"
        assert [f["path"] for f in invalid["fields"]] == [["validityDays"]]
    assert (await api.data(admin, SETTINGS))["offerSettings"]["validityDays"] == 30
    saved = (await api.data(admin, SET_SETTINGS, days=14))["setOfferSettings"]
    assert saved["settings"]["validityDays"] == 14
    offer = await drafted(api, org)
    assert date.fromisoformat(offer["validUntil"]) == (
        datetime.now(UTC).date() + timedelta(days=14))

"""The org's offer settings: the validity period an admin sets and the locale the pipeline
announces, both used when an offer is rendered."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from crmkit.contracts import Envelope
from crmkit.contracts.pipeline import OrganizationSettingsChanged
from crmkit.errors import ForbiddenError, InvalidInput
from services.documents import merge as m
from services.documents.handlers import offers as off
from services.documents.handlers import settings as s

from .fakes import fake_uow
from .test_handlers import ADMIN, MANAGER, ORG, paths, person
from .test_offer_handlers import ITEMS, deal, docx_offer_template, docx_text
from .test_rendering import merge


def settings_changed(locale: str, at: datetime) -> Envelope:
    return Envelope.wrap(OrganizationSettingsChanged(locale=locale),  # type: ignore[arg-type]
                         org_id=ORG, aggregate_id=ORG, occurred_at=at)


def test_money_numbers_and_dates_in_each_language_an_org_may_choose() -> None:
    english = merge(locale="en")
    assert english["totals"]["gross"] == "PLN\xa01,373.63"  # type: ignore[index]
    assert english["items"][0]["quantity"] == "1"  # type: ignore[index]
    assert english["offer"]["valid_until"] == "January 5, 2027"  # type: ignore[index]
    assert english["today"] == "December 6, 2026"
    polish = merge(locale="pl")
    assert polish["totals"]["gross"] == "1\xa0373,63\xa0zł"  # type: ignore[index]
    assert polish["items"][0]["unit_price"] == "199,99\xa0zł"  # type: ignore[index]
    assert polish["offer"]["valid_until"] == "5 stycznia 2027"  # type: ignore[index]
    assert polish["totals"]["in_words"].startswith("tysiąc trzysta")  # type: ignore[index]


async def test_only_an_admin_sets_the_validity_within_bounds() -> None:
    uow = fake_uow()
    assert (await s.offer_settings(s.OfferSettingsQuery(person()), uow)).validity_days == 30
    with pytest.raises(ForbiddenError):
        await s.set_offer_settings(s.SetOfferSettings(MANAGER, 14), uow)
    for days in (0, 366, -5):
        with pytest.raises(InvalidInput) as refused:
            await s.set_offer_settings(s.SetOfferSettings(ADMIN, days), uow)
        assert paths(refused.value) == {"validityDays"}
    assert uow._repo.validity_rows == {}
    assert (await s.set_offer_settings(s.SetOfferSettings(ADMIN, 365), uow)).validity_days == 365
    assert (await s.set_offer_settings(s.SetOfferSettings(ADMIN, 14), uow)).validity_days == 14
    other_org = person(org=uuid.uuid4())
    assert (await s.offer_settings(s.OfferSettingsQuery(other_org), uow)).validity_days == 30


async def test_the_newest_announced_locale_is_kept_and_an_older_one_ignored() -> None:
    uow = fake_uow()
    at = datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert (await s.offer_settings(s.OfferSettingsQuery(ADMIN), uow)).locale is None
    assert await s.record_organization_settings(settings_changed("en", at), uow)
    assert not await s.record_organization_settings(
        Envelope.wrap(OrganizationSettingsChanged(locale="pl"), org_id=ORG, aggregate_id=ORG)
        .model_copy(update={"type": "crm.pipeline.pipeline.configured"}), uow)
    assert await s.record_organization_settings(
        settings_changed("pl", at - timedelta(seconds=1)), uow)
    assert (await s.offer_settings(s.OfferSettingsQuery(ADMIN), uow)).locale == "en"
    assert await s.record_organization_settings(settings_changed("pl", at), uow)
    assert (await s.offer_settings(s.OfferSettingsQuery(ADMIN), uow)).locale == "pl"


async def test_a_new_offer_uses_the_orgs_validity_and_locale() -> None:
    uow = fake_uow()
    rep = person()
    template = await docx_offer_template(uow)
    opportunity = await deal(uow, rep)
    await s.set_offer_settings(s.SetOfferSettings(ADMIN, 7), uow)
    await s.record_organization_settings(settings_changed("en", datetime.now(UTC)), uow)
    offer = await off.draft_offer(off.DraftOffer(rep, opportunity, off.OfferContent(
        template_id=template.id, items=ITEMS)), uow)
    assert offer.valid_until == date.today() + timedelta(days=7)
    text = docx_text((await off.offer_download(off.OfferDownload(rep, offer.id), uow)).file.data)
    # 10 x 199.99 + 5000 net, 23% and 8% VAT: 2459.88 + 5400.00 gross
    assert "PLN\xa06,999.90" in text and "PLN\xa07,859.88" in text
    (revision,) = await off.offer_revisions(off.OfferRevisions(rep, offer.id), uow)
    assert revision.merge_data["offer"]["valid_until"] == m.merge_data(
        m.DealFacts(opportunity_id=opportunity), m.OfferFacts(
            number="", title="", revision=1, valid_until=offer.valid_until, currency="PLN",
            today=date.today(), locale="en"), [])["offer"]["valid_until"]
    assert ", 20" in revision.merge_data["offer"]["valid_until"]  # "December 14, 2026"

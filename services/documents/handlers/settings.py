"""The org's settings offers are made with: the validity period of a new offer (an admin sets
it here) and the org's locale (the pipeline announces it; kept from its event)."""

from __future__ import annotations

from crmkit.commands import Command, require_admin
from crmkit.contracts import Envelope
from crmkit.contracts import pipeline as pipeline_contract
from crmkit.errors import ProblemCollector
from services.documents import domain as d
from services.documents.handlers.common import Work, now


class OfferSettingsQuery(Command):
    """A read of the caller's org's offer settings."""


async def offer_settings(query: OfferSettingsQuery, uow: Work) -> d.OfferSettings:
    async with uow:
        return await uow.repo.offer_settings(query.caller.org_id)


class SetOfferSettings(Command):
    validity_days: int


async def set_offer_settings(cmd: SetOfferSettings, uow: Work) -> d.OfferSettings:
    """An admin sets how many days a new offer is valid (1 to 365); offers already drafted
    keep their date."""
    require_admin(cmd.caller, "only admins may change the offer settings")
    problems = ProblemCollector()
    d.check_validity_days(cmd.validity_days, problems)
    problems.raise_if_any()
    async with uow:
        await uow.repo.set_offer_validity(cmd.caller.org_id, cmd.validity_days, now())
        settings = await uow.repo.offer_settings(cmd.caller.org_id)
        await uow.commit()
    return settings


async def record_organization_settings(envelope: Envelope, uow: Work) -> bool:
    """Keep the org's locale from the pipeline's ``organization.settings_changed`` (an older
    event than the one kept changes nothing); False for any other event."""
    if envelope.type != pipeline_contract.OrganizationSettingsChanged.TYPE:
        return False
    event = envelope.parse(pipeline_contract.OrganizationSettingsChanged)
    async with uow:
        await uow.repo.record_locale(envelope.org_id, event.locale, envelope.occurred_at)
        await uow.commit()
    return True

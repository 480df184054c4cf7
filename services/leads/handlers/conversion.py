"""Conversion: a lead becomes a client (account and contact) and a deal for the pipeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crmkit.commands import Command, must_exist
from crmkit.contracts.leads import LeadConverted
from crmkit.errors import ForbiddenError, ProblemCollector
from services.leads import domain, events
from services.leads.domain import LeadStatus
from services.leads.handlers.clients import AccountInput, account_fields
from services.leads.handlers.common import Work, emit, now, visible_lead
from services.leads.records import AccountRecord, ContactRecord, LeadRecord


@dataclass(frozen=True)
class OpportunityInput:
    name: str
    amount: Decimal | str
    currency: str
    expected_close_date: date | None = None


class ConvertLead(Command):
    lead_id: uuid.UUID
    opportunity: OpportunityInput
    account_id: uuid.UUID | None = None
    account: AccountInput | None = None
    """Overrides of the account made from the lead (name, NIP, address, ...)."""


@dataclass(frozen=True)
class Conversion:
    lead: LeadRecord
    account: AccountRecord
    contact: ContactRecord | None
    opportunity_id: uuid.UUID
    account_created: bool


async def convert_lead(cmd: ConvertLead, uow: Work) -> Conversion:
    """Lead -> account (linked when given or matched by NIP/domain, else created) + contact;
    the lead becomes CONVERTED and ``lead.converted`` carries a new opportunity id for the
    pipeline service to create the opportunity with."""
    caller = cmd.caller
    problems = ProblemCollector()
    # The rules of the contract's fields: the pipeline accepts the event this builds.
    opportunity_name = domain.validate_deal_name(cmd.opportunity.name, problems,
                                                 "opportunity.name")
    money = domain.validate_money(
        cmd.opportunity.amount, cmd.opportunity.currency, problems, "opportunity."
    )
    problems.raise_if_any()
    assert opportunity_name is not None and money is not None

    async with uow:
        repo = uow.repo
        lead = await visible_lead(repo, caller, cmd.lead_id)
        if (lead.owner_id is not None and lead.owner_id != caller.member_id
                and not caller.is_manager):
            raise ForbiddenError("only the lead's owner or their manager may convert it")
        domain.check_may_work_on(caller, lead.owner_id, "converting it")
        domain.check_convertible(lead.lead_status)
        owner_id = lead.owner_id or caller.member_id
        owner_team = lead.owner_team if lead.owner_id else caller.team

        account_created = False
        if cmd.account_id is not None:
            found = must_exist(
                await repo.get_account(caller.org_id, cmd.account_id), "Account", cmd.account_id
            )
            account = found
        else:
            overrides = cmd.account or AccountInput()
            fields = account_fields(AccountInput(
                name=overrides.name or lead.company or lead.contact_name,
                domain=overrides.domain or lead.domain,
                website=overrides.website,
                nip=overrides.nip,
                address=overrides.address,
            ), "account.")
            matched = await repo.find_account(caller.org_id, nip=fields.nip,
                                              domain=fields.domain)
            if matched is not None:
                account = matched
            else:
                account = await repo.insert_account({
                    "id": uuid.uuid4(), "org_id": caller.org_id, "name": fields.name,
                    "domain": fields.domain, "nip": fields.nip, "address": fields.address,
                    "owner_id": owner_id, "owner_team": owner_team,
                })
                account_created = True
                emit(uow, caller, caller.org_id, account.id, account.version,
                     events.account_created(account, lead.id))

        contact = None
        if lead.contact_name or lead.email or lead.phone:
            contact = await repo.insert_contact({
                "id": uuid.uuid4(), "org_id": caller.org_id, "account_id": account.id,
                "name": lead.contact_name or lead.email or lead.phone, "email": lead.email,
                "phone": lead.phone, "lead_id": lead.id,
            })
            emit(uow, caller, caller.org_id, contact.id, contact.version,
                 events.contact_created(contact))

        opportunity_id = uuid.uuid4()
        previous = lead
        at = now()
        lead = await repo.update_lead(caller.org_id, lead.id, {
            "status": LeadStatus.CONVERTED.value, "status_changed_at": at,
            "last_activity_at": at, "owner_id": owner_id, "owner_team": owner_team,
            "account_id": account.id, "contact_id": contact.id if contact else None,
            "opportunity_id": opportunity_id,
        })
        emit(uow, caller, caller.org_id, lead.id, lead.version, LeadConverted(
            lead_id=lead.id, opportunity_id=opportunity_id, name=opportunity_name,
            amount=money.amount, currency=money.currency.code,
            expected_close_date=cmd.opportunity.expected_close_date, account_id=account.id,
            contact_id=contact.id if contact else None, owner_id=owner_id, team=owner_team,
            status=lead.status, previous_status=previous.status,
            previous_owner_id=previous.owner_id if previous.owner_id != owner_id else None,
            account_created=account_created, company=lead.company,
            converted_by=caller.member_id,
        ))
        await uow.commit()
    return Conversion(lead, account, contact, opportunity_id, account_created)

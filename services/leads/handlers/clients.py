"""Clients: accounts (companies) and their contacts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from crmkit.commands import ById, Command, must_exist
from crmkit.errors import InvalidInput, ProblemCollector
from crmkit.paging import Page, page_of, page_request
from crmkit.values import SEARCH_MAX
from services.leads import domain, events, normalise
from services.leads.handlers.common import Work, check_version, emit
from services.leads.ports import LeadsRepository
from services.leads.records import AccountRecord, ContactRecord


@dataclass(frozen=True)
class AccountInput:
    name: str | None = None
    domain: str | None = None
    website: str | None = None
    nip: str | None = None
    address: str | None = None


def account_fields(data: AccountInput, prefix: str) -> domain.AccountFields:
    problems = ProblemCollector()
    fields = domain.build_account_fields(
        name=data.name, domain=data.domain, website=data.website, nip=data.nip,
        address=data.address, problems=problems, prefix=prefix,
    )
    problems.raise_if_any()
    return fields


async def _ensure_nip_free(
    repo: LeadsRepository, org_id: uuid.UUID, nip: str | None, exclude: uuid.UUID | None = None
) -> None:
    if nip is not None and await repo.nip_taken(org_id, nip, exclude=exclude):
        raise InvalidInput.field("input.nip", "another account already has this NIP")


class CreateAccount(Command):
    data: AccountInput


async def create_account(cmd: CreateAccount, uow: Work) -> AccountRecord:
    caller = cmd.caller
    fields = account_fields(cmd.data, "input.")
    async with uow:
        await _ensure_nip_free(uow.repo, caller.org_id, fields.nip)
        account = await uow.repo.insert_account({
            "id": uuid.uuid4(), "org_id": caller.org_id, "name": fields.name,
            "domain": fields.domain, "nip": fields.nip, "address": fields.address,
            "owner_id": caller.member_id, "owner_team": caller.team,
        })
        emit(uow, caller, caller.org_id, account.id, account.version,
             events.account_created(account, None))
        await uow.commit()
        return account


class UpdateAccount(Command):
    account_id: uuid.UUID
    data: AccountInput
    expected_version: int | None = None


async def update_account(cmd: UpdateAccount, uow: Work) -> AccountRecord:
    """Replace an account's fields: its owner, a manager of the owner's team, or an admin."""
    caller = cmd.caller
    async with uow:
        account = must_exist(
            await uow.repo.get_account(caller.org_id, cmd.account_id, lock=True),
            "Account", cmd.account_id
        )
        domain.check_may_change_account(caller, account.owner_id, account.owner_team)
        check_version("Account", cmd.expected_version, account.version)
        fields = account_fields(cmd.data, "input.")
        await _ensure_nip_free(uow.repo, caller.org_id, fields.nip, exclude=account.id)
        values = {"name": fields.name, "domain": fields.domain, "nip": fields.nip,
                  "address": fields.address}
        changed = [k for k, v in values.items() if getattr(account, k) != v]
        if not changed:
            return account
        account = await uow.repo.update_account(caller.org_id, account.id, values)
        emit(uow, caller, caller.org_id, account.id, account.version,
             events.account_updated(account, changed))
        await uow.commit()
        return account


@dataclass(frozen=True)
class ContactInput:
    name: str | None
    email: str | None = None
    phone: str | None = None
    position: str | None = None


class CreateContact(Command):
    account_id: uuid.UUID
    data: ContactInput


def _contact_values(data: ContactInput, region: str, prefix: str) -> dict[str, Any]:
    problems = ProblemCollector()
    values: dict[str, Any] = {}
    for name, raw, length in (("name", data.name, 300), ("position", data.position, 200)):
        try:
            values[name] = normalise.clean_text(raw, max_length=length)
        except normalise.NormalisationError as error:
            problems.add(prefix + name, str(error))
    if values.get("name") is None:
        problems.add(prefix + "name", "is required")
    try:
        values["email"] = normalise.normalise_email(data.email)
    except normalise.NormalisationError as error:
        problems.add(prefix + "email", str(error))
    try:
        values["phone"] = normalise.normalise_phone(data.phone, region)
    except normalise.NormalisationError as error:
        problems.add(prefix + "phone", str(error))
    problems.raise_if_any()
    return values


async def create_contact(cmd: CreateContact, uow: Work) -> ContactRecord:
    caller = cmd.caller
    async with uow:
        account = must_exist(
            await uow.repo.get_account(caller.org_id, cmd.account_id), "Account", cmd.account_id
        )
        domain.check_may_change_account(caller, account.owner_id, account.owner_team)
        settings = await uow.repo.org_settings(caller.org_id)
        values = _contact_values(cmd.data, settings.default_region, "input.")
        contact = await uow.repo.insert_contact(
            {"id": uuid.uuid4(), "org_id": caller.org_id, "account_id": account.id, **values}
        )
        emit(uow, caller, caller.org_id, contact.id, contact.version,
             events.contact_created(contact))
        await uow.commit()
        return contact


class UpdateContact(Command):
    contact_id: uuid.UUID
    data: ContactInput
    expected_version: int | None = None


class RemoveContact(Command):
    contact_id: uuid.UUID
    expected_version: int | None = None


async def _changeable_contact(
    uow: Work, cmd: UpdateContact | RemoveContact
) -> ContactRecord:
    """The contact, locked, when the caller may change its account (as for adding one) and
    holds its current version."""
    caller = cmd.caller
    contact = must_exist(
        await uow.repo.get_contact(caller.org_id, cmd.contact_id, lock=True),
        "Contact", cmd.contact_id
    )
    account = must_exist(
        await uow.repo.get_account(caller.org_id, contact.account_id), "Account",
        contact.account_id
    )
    domain.check_may_change_account(caller, account.owner_id, account.owner_team)
    check_version("Contact", cmd.expected_version, contact.version)
    return contact


async def update_contact(cmd: UpdateContact, uow: Work) -> ContactRecord:
    """Replace a contact's fields (an empty one clears it; the name stays required)."""
    caller = cmd.caller
    async with uow:
        contact = await _changeable_contact(uow, cmd)
        settings = await uow.repo.org_settings(caller.org_id)
        values = _contact_values(cmd.data, settings.default_region, "input.")
        changed = [k for k, v in values.items() if getattr(contact, k) != v]
        if not changed:
            return contact
        contact = await uow.repo.update_contact(caller.org_id, contact.id, values)
        emit(uow, caller, caller.org_id, contact.id, contact.version,
             events.contact_updated(contact, changed))
        await uow.commit()
        return contact


async def remove_contact(cmd: RemoveContact, uow: Work) -> ContactRecord:
    """Delete a contact person for good (they left the client, or asked to be forgotten):
    the row goes, and ``contact.removed`` (which carries none of their details) tells the
    services holding a copy to drop it. A lead converted into them keeps the id only."""
    caller = cmd.caller
    async with uow:
        contact = await _changeable_contact(uow, cmd)
        await uow.repo.delete_contact(caller.org_id, contact.id)
        emit(uow, caller, caller.org_id, contact.id, contact.version + 1,
             events.contact_removed(contact))
        await uow.commit()
        return contact


class ListClients(Command):
    """A page of the org's clients or of their people (everyone in the org sees both),
    newest first; ``search`` narrows it."""

    first: int | None = None
    after: str | None = None
    search: str | None = None

    def searched(self) -> str | None:
        search = self.search.strip() if self.search else None
        if search is not None and len(search) > SEARCH_MAX:
            raise InvalidInput.field("search", f"must be at most {SEARCH_MAX} characters")
        return search or None


class ListAccounts(ListClients):
    pass


async def list_accounts(cmd: ListAccounts, uow: Work) -> Page[AccountRecord]:
    """Accounts found by name, domain, NIP or a contact person's name or email."""
    search, request = cmd.searched(), page_request(cmd.first, cmd.after)
    async with uow:
        rows = await uow.repo.list_accounts(cmd.caller.org_id, request, search)
    return page_of(rows, request, lambda r: (r.created_at, r.id))


class ListContacts(ListClients):
    pass


async def list_contacts(cmd: ListContacts, uow: Work) -> Page[ContactRecord]:
    """Contact people found by name or email."""
    search, request = cmd.searched(), page_request(cmd.first, cmd.after)
    async with uow:
        rows = await uow.repo.contact_page(cmd.caller.org_id, request, search)
    return page_of(rows, request, lambda r: (r.created_at, r.id))


async def accounts_by_id(cmd: ById, uow: Work) -> dict[uuid.UUID, AccountRecord]:
    async with uow:
        found = await uow.repo.accounts_by_id(cmd.caller.org_id, cmd.ids)
    return {r.id: r for r in found}


async def contacts_by_id(cmd: ById, uow: Work) -> dict[uuid.UUID, ContactRecord]:
    async with uow:
        found = await uow.repo.list_contacts(cmd.caller.org_id, ids=cmd.ids, limit=len(cmd.ids))
    return {r.id: r for r in found}


async def contacts_of_accounts(cmd: ById, uow: Work) -> dict[uuid.UUID, list[ContactRecord]]:
    """Each account's contacts (at most 200 each), oldest first."""
    result: dict[uuid.UUID, list[ContactRecord]] = {i: [] for i in cmd.ids}
    async with uow:
        for account_id in cmd.ids:
            result[account_id] = await uow.repo.list_contacts(
                cmd.caller.org_id, account_id=account_id)
    return result

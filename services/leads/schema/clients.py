"""Clients in GraphQL: accounts, contacts, and converting a lead into a client and a deal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry

from crmkit.graphql import (
    Connection,
    Forbidden,
    NotFound,
    ValidationError,
    VersionConflict,
    parse_uuid,
)
from crmkit.results import answer_query
from services.leads.handlers import clients as h
from services.leads.handlers import conversion
from services.leads.schema.context import Info, caller, uow
from services.leads.schema.results import ACCOUNT, COMMON, CONVERT, InvalidLeadState
from services.leads.schema.types import (
    Account,
    Contact,
    Lead,
    gql_id,
)


@strawberry.type
class ConvertLeadPayload:
    lead: Lead
    account: Account
    contact: Contact | None
    opportunity_id: strawberry.ID = strawberry.field(
        description="Allocated here; the pipeline service creates the opportunity with it "
        "from the crm.leads.lead.converted event."
    )
    account_created: bool


@strawberry.type
class AccountPayload:
    account: Account


@strawberry.type
class ContactPayload:
    contact: Contact


ConvertLeadResult = Annotated[
    ConvertLeadPayload | InvalidLeadState | ValidationError | NotFound | Forbidden,
    strawberry.union("ConvertLeadResult"),
]
AccountResult = Annotated[
    AccountPayload | ValidationError | NotFound | Forbidden | VersionConflict,
    strawberry.union("AccountResult"),
]
ContactResult = Annotated[
    ContactPayload | ValidationError | NotFound | Forbidden, strawberry.union("ContactResult")
]


@strawberry.type
class RemoveContactPayload:
    contact_id: strawberry.ID
    account: Account | None = strawberry.field(
        description="The account the contact belonged to, without them.")


UpdateContactResult = Annotated[
    ContactPayload | ValidationError | NotFound | Forbidden | VersionConflict,
    strawberry.union("UpdateContactResult"),
]
RemoveContactResult = Annotated[
    RemoveContactPayload | ValidationError | NotFound | Forbidden | VersionConflict,
    strawberry.union("RemoveContactResult"),
]


@strawberry.input
class OpportunityInput:
    name: str
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217, e.g. PLN.")
    expected_close_date: date | None = None


@strawberry.input
class AccountInput:
    name: str | None = None
    domain: str | None = None
    website: str | None = None
    nip: str | None = strawberry.field(default=None, description="Checked by its checksum.")
    address: str | None = None

    def data(self) -> h.AccountInput:
        return h.AccountInput(name=self.name, domain=self.domain, website=self.website,
                              nip=self.nip, address=self.address)


@strawberry.input
class ContactInput:
    name: str
    email: str | None = None
    phone: str | None = None
    position: str | None = None

    def data(self) -> h.ContactInput:
        return h.ContactInput(self.name, self.email, self.phone, self.position)


@strawberry.type
class ClientsQuery:
    @strawberry.field
    async def account(self, info: Info, id: strawberry.ID) -> Account | None:
        found: Account | None = await Account.resolve_reference(info, id)
        return found

    @strawberry.field(description="The org's client companies, newest first; `search` finds "
                      "them by name or domain, or a contact person's name or email (any case, "
                      "with or without Polish letters), or by NIP digits.")  # type: ignore[untyped-decorator]
    async def accounts(
        self, info: Info, first: int | None = None, after: str | None = None,
        search: str | None = None,
    ) -> Connection[Account]:
        async def run() -> Connection[Account]:
            page = await h.list_accounts(
                h.ListAccounts(await caller(info), first, after, search), uow(info))
            return Connection.of(page, Account.of)

        return await answer_query(run())

    @strawberry.field
    async def contact(self, info: Info, id: strawberry.ID) -> Contact | None:
        found: Contact | None = await Contact.resolve_reference(info, id)
        return found

    @strawberry.field(description="The org's contact people at its clients, newest first; "
                      "`search` finds them by name or email (any case, with or without Polish "
                      "letters).")  # type: ignore[untyped-decorator]
    async def contacts(
        self, info: Info, first: int | None = None, after: str | None = None,
        search: str | None = None,
    ) -> Connection[Contact]:
        async def run() -> Connection[Contact]:
            page = await h.list_contacts(
                h.ListContacts(await caller(info), first, after, search), uow(info))
            return Connection.of(page, Contact.of)

        return await answer_query(run())


@strawberry.type
class ClientsMutation:
    @strawberry.mutation(description="Lead -> client: links `accountId` (or an account with "
                         "the same NIP or domain) or creates one, adds a contact, marks the "
                         "lead CONVERTED and announces a new opportunity id.")  # type: ignore[untyped-decorator]
    async def convert_lead(
        self, info: Info, id: strawberry.ID, opportunity: OpportunityInput,
        account_id: strawberry.ID | None = None, account: AccountInput | None = None,
    ) -> ConvertLeadResult:
        async def run() -> ConvertLeadPayload:
            cmd = conversion.ConvertLead(
                await caller(info), parse_uuid(id),
                conversion.OpportunityInput(opportunity.name, opportunity.amount,
                                            opportunity.currency,
                                            opportunity.expected_close_date),
                parse_uuid(account_id, "accountId") if account_id else None,
                account.data() if account else None,
            )
            result = await conversion.convert_lead(cmd, uow(info))
            return ConvertLeadPayload(
                lead=Lead.of(result.lead), account=Account.of(result.account),
                contact=Contact.of(result.contact) if result.contact else None,
                opportunity_id=gql_id(result.opportunity_id),
                account_created=result.account_created,
            )

        return await CONVERT.answer(run())

    @strawberry.mutation
    async def create_account(self, info: Info, input: AccountInput) -> AccountResult:
        async def run() -> AccountPayload:
            account = await h.create_account(h.CreateAccount(await caller(info), input.data()),
                                             uow(info))
            return AccountPayload(account=Account.of(account))

        return await ACCOUNT.answer(run())

    @strawberry.mutation(description="Replace an account's fields.")  # type: ignore[untyped-decorator]
    async def update_account(
        self, info: Info, id: strawberry.ID, input: AccountInput, version: int | None = None,
    ) -> AccountResult:
        async def run() -> AccountPayload:
            account = await h.update_account(h.UpdateAccount(
                await caller(info), parse_uuid(id), input.data(), version), uow(info))
            return AccountPayload(account=Account.of(account))

        return await ACCOUNT.answer(run())

    @strawberry.mutation
    async def create_contact(
        self, info: Info, account_id: strawberry.ID, input: ContactInput
    ) -> ContactResult:
        async def run() -> ContactPayload:
            contact = await h.create_contact(h.CreateContact(
                await caller(info), parse_uuid(account_id, "accountId"),
                input.data(),
            ), uow(info))
            return ContactPayload(contact=Contact.of(contact))

        return await COMMON.answer(run())

    @strawberry.mutation(description="Replace a contact's fields (an omitted or empty one "
                         "is cleared), by whoever may change the account.")  # type: ignore[untyped-decorator]
    async def update_contact(
        self, info: Info, id: strawberry.ID, input: ContactInput, version: int | None = None,
    ) -> UpdateContactResult:
        async def run() -> ContactPayload:
            contact = await h.update_contact(h.UpdateContact(
                await caller(info), parse_uuid(id), input.data(), version), uow(info))
            return ContactPayload(contact=Contact.of(contact))

        return await ACCOUNT.answer(run())

    @strawberry.mutation(description="Delete a contact person for good (they left the "
                         "client, or asked to be forgotten), by whoever may change the "
                         "account.")  # type: ignore[untyped-decorator]
    async def remove_contact(
        self, info: Info, id: strawberry.ID, version: int | None = None,
    ) -> RemoveContactResult:
        async def run() -> RemoveContactPayload:
            contact = await h.remove_contact(h.RemoveContact(
                await caller(info), parse_uuid(id), version), uow(info))
            account: Account | None = await Account.resolve_reference(
                info, gql_id(contact.account_id))
            return RemoveContactPayload(contact_id=gql_id(contact.id), account=account)

        return await ACCOUNT.answer(run())

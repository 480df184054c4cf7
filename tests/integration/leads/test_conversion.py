import uuid
from decimal import Decimal

import pytest

from crmkit.contracts.leads import AccountCreated, ContactCreated, LeadConverted

from .queries import CLAIM, CONVERT, CREATE_LEAD, LEAD

pytestmark = pytest.mark.integration

OPPORTUNITY = {"name": "Pilot", "amount": "12500.50", "currency": "pln",
               "expectedCloseDate": "2030-03-31"}


async def claimed_lead(svc, token, **fields):
    data = await svc.data(token, CREATE_LEAD, input={"company": "Delta Sp. z o.o.",
                                                      "contactName": "Ewa Nowak",
                                                      "email": "ewa@delta.pl", **fields},
                         allow=True)
    lead_id = data["createLead"]["lead"]["id"]
    await svc.data(token, CLAIM, id=lead_id)
    return lead_id


async def test_convert_creates_account_contact_and_announces_opportunity(leads_service, org):
    member_id = uuid.uuid4()
    token = org.token("rep", member_id=member_id, team="alpha")
    lead_id = await claimed_lead(leads_service, token)
    result = (await leads_service.data(
        token, CONVERT, id=lead_id, opp=OPPORTUNITY, account={"nip": "123-456-32-18"}
    ))["convertLead"]
    assert result["__typename"] == "ConvertLeadPayload"
    assert result["lead"]["status"] == "CONVERTED" and result["accountCreated"] is True
    assert (result["account"]["name"], result["account"]["domain"], result["account"]["nip"]) == (
        "Delta Sp. z o.o.", "delta.pl", "1234563218"
    )
    assert result["contact"]["name"] == "Ewa Nowak"
    assert result["account"]["contacts"] == [
        {"id": result["contact"]["id"], "name": "Ewa Nowak", "email": "ewa@delta.pl"}
    ]
    [event] = await leads_service.events(org_id=org.id, type=LeadConverted.TYPE)
    converted = event.parse(LeadConverted)
    assert str(converted.opportunity_id) == result["opportunityId"] == (
        result["lead"]["opportunityId"])
    assert (converted.amount, converted.currency, converted.owner_id, converted.team) == (
        Decimal("12500.50"), "PLN", member_id, "alpha"
    )
    assert str(converted.account_id) == result["account"]["id"]
    [created] = await leads_service.events(org_id=org.id, type=AccountCreated.TYPE)
    assert created.parse(AccountCreated).source_lead_id == uuid.UUID(lead_id)
    [contact] = await leads_service.events(org_id=org.id, type=ContactCreated.TYPE)
    assert contact.parse(ContactCreated) == ContactCreated(
        contact_id=uuid.UUID(result["contact"]["id"]), account_id=converted.account_id,
        name="Ewa Nowak", email="ewa@delta.pl", lead_id=uuid.UUID(lead_id))
    assert converted.contact_id == contact.aggregate_id

    again = (await leads_service.data(token, CONVERT, id=lead_id, opp=OPPORTUNITY))["convertLead"]
    assert again["__typename"] == "InvalidLeadState"
    assert len(await leads_service.events(org_id=org.id, type=LeadConverted.TYPE)) == 1

    # A second lead of the same company links the existing account (matched by domain).
    second = await claimed_lead(leads_service, token, email="jan@delta.pl", contactName="Jan")
    linked = (await leads_service.data(token, CONVERT, id=second, opp=OPPORTUNITY))["convertLead"]
    assert linked["accountCreated"] is False
    assert linked["account"]["id"] == result["account"]["id"]
    assert len(await leads_service.events(org_id=org.id, type=AccountCreated.TYPE)) == 1


@pytest.mark.parametrize(
    ("opportunity", "account", "path"),
    [
        ({**OPPORTUNITY, "amount": "-5"}, None, ["opportunity", "amount"]),
        ({**OPPORTUNITY, "currency": "zloty"}, None, ["opportunity", "currency"]),
        ({**OPPORTUNITY, "name": " "}, None, ["opportunity", "name"]),
        (OPPORTUNITY, {"nip": "1234563219"}, ["account", "nip"]),
        # What the pipeline's lead.converted consumer refuses (the lost conversion):
        ({**OPPORTUNITY, "amount": "10.005"}, None, ["opportunity", "amount"]),
        ({**OPPORTUNITY, "amount": "10.5", "currency": "JPY"}, None, ["opportunity", "amount"]),
        ({**OPPORTUNITY, "currency": "ABC"}, None, ["opportunity", "currency"]),
        ({**OPPORTUNITY, "name": "P" * 201}, None, ["opportunity", "name"]),
    ],
)
async def test_bad_conversion_input_changes_nothing(leads_service, org, opportunity, account,
                                                    path):
    token = org.token("rep")
    lead_id = await claimed_lead(leads_service, token)
    result = (await leads_service.data(token, CONVERT, id=lead_id, opp=opportunity,
                                      account=account))["convertLead"]
    assert result["__typename"] == "ValidationError"
    assert path in [f["path"] for f in result["fields"]]
    assert await leads_service.events(org_id=org.id, type=LeadConverted.TYPE) == []
    assert await leads_service.events(org_id=org.id, type=AccountCreated.TYPE) == []
    lead = (await leads_service.data(token, LEAD, id=lead_id))["lead"]
    assert (lead["status"], lead["opportunityId"], lead["accountId"]) == ("ASSIGNED", None, None)


@pytest.mark.parametrize("name", ["Pilot\u0000deal", "Pilot\u0007"])
async def test_a_deal_name_with_a_control_character_is_refused_and_changes_nothing(
    leads_service, org, name
):
    """The kit answers control characters in a mutation's arguments with its
    ValidationError member before the resolver runs (the use case's own rule, the
    pipeline's, is in the handler unit tests)."""
    token = org.token("rep")
    lead_id = await claimed_lead(leads_service, token)
    answer = (await leads_service.data(token, CONVERT, id=lead_id, opp={**OPPORTUNITY,
                                                                         "name": name}))[
        "convertLead"]
    assert answer["__typename"] == "ValidationError", answer
    assert [f["path"] for f in answer["fields"]] == [["opportunity", "name"]]
    assert await leads_service.events(org_id=org.id, type=LeadConverted.TYPE) == []
    lead = (await leads_service.data(token, LEAD, id=lead_id))["lead"]
    assert (lead["status"], lead["opportunityId"]) == ("ASSIGNED", None)


async def test_convert_to_a_given_account(leads_service, org):
    token = org.token("rep")
    created = await leads_service.data(token, """
        mutation { createAccount(input: {name: "Omega", website: "https://omega.com"}) {
          ... on AccountPayload { account { id domain } } } }""")
    account_id = created["createAccount"]["account"]["id"]
    lead_id = await claimed_lead(leads_service, token, email="x@elsewhere.pl")
    result = (await leads_service.data(token, CONVERT, id=lead_id, opp=OPPORTUNITY,
                                      accountId=account_id))["convertLead"]
    assert result["account"]["id"] == account_id and result["accountCreated"] is False
    missing = (await leads_service.data(token, CONVERT, id=await claimed_lead(
        leads_service, token), opp=OPPORTUNITY, accountId=str(uuid.uuid4())))["convertLead"]
    assert missing["__typename"] == "NotFound"

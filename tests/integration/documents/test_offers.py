"""Offers: rendered from a template version, kept with the opportunity, seen by those who
see the opportunity (per the local read model of the pipeline's events)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import select

from crmkit.contracts import Envelope
from crmkit.contracts.pipeline import OpportunityUpdated
from crmkit.testing.bus import publish as put_on_bus
from crmkit.testing.plugin import Org
from services.documents.tables import opportunity_access

from .conftest import (
    ADD_VERSION,
    ISSUE_OFFER,
    OFFER_VALUES,
    OFFERS,
    Api,
    deliver,
    make_document,
    make_folder,
    opportunity,
    opportunity_created,
)

pytestmark = pytest.mark.integration

OFFER = "query($id: ID!) { offer(id: $id) { id title content } }"
ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    __typename
    ... on Opportunity { id offers { id title } }
    ... on Offer { id title }
    ... on Document { id name }
  }
}"""


async def _template(api: Api, org: Org) -> str:
    admin = org.token("admin")
    return await make_document(api, admin, await make_folder(api, admin), name="Standard offer")


async def test_an_offer_is_rendered_from_the_templates_latest_or_chosen_version(
    api: Api, org: Org
) -> None:
    admin = org.token("admin")
    template_id = await _template(api, org)
    await api.data(admin, ADD_VERSION, id=template_id, content="v2 for ${client}")
    opportunity_id = str(uuid.uuid4())

    latest = (
        await api.data(
            admin,
            ISSUE_OFFER,
            opportunity=opportunity_id,
            template=template_id,
            values=OFFER_VALUES,
            amount="1200.50",
            currency="eur",
        )
    )["issueOffer"]
    assert latest["__typename"] == "IssueOfferPayload", latest
    assert latest["offer"]["content"] == "v2 for ACME"
    assert latest["offer"]["templateVersion"] == 2
    assert latest["offer"]["title"] == "Standard offer"
    assert (latest["offer"]["amount"], latest["offer"]["currency"]) == ("1200.50", "EUR")

    first = (
        await api.data(
            admin,
            ISSUE_OFFER,
            opportunity=opportunity_id,
            template=template_id,
            values=OFFER_VALUES,
            templateVersion=1,
            title="First draft",
        )
    )["issueOffer"]["offer"]
    assert first["content"] == "Offer for ACME: CRM at 1 200 EUR."
    assert (first["templateVersion"], first["title"], first["amount"]) == (1, "First draft", None)

    listed = (await api.data(admin, OFFERS, opportunity=opportunity_id))["offers"]
    assert [o["id"] for o in listed] == [first["id"], latest["offer"]["id"]]


async def test_missing_values_are_all_reported_and_nothing_is_written(api: Api, org: Org) -> None:
    admin = org.token("admin")
    template_id = await _template(api, org)
    before = len(await api.events(org_id=org.id))
    result = (
        await api.data(
            admin,
            ISSUE_OFFER,
            opportunity=str(uuid.uuid4()),
            template=template_id,
            values=[{"name": "product", "value": "CRM"}],
        )
    )["issueOffer"]
    assert result["__typename"] == "ValidationError"
    assert sorted(f["path"] for f in result["fields"]) == [
        ["values", "client"],
        ["values", "price"],
    ]
    assert len(await api.events(org_id=org.id)) == before


async def test_only_an_offer_template_the_caller_sees_renders(api: Api, org: Org) -> None:
    admin = org.token("admin")
    folder_id = await make_folder(api, admin)
    nda = await make_document(api, admin, folder_id, kind="NDA", content="NDA ${client}")
    hidden = await make_document(api, admin, folder_id, groups=["legal"])
    rep = org.token("rep")
    opportunity = str(uuid.uuid4())
    wrong_kind = (
        await api.data(rep, ISSUE_OFFER, opportunity=opportunity, template=nda, values=OFFER_VALUES)
    )["issueOffer"]
    assert wrong_kind["__typename"] == "ValidationError"
    assert wrong_kind["fields"] == [{"path": ["templateId"], "message": "is not an offer template"}]
    invisible = (
        await api.data(
            rep, ISSUE_OFFER, opportunity=opportunity, template=hidden, values=OFFER_VALUES
        )
    )["issueOffer"]
    assert (invisible["__typename"], invisible["entity"]) == ("NotFound", "Document")
    too_new = (
        await api.data(
            rep,
            ISSUE_OFFER,
            opportunity=opportunity,
            template=await _template(api, org),
            values=OFFER_VALUES,
            templateVersion=2,
        )
    )["issueOffer"]
    assert too_new["fields"][0]["path"] == ["templateVersion"]


async def test_offer_visibility_follows_the_opportunity_owner_and_team(api: Api, org: Org) -> None:
    owner_id, teammate_id = uuid.uuid4(), uuid.uuid4()
    owner = org.token("rep", member_id=owner_id, team="alpha")
    teammate = org.token("rep", member_id=teammate_id, team="alpha")
    alpha_manager = org.token("manager", team="alpha")
    beta_manager = org.token("manager", team="beta")
    admin = org.token("admin", team=None)
    template_id = await _template(api, org)
    opportunity_id = await opportunity(api, org.id, owner_id, "alpha")

    issued = (
        await api.data(
            owner,
            ISSUE_OFFER,
            opportunity=str(opportunity_id),
            template=template_id,
            values=OFFER_VALUES,
        )
    )["issueOffer"]["offer"]
    refused = (
        await api.data(
            teammate,
            ISSUE_OFFER,
            opportunity=str(opportunity_id),
            template=template_id,
            values=OFFER_VALUES,
        )
    )["issueOffer"]
    assert refused["__typename"] == "Forbidden"

    expected = {owner: True, teammate: False, alpha_manager: True, beta_manager: False, admin: True}
    for token, sees in expected.items():
        listed = (await api.data(token, OFFERS, opportunity=str(opportunity_id)))["offers"]
        assert [o["id"] for o in listed] == ([issued["id"]] if sees else [])
        found = (await api.data(token, OFFER, id=issued["id"]))["offer"]
        assert (found is not None) is sees

    # The opportunity moves to the teammate: the offer goes with it.
    moved = OpportunityUpdated(
        **{
            **opportunity_created(opportunity_id, teammate_id, "alpha").model_dump(),
            "changed": ["owner_id"],
        }
    )
    await deliver(api, moved, org.id, opportunity_id, 2)
    assert (await api.data(teammate, OFFERS, opportunity=str(opportunity_id)))["offers"]
    assert not (await api.data(owner, OFFERS, opportunity=str(opportunity_id)))["offers"]
    # A late, older event changes nothing.
    await deliver(api,
        opportunity_created(opportunity_id, owner_id, "alpha"), org.id, opportunity_id, 1
    )
    assert not (await api.data(owner, OFFERS, opportunity=str(opportunity_id)))["offers"]


async def test_an_opportunity_not_known_yet_shows_offers_to_issuers_and_managers(
    api: Api, org: Org
) -> None:
    issuer, other = org.token("rep"), org.token("rep")
    template_id = await _template(api, org)
    opportunity = str(uuid.uuid4())
    issued = (
        await api.data(
            issuer, ISSUE_OFFER, opportunity=opportunity, template=template_id, values=OFFER_VALUES
        )
    )["issueOffer"]["offer"]
    assert [
        o["id"] for o in (await api.data(issuer, OFFERS, opportunity=opportunity))["offers"]
    ] == [issued["id"]]
    assert (await api.data(other, OFFERS, opportunity=opportunity))["offers"] == []
    manager = org.token("manager", team="gamma")
    assert len((await api.data(manager, OFFERS, opportunity=opportunity))["offers"]) == 1


async def test_the_opportunity_entity_contributes_its_offers(api: Api, org: Org) -> None:
    admin = org.token("admin")
    template_id = await _template(api, org)
    opportunity = str(uuid.uuid4())
    offer = (
        await api.data(
            admin, ISSUE_OFFER, opportunity=opportunity, template=template_id, values=OFFER_VALUES
        )
    )["issueOffer"]["offer"]
    entities = (
        await api.data(
            admin,
            ENTITIES,
            reps=[
                {"__typename": "Opportunity", "id": opportunity},
                {"__typename": "Offer", "id": offer["id"]},
                {"__typename": "Document", "id": template_id},
                {"__typename": "Document", "id": "not-a-uuid"},
            ],
        )
    )["_entities"]
    assert entities == [
        {
            "__typename": "Opportunity",
            "id": opportunity,
            "offers": [{"id": offer["id"], "title": "Standard offer"}],
        },
        {"__typename": "Offer", "id": offer["id"], "title": "Standard offer"},
        {"__typename": "Document", "id": template_id, "name": "Standard offer"},
        None,
    ]


async def test_opportunity_events_on_the_bus_feed_the_read_model(api: Api, org: Org) -> None:
    opportunity_id, owner_id = uuid.uuid4(), uuid.uuid4()
    envelope = Envelope.wrap(
        opportunity_created(opportunity_id, owner_id, "alpha"),
        org_id=org.id,
        aggregate_id=opportunity_id,
        aggregate_version=1,
    )
    broker = api.runtime.broker
    await put_on_bus(broker, envelope)
    deadline = time.monotonic() + 30
    row = None
    while row is None and time.monotonic() < deadline:
        async with api.runtime.sessions() as session:
            row = (
                await session.execute(
                    select(opportunity_access).where(
                        opportunity_access.c.org_id == org.id,
                        opportunity_access.c.opportunity_id == opportunity_id,
                    )
                )
            ).first()
        if row is None:
            await asyncio.sleep(0.05)
    assert row is not None, "the opportunity event was not applied"
    assert (row.owner_id, row.team, row.aggregate_version) == (owner_id, "alpha", 1)

"""Every mutation writes its events once, with the change, and the relay puts them on the bus
once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from sqlalchemy import func, select

from crmkit.contracts import Envelope
from crmkit.contracts.documents import DocumentCreated, OfferIssued
from crmkit.testing.plugin import Org
from services.documents.tables import outbox

from .conftest import (
    ADD_VERSION,
    CREATE_FOLDER,
    ISSUE_OFFER,
    OFFER_VALUES,
    SET_DOCUMENT_ACCESS,
    SET_FOLDER_ACCESS,
    Api,
    make_document,
    make_folder,
)

pytestmark = pytest.mark.integration


async def test_each_mutation_emits_its_events_exactly_once(api: Api, org: Org) -> None:
    admin_id = uuid.uuid4()
    admin = org.token("admin", member_id=admin_id)
    folder = (await api.data(admin, CREATE_FOLDER, name="Sales", groups=["sales"]))["createFolder"][
        "folder"
    ]
    await api.data(admin, SET_FOLDER_ACCESS, id=folder["id"], groups=["sales", "legal"])
    template_id = await make_document(api, admin, folder["id"])
    await api.data(admin, ADD_VERSION, id=template_id, content="v2 ${client}")
    await api.data(admin, SET_DOCUMENT_ACCESS, id=template_id, groups=["sales"])
    opportunity = str(uuid.uuid4())
    offer = (
        await api.data(
            admin,
            ISSUE_OFFER,
            opportunity=opportunity,
            template=template_id,
            values=OFFER_VALUES,
            amount="99.90",
            currency="PLN",
        )
    )["issueOffer"]["offer"]

    events = await api.events(org_id=org.id)
    assert [(e.type, str(e.aggregate_id), e.aggregate_version) for e in events] == [
        ("crm.documents.folder.created", folder["id"], 1),
        ("crm.documents.folder.access_changed", folder["id"], 2),
        ("crm.documents.document.created", template_id, 1),
        ("crm.documents.document.version_added", template_id, 2),
        ("crm.documents.document.access_changed", template_id, 2),
        ("crm.documents.offer.issued", offer["id"], 1),
    ]
    assert {e.actor_id for e in events} == {admin_id}
    created = events[2].parse(DocumentCreated)
    assert (created.kind, created.version, created.size_bytes) == ("OFFER_TEMPLATE", 1, 44)
    issued = events[-1].parse(OfferIssued)
    assert str(issued.opportunity_id) == opportunity
    assert str(issued.document_id) == template_id
    assert (issued.template_version, str(issued.amount), issued.currency) == (2, "99.90", "PLN")
    assert issued.issued_by == admin_id


async def test_refused_mutations_emit_nothing(api: Api, org: Org) -> None:
    admin, rep = org.token("admin"), org.token("rep")
    folder_id = await make_folder(api, admin)
    document_id = await make_document(api, admin, folder_id, kind="NDA", content="x")
    before = len(await api.events(org_id=org.id))
    await api.data(rep, CREATE_FOLDER, name="Nope")
    await api.data(admin, CREATE_FOLDER, name="")
    await api.data(admin, SET_FOLDER_ACCESS, id=folder_id, groups=["x"], expected=7)
    await api.data(rep, ADD_VERSION, id=document_id, content="y")
    await api.data(admin, ADD_VERSION, id=document_id, content="")
    await api.data(
        admin, ISSUE_OFFER, opportunity=str(uuid.uuid4()), template=document_id, values=[]
    )
    assert len(await api.events(org_id=org.id)) == before


async def test_the_relay_publishes_an_issued_offer_to_the_bus_once(api: Api, org: Org) -> None:
    js = api.runtime.broker.config.connection_state.stream
    subscription = await js.pull_subscribe(
        OfferIssued.TYPE,
        stream="CRM",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
    )
    try:
        admin = org.token("admin")
        template_id = await make_document(api, admin, await make_folder(api, admin))
        offer = (
            await api.data(
                admin,
                ISSUE_OFFER,
                opportunity=str(uuid.uuid4()),
                template=template_id,
                values=OFFER_VALUES,
            )
        )["issueOffer"]["offer"]

        # Wait until the relay has marked every outbox row of the org as sent.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            async with api.runtime.sessions() as session:
                unsent = await session.scalar(
                    select(func.count())
                    .select_from(outbox)
                    .where(
                        outbox.c.envelope["org_id"].astext == str(org.id),
                        outbox.c.sent_at.is_(None),
                    )
                )
            if unsent == 0:
                break
            await asyncio.sleep(0.05)
        assert unsent == 0, "the relay did not publish the outbox"

        seen: Counter[str] = Counter()
        while True:
            try:
                messages = await subscription.fetch(batch=100, timeout=0.5)
            except TimeoutError:
                break
            for message in messages:
                envelope = Envelope.from_json(message.data)
                if envelope.org_id == org.id:
                    seen[str(envelope.parse(OfferIssued).offer_id)] += 1
                await message.ack()
        assert seen == Counter({offer["id"]: 1})
    finally:
        await subscription.unsubscribe()

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

import nats
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from crmkit.contracts import Envelope
from crmkit.contracts.leads import ContactCreated, LeadAssigned, LeadCreated, LeadReleased
from services.leads.handlers.pool import ReturnIdleLeads, return_idle_leads

from .queries import CLAIM, CLAIM_NEXT, CREATE_LEAD, ME, SETTINGS

pytestmark = pytest.mark.integration

ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    __typename
    ... on Member { id name team roles leadCap activeLeadCount }
    ... on Account { id name }
    ... on Contact { id name accountId }
    ... on Lead { id status }
  }
}"""


async def test_entities_resolve_within_the_callers_org(leads_service, org, other_org):
    member_id = uuid.uuid4()
    token = org.token("rep", member_id=member_id, team="alpha", name="Kasia")
    await leads_service.data(token, ME)
    account = (await leads_service.data(token, """
        mutation { createAccount(input: {name: "Sigma", nip: "5260250274"}) {
          ... on AccountPayload { account { id } } } }"""))["createAccount"]["account"]["id"]
    contact = (await leads_service.data(token, """
        mutation($a: ID!) {
          createContact(accountId: $a, input: {name: "Olek", phone: "601 000 000"}) {
            ... on ContactPayload { contact { id phone } } } }""", a=account))["createContact"]
    assert contact["contact"]["phone"] == "+48601000000"
    [announced] = await leads_service.events(org_id=org.id, type=ContactCreated.TYPE)
    assert announced.parse(ContactCreated) == ContactCreated(
        contact_id=uuid.UUID(contact["contact"]["id"]), account_id=uuid.UUID(account),
        name="Olek", phone="+48601000000")
    lead = (await leads_service.data(token, CREATE_LEAD, input={"company": "Lambda"}))
    lead_id = lead["createLead"]["lead"]["id"]
    await leads_service.data(token, CLAIM, id=lead_id)
    reps = [
        {"__typename": "Member", "id": str(member_id)},
        {"__typename": "Account", "id": account},
        {"__typename": "Contact", "id": contact["contact"]["id"]},
        {"__typename": "Lead", "id": lead_id},
        {"__typename": "Member", "id": "nonsense"},
    ]
    found = (await leads_service.data(token, ENTITIES, reps=reps))["_entities"]
    assert found[0] == {"__typename": "Member", "id": str(member_id), "name": "Kasia",
                        "team": "alpha", "roles": ["rep"], "leadCap": 50, "activeLeadCount": 1}
    assert found[1]["name"] == "Sigma" and found[2]["name"] == "Olek"
    assert found[3]["status"] == "ASSIGNED" and found[4] is None
    stranger = (await leads_service.data(other_org.token("admin"), ENTITIES, reps=reps[:4]))
    assert stranger["_entities"] == [None, None, None, None]


@contextlib.contextmanager
def statements_sent(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements the service sends PostgreSQL meanwhile: through SQLAlchemy (its cursor
    events) and straight on asyncpg (the hot paths: a query logger on every connection
    checked out). Left out, as SQLAlchemy's events leave them out: transaction control and
    asyncpg's own reads of the server's type catalogue (once per connection and type)."""
    sent: list[str] = []

    def through_sqlalchemy(conn, cursor, statement, *args):
        sent.append(statement)

    def on_asyncpg(record):
        query = record.query.strip()
        if not query.startswith(("BEGIN", "COMMIT", "ROLLBACK")) and not any(
            mark in query for mark in ("typeinfo_tree", "set_config('jit'")
        ):
            sent.append(query)

    def checkout(dbapi_connection, record, proxy):
        dbapi_connection.driver_connection.add_query_logger(on_asyncpg)

    def checkin(dbapi_connection, record):
        if dbapi_connection is not None:
            dbapi_connection.driver_connection.remove_query_logger(on_asyncpg)

    listeners = [(engine.sync_engine, "before_cursor_execute", through_sqlalchemy),
                 (engine.sync_engine.pool, "checkout", checkout),
                 (engine.sync_engine.pool, "checkin", checkin)]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield sent
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


async def test_references_of_one_request_take_one_query_per_type(leads_service, org):
    """40 accounts and 40 members (an opportunity list's account and owner, through the
    gateway) resolve in a handful of statements, however many there are."""
    admin = org.token("admin", team=None)
    await leads_service.data(admin, ME)
    accounts, members = [], []
    for i in range(40):
        created = await leads_service.data(admin, """
            mutation($n: String!) { createAccount(input: {name: $n}) {
              ... on AccountPayload { account { id } } } }""", n=f"Client {i}")
        accounts.append(created["createAccount"]["account"]["id"])
        member_id = uuid.uuid4()
        await leads_service.data(org.token("rep", member_id=member_id, name=f"Rep {i}"), ME)
        members.append(str(member_id))
    reps = [r for a, m in zip(accounts, members, strict=True)
            for r in ({"__typename": "Account", "id": a}, {"__typename": "Member", "id": m})]
    engine = leads_service.runtime.engine
    with statements_sent(engine) as statements:
        found = (await leads_service.data(admin, ENTITIES, reps=reps))["_entities"]
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon after the query
    assert [e["name"] for e in found[::2]] == [f"Client {i}" for i in range(40)]
    assert [e["name"] for e in found[1::2]] == [f"Rep {i}" for i in range(40)]
    # One statement per type, plus what the members' cap and count read (the org default
    # cap, the members' active leads): independent of the 80 references.
    assert len(statements) <= 5, "\n".join(statements)

    # An opportunity list's owners ask for names only: the cap and the count are not read.
    with statements_sent(engine) as statements:
        owners = (await leads_service.data(admin, """
            query($reps: [_Any!]!) { _entities(representations: $reps) {
              ... on Member { id name team } ... on Account { id name nip } } }""",
            reps=reps))["_entities"]
        await asyncio.sleep(0)
    assert [e["name"] for e in owners[1::2]] == [f"Rep {i}" for i in range(40)]
    assert len(statements) == 2, statements


async def test_idle_return_is_off_by_default_and_returns_with_an_event(leads_service, org):
    admin = org.token("admin", team=None)
    rep_id = uuid.uuid4()
    rep = org.token("rep", member_id=rep_id)
    await leads_service.data(rep, ME)
    lead_id = (await leads_service.data(admin, CREATE_LEAD, input={"company": "Idle"}))[
        "createLead"]["lead"]["id"]
    await leads_service.data(rep, CLAIM, id=lead_id)
    await leads_service.sql(
        "UPDATE leads SET status_changed_at = now() - interval '10 days', "
        "assigned_at = now() - interval '10 days' WHERE id = :id", id=lead_id)
    await return_idle_leads(ReturnIdleLeads(), leads_service.runtime.uow())
    assert await leads_service.events(org_id=org.id, type=LeadReleased.TYPE) == []

    bad = (await leads_service.data(admin, SETTINGS, input={"idleReturnDays": 0}))
    assert bad["updateLeadSettings"]["__typename"] == "ValidationError"
    forbidden = (await leads_service.data(rep, SETTINGS, input={"idleReturnDays": 7}))
    assert forbidden["updateLeadSettings"]["__typename"] == "Forbidden"
    ok = (await leads_service.data(admin, SETTINGS, input={"idleReturnDays": 7}))
    assert ok["updateLeadSettings"]["settings"]["idleReturnDays"] == 7
    await return_idle_leads(ReturnIdleLeads(), leads_service.runtime.uow())
    [event] = await leads_service.events(org_id=org.id, type=LeadReleased.TYPE)
    released = event.parse(LeadReleased)
    assert (released.previous_owner_id, released.reason, released.released_by) == (
        rep_id, "idle_return", None
    )
    rows = await leads_service.sql("SELECT owner_id, status FROM leads WHERE id = :id",
                                   id=lead_id)
    assert rows == [(None, "NEW")]
    await leads_service.data(admin, SETTINGS, input={"idleReturnDays": None})


async def test_events_reach_the_bus_once(leads_service, crm_servers, org):
    connection = await nats.connect(crm_servers.nats_url)
    received: list[Envelope] = []
    try:
        js = connection.jetstream()
        subscription = await js.subscribe("crm.leads.lead.>", ordered_consumer=True,
                                          deliver_policy=nats.js.api.DeliverPolicy.NEW)
        admin = org.token("admin", team=None)
        rep = org.token("rep")
        await leads_service.data(rep, ME)
        lead_id = (await leads_service.data(admin, CREATE_LEAD, input={"company": "Bus"}))[
            "createLead"]["lead"]["id"]
        await leads_service.data(rep, CLAIM, id=lead_id)
        next_id = (await leads_service.data(admin, CREATE_LEAD, input={"company": "Bus 2"}))[
            "createLead"]["lead"]["id"]
        claimed = (await leads_service.data(rep, CLAIM_NEXT, count=1))["claimNextLeads"]
        assert [lead["id"] for lead in claimed["leads"]] == [next_id]

        async def collect() -> None:
            while len(received) < 4:
                message = await subscription.next_msg(timeout=10)
                envelope = Envelope.from_json(message.data)
                if envelope.org_id == org.id:
                    received.append(envelope)

        await asyncio.wait_for(collect(), 20)
        await subscription.unsubscribe()
    finally:
        await connection.close()
    # Each lead's events in order, each once. The two leads' events may interleave: the relay
    # publishes different aggregates concurrently (docs/adr/0003-outbox-relay-ordering.md).
    assert len({e.id for e in received}) == 4
    by_lead: dict[uuid.UUID, list[str]] = {}
    for envelope in received:
        by_lead.setdefault(envelope.aggregate_id, []).append(envelope.type)
    assert by_lead == {uuid.UUID(lead_id): [LeadCreated.TYPE, LeadAssigned.TYPE],
                       uuid.UUID(next_id): [LeadCreated.TYPE, LeadAssigned.TYPE]}
    assert [str(e.aggregate_id) for e in received] == [lead_id, lead_id, next_id, next_id]
    unsent = None
    for _ in range(200):  # the relay marks rows sent right after JetStream acks them
        unsent = await leads_service.sql(
            "SELECT count(*) FROM outbox WHERE envelope->>'org_id' = :org AND sent_at IS NULL",
            org=str(org.id),
        )
        if unsent == [(0,)]:
            break
        await asyncio.sleep(0.05)
    assert unsent == [(0,)]

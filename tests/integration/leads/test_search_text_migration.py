"""Leads' migrations 0003, 0004 and 0005 fill in the search form of the clients, leads and
contact people there already are, so the searches find them too, not only the ones made after
them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from crmkit.testing.migrations import database_at
from crmkit.testing.plugin import Servers

pytestmark = pytest.mark.integration


async def test_existing_clients_get_their_search_form(crm_servers: Servers) -> None:
    async with database_at(crm_servers.database_url, "leads", "0002") as db:
        org = uuid.uuid4()
        async with db.engine.begin() as conn:
            for client, domain in (("Żabka Łódź", "zabka.pl"), ("Acme", None)):
                await conn.execute(text(
                    "INSERT INTO accounts (id, org_id, name, domain, version, created_at,"
                    " updated_at) VALUES (:id, :org, :name, :domain, 1, now(), now())"
                ), {"id": uuid.uuid4(), "org": org, "name": client, "domain": domain})
        await db.upgrade()
        async with db.engine.connect() as conn:
            found = (await conn.execute(text(
                "SELECT name, search_text FROM accounts ORDER BY name"))).all()
    assert [tuple(r) for r in found] == [("Acme", "acme"), ("Żabka Łódź", "zabka lodz zabka.pl")]


async def test_existing_leads_get_their_search_form(crm_servers: Servers) -> None:
    async with database_at(crm_servers.database_url, "leads", "0003") as db:
        org = uuid.uuid4()
        async with db.engine.begin() as conn:
            for company, person, email in (("Żabka Łódź", "Jan Żak", "jan@zabka.pl"),
                                           (None, None, "kto@example.com")):
                await conn.execute(text(
                    "INSERT INTO leads (id, org_id, company, contact_name, email, status,"
                    " status_changed_at) VALUES (:id, :org, :company, :person, :email, 'NEW',"
                    " now())"
                ), {"id": uuid.uuid4(), "org": org, "company": company, "person": person,
                    "email": email})
        await db.upgrade()
        async with db.engine.connect() as conn:
            found = (await conn.execute(text(
                "SELECT email, search_text FROM leads ORDER BY email"))).all()
    assert [tuple(r) for r in found] == [
        ("jan@zabka.pl", "zabka lodz jan zak jan@zabka.pl"),
        ("kto@example.com", "kto@example.com")]


async def test_existing_contacts_get_their_search_form(crm_servers: Servers) -> None:
    async with database_at(crm_servers.database_url, "leads", "0004") as db:
        org, account = uuid.uuid4(), uuid.uuid4()
        async with db.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO accounts (id, org_id, name, version, created_at, updated_at)"
                " VALUES (:id, :org, 'Młyny', 1, now(), now())"), {"id": account, "org": org})
            for person, email in (("Jan Wiśniewski", "jan@mlyny.pl"), ("Anna", None)):
                await conn.execute(text(
                    "INSERT INTO contacts (id, org_id, account_id, name, email, version,"
                    " created_at, updated_at) VALUES (:id, :org, :account, :name, :email, 1,"
                    " now(), now())"
                ), {"id": uuid.uuid4(), "org": org, "account": account, "name": person,
                    "email": email})
        await db.upgrade()
        async with db.engine.connect() as conn:
            found = (await conn.execute(text(
                "SELECT name, search_text FROM contacts ORDER BY name"))).all()
    assert [tuple(r) for r in found] == [
        ("Anna", "anna"), ("Jan Wiśniewski", "jan wisniewski jan@mlyny.pl")]

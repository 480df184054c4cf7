"""Leads' migrations 0003 and 0004 fill in the search form of the clients and leads there
already are, so the searches find them too, not only the ones made after them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from crmkit.db import create_engine, drop_database, ensure_database, with_database
from crmkit.migrations import upgrade
from crmkit.testing.plugin import Servers

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[3] / "services" / "leads" / "migrations"


async def test_existing_clients_get_their_search_form(crm_servers: Servers) -> None:
    name = f"crm_leads_search_{uuid.uuid4().hex[:8]}"
    await ensure_database(crm_servers.database_url, name)
    url = with_database(crm_servers.database_url, name)
    try:
        await upgrade(MIGRATIONS, url, "0002")
        org = uuid.uuid4()
        engine = create_engine(url, pool_size=1)
        async with engine.begin() as conn:
            for client, domain in (("Żabka Łódź", "zabka.pl"), ("Acme", None)):
                await conn.execute(text(
                    "INSERT INTO accounts (id, org_id, name, domain, version, created_at,"
                    " updated_at) VALUES (:id, :org, :name, :domain, 1, now(), now())"
                ), {"id": uuid.uuid4(), "org": org, "name": client, "domain": domain})
        await upgrade(MIGRATIONS, url)
        async with engine.connect() as conn:
            found = (await conn.execute(text(
                "SELECT name, search_text FROM accounts ORDER BY name"))).all()
        await engine.dispose()
        assert [tuple(r) for r in found] == [("Acme", "acme"),
                                             ("Żabka Łódź", "zabka lodz zabka.pl")]
    finally:
        await drop_database(crm_servers.database_url, name)


async def test_existing_leads_get_their_search_form(crm_servers: Servers) -> None:
    name = f"crm_leads_search_{uuid.uuid4().hex[:8]}"
    await ensure_database(crm_servers.database_url, name)
    url = with_database(crm_servers.database_url, name)
    try:
        await upgrade(MIGRATIONS, url, "0003")
        org = uuid.uuid4()
        engine = create_engine(url, pool_size=1)
        async with engine.begin() as conn:
            for company, person, email in (("Żabka Łódź", "Jan Żak", "jan@zabka.pl"),
                                           (None, None, "kto@example.com")):
                await conn.execute(text(
                    "INSERT INTO leads (id, org_id, company, contact_name, email, status,"
                    " status_changed_at) VALUES (:id, :org, :company, :person, :email, 'NEW',"
                    " now())"
                ), {"id": uuid.uuid4(), "org": org, "company": company, "person": person,
                    "email": email})
        await upgrade(MIGRATIONS, url)
        async with engine.connect() as conn:
            found = (await conn.execute(text(
                "SELECT email, search_text FROM leads ORDER BY email"))).all()
        await engine.dispose()
        assert [tuple(r) for r in found] == [
            ("jan@zabka.pl", "zabka lodz jan zak jan@zabka.pl"),
            ("kto@example.com", "kto@example.com")]
    finally:
        await drop_database(crm_servers.database_url, name)

"""The leads service in-process against real PostgreSQL and NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from crmkit.testing.client import ServiceClient, service_client, service_settings
from crmkit.testing.plugin import Servers
from services.leads import app

MIGRATIONS = Path(__file__).parents[3] / "services" / "leads" / "migrations"


@pytest.fixture(scope="session")
async def leads_service(
    migrated_database: Any, crm_servers: Servers
) -> AsyncIterator[ServiceClient[Any]]:
    url = await migrated_database("leads", MIGRATIONS)
    settings = service_settings(app, crm_servers, url, db_pool_size=60, default_lead_cap=50)
    async with service_client(app, settings) as client:
        yield client

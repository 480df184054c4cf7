"""Operator commands against the running system: bulk import and reporting rebuild."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crmkit.settings import DEV_JWT_SECRET

from .conftest import Client, RunningSystem, new_org_members
from .test_sales_process import eventually

pytestmark = pytest.mark.e2e

CRM = Path(sys.executable).parent / "crm"


def crm(system: RunningSystem, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    assert system.servers.database_url and system.servers.nats_url
    env.update(
        CRM_DATABASE_URL=system.servers.database_url,
        CRM_NATS_URL=system.servers.nats_url,
        CRM_JWT_SECRET=DEV_JWT_SECRET,
        CRM_ENVIRONMENT="test",
        COLUMNS="200",
    )
    return subprocess.run(
        [str(CRM), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_bulk_import_from_the_command_line(system: RunningSystem, tmp_path: Path) -> None:
    members = new_org_members()
    manager = Client(system.gateway, members["manager"])
    try:
        manager("{ me { id } }")
        rows = ["company,email,phone,priority"]
        rows += [
            f"Firm {n},sales{n}@firm{n}.example,+48 600 {n:03d} {n:03d},{n % 100}"
            for n in range(1, 501)
        ]
        rows += ["Broken,not-an-email,,1", "Firm 7,sales7@firm7.example,,1"]
        csv = tmp_path / "leads.csv"
        csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        org = str(members["manager"].org_id)

        dry = crm(system, "leads", "import", str(csv), "--org", org, "--dry-run")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert "502 rows: would create 500, 1 duplicates, 1 invalid" in dry.stdout

        done = crm(
            system, "leads", "import", str(csv), "--org", org, "--actor", str(members["manager"].id)
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "502 rows: created 500, 1 duplicates, 1 invalid" in done.stdout

        page = manager("{ leads(first: 200) { edges { node { company } } } }")["leads"]["edges"]
        assert len(page) == 200
        again = crm(system, "leads", "import", str(csv), "--org", org)
        assert "created 0, 501 duplicates" in again.stdout

        missing = crm(system, "leads", "import", str(csv), "--org", "not-a-uuid")
        assert missing.returncode != 0
        assert "--org must be a UUID" in missing.stdout + missing.stderr
    finally:
        manager.close()


def test_reporting_rebuild_keeps_the_figures(system: RunningSystem) -> None:
    members = new_org_members()
    admin = Client(system.gateway, members["admin"])
    query = (
        "{ salesFunnel { __typename ... on SalesFunnel { stages { name count "
        "amounts { byCurrency { currency amount } } } } } }"
    )
    try:
        admin("{ me { id } }")
        for n in range(3):
            created = admin(
                """mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) {
                  __typename } }""",
                {"i": {"name": f"Deal {n}", "amount": "1000.00", "currency": "EUR"}},
            )["createOpportunity"]
            assert created["__typename"] == "OpportunityPayload", created

        def three_open() -> dict | None:  # type: ignore[type-arg]
            funnel = admin(query)["salesFunnel"]
            stages = funnel.get("stages") or [{"count": 0}]
            return funnel if stages[0]["count"] == 3 else None

        before = eventually(three_open)
        rebuilt = crm(system, "reporting", "rebuild")
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert admin(query)["salesFunnel"] == before
    finally:
        admin.close()

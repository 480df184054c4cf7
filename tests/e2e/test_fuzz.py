"""The fuzz target (tests/e2e/fuzz.py) against the running system: the gateway and each
service. A short run here; ``make fuzz`` runs more examples per operation."""

from __future__ import annotations

import uuid

import pytest

from crmkit.auth import mint_dev_token
from crmkit.settings import DEV_JWT_SECRET

from .conftest import RunningSystem
from .fuzz import fuzz

pytestmark = pytest.mark.e2e


def admin_token() -> str:
    return mint_dev_token(secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=uuid.uuid4(),
                          roles=["admin"], team="alpha", groups=["sales"], name="Fuzz Admin")


def test_generated_operations_get_json_and_no_5xx_nor_internal_texts(
    system: RunningSystem,
) -> None:
    token = admin_token()
    targets = {"gateway": system.gateway, **{s: system.service(s) for s in system.services}}
    reports = []
    for name, url in targets.items():
        reports.append(fuzz(name, url, token))
        print(reports[-1].summary(), flush=True)
    summary = "\n".join(report.summary() for report in reports)
    problems = [p for report in reports for p in report.problems]
    assert all(report.requests for report in reports), summary
    assert problems == [], summary + "\n" + "\n".join(problems[:40])

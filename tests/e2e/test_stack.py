"""The stack comes up as `crm dev` brings it up, and its edge refuses strangers."""

from __future__ import annotations

import httpx
import pytest

from .conftest import RunningSystem

pytestmark = pytest.mark.e2e


def test_every_process_is_ready(system: RunningSystem) -> None:
    assert set(system.services) == {"leads", "pipeline", "documents", "reporting", "notifications"}
    for child in system.stack.children:
        response = httpx.get(f"{child.url}/readyz", timeout=5)
        assert response.status_code == 200, (child.name, response.text)
        assert "_requests_total" in httpx.get(f"{child.url}/metrics", timeout=5).text


@pytest.mark.parametrize(
    "name", ["gateway", "leads", "pipeline", "documents", "reporting", "notifications"]
)
def test_requests_without_a_valid_token_get_401(system: RunningSystem, name: str) -> None:
    url = f"{system.stack.url(name)}/graphql"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = httpx.post(url, json={"query": "{ __typename }"}, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

"""The `federation` fixture: a gateway in front of a case's in-process subgraphs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.gateway.federation.harness import FederationFactory


@pytest.fixture
async def federation() -> AsyncIterator[FederationFactory]:
    factory = FederationFactory()
    yield factory
    await factory.aclose()

"""Reporting's projections accept every event its producers may publish: each consumed type
drawn within its contract's rules (ADR 0008) and applied through the service's own inbox
consumer against PostgreSQL (each example in an org of its own)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.contracts import REGISTRY, Envelope
from crmkit.testing.strategies import events
from services.reporting.events import CONSUMED_TYPES

from .conftest import Reporting

pytestmark = pytest.mark.integration

EVERY_CONSUMED_EVENT = st.one_of(*(events(REGISTRY[name]) for name in CONSUMED_TYPES))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVERY_CONSUMED_EVENT)
async def test_reporting_applies_every_event_a_producer_may_publish(
    reporting: Reporting, envelope: Envelope
) -> None:
    assert await reporting.deliver(envelope)

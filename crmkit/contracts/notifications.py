"""Events published by the notifications service. The envelope's ``aggregate_id`` is the
webhook endpoint's id."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import StringConstraints

from crmkit.contracts import Event


class WebhookEndpointDisabled(Event):
    """An endpoint stopped getting deliveries: every attempt of a delivery failed for a day.
    An admin enables it again once it works."""

    TYPE = "crm.notifications.webhook_endpoint.disabled"

    endpoint_id: uuid.UUID
    url: Annotated[str, StringConstraints(max_length=2000)]
    reason: Annotated[str, StringConstraints(max_length=500)]
    failed_delivery_id: uuid.UUID

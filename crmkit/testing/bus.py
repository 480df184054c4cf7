"""Events put on the bus by tests as a producer's outbox relay puts them there."""

from __future__ import annotations

from faststream.nats import NatsBroker
from nats.errors import TimeoutError as NatsTimeoutError

from crmkit.contracts import Envelope

ACK_TIMEOUT = 5.0
"""The relay's own wait for JetStream's ack (faststream's default, 0.5 s, ran out on a loaded
machine and failed tests that had done nothing wrong)."""
ATTEMPTS = 5


async def publish(
    broker: NatsBroker, envelope: Envelope, *, stream: str = "CRM", message_id: str | None = None
) -> None:
    """Publish ``envelope`` on its subject under ``Nats-Msg-Id`` = its id, as the relay does: a
    publish whose ack did not come in time goes again under the same message id (the stream
    drops the copy when the first got through), so a slow machine delays the event, never
    doubles or loses it. A distinct ``message_id`` defeats the stream's duplicate window, which
    is how a redelivery reaches a consumer."""
    js = broker.config.connection_state.stream
    headers = {"Nats-Msg-Id": message_id or str(envelope.id),
               "content-type": "application/json"}
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await js.publish(envelope.subject, envelope.to_json(), timeout=ACK_TIMEOUT,
                             stream=stream, headers=headers)
            return
        except NatsTimeoutError:
            if attempt == ATTEMPTS:
                raise

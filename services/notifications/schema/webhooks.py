"""Webhook endpoints and their deliveries in GraphQL (admins only)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from crmkit.graphql import CommonError, PageInfo, parse_uuid
from crmkit.results import answer_mutation, answer_query
from services.notifications import domain as d
from services.notifications.handlers import webhooks as h
from services.notifications.schema.context import Info, caller, now, uow, webhook_sender


@strawberry.type(description="Where an org's events are POSTed (Standard Webhooks).")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    event_types: list[str] = strawberry.field(
        description="Exact types (crm.pipeline.opportunity.won) or subtrees (crm.pipeline.>)."
    )
    description: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, e: d.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(e.id)), url=e.url, event_types=list(e.event_types),
            description=e.description, enabled=e.enabled, disabled_reason=e.disabled_reason,
            created_at=e.created_at,
        )


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@strawberry.type
class WebhookAttempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@strawberry.type(description="One event on its way to one endpoint, with every attempt.")
class WebhookDelivery:
    id: strawberry.ID
    event_id: strawberry.ID = strawberry.field(description="Also its webhook-id header.")
    event_type: str
    aggregate_id: strawberry.ID
    status: WebhookDeliveryStatus
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    attempts: list[WebhookAttempt]

    @classmethod
    def of(cls, x: d.WebhookDelivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(x.id)), event_id=strawberry.ID(str(x.event_id)),
            event_type=x.event_type, aggregate_id=strawberry.ID(str(x.aggregate_id)),
            status=WebhookDeliveryStatus(x.status),
            next_attempt_at=x.next_attempt_at if x.status == "pending" else None,
            delivered_at=x.delivered_at, created_at=x.created_at,
            attempts=[
                WebhookAttempt(at=a.at, status_code=a.status_code, error=a.error,
                               duration_ms=a.duration_ms)
                for a in x.history
            ],
        )


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo


@strawberry.type
class RegisterWebhookEndpointPayload:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(
        description="The signing secret (whsec_...): shown here only, keep it."
    )


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDelivery


RegisterWebhookEndpointResult = Annotated[
    RegisterWebhookEndpointPayload | CommonError,
    strawberry.union("RegisterWebhookEndpointResult"),
]
EnableWebhookEndpointResult = Annotated[
    WebhookEndpointPayload | CommonError, strawberry.union("EnableWebhookEndpointResult")
]
ReplayWebhookDeliveryResult = Annotated[
    WebhookDeliveryPayload | CommonError, strawberry.union("ReplayWebhookDeliveryResult")
]


@strawberry.type
class WebhooksQuery:
    @strawberry.field(description="The org's webhook endpoints (admins).")  # type: ignore[untyped-decorator]
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        async def run() -> list[WebhookEndpoint]:
            return [WebhookEndpoint.of(e) for e in await h.list_endpoints(caller(info),
                                                                          uow(info))]

        return await answer_query(run())

    @strawberry.field(  # type: ignore[untyped-decorator]
        description="An endpoint's deliveries, newest first, each attempt shown (admins)."
    )
    async def webhook_deliveries(
        self, info: Info, endpoint_id: strawberry.ID, first: int | None = None,
        after: str | None = None,
    ) -> WebhookDeliveryConnection:
        async def run() -> WebhookDeliveryConnection:
            query = h.ListDeliveries(caller(info), parse_uuid(endpoint_id, "endpointId"),
                                     first, after)
            page = await h.list_deliveries(query, uow(info))
            return WebhookDeliveryConnection(
                edges=page.edges(lambda c, x: WebhookDeliveryEdge(cursor=c,
                                                                  node=WebhookDelivery.of(x))),
                page_info=PageInfo.of(page),
            )

        return await answer_query(run())


@strawberry.type
class WebhooksMutation:
    @strawberry.mutation
    async def register_webhook_endpoint(
        self, info: Info, url: str, event_types: list[str], description: str = ""
    ) -> RegisterWebhookEndpointResult:
        async def run() -> RegisterWebhookEndpointPayload:
            cmd = h.RegisterEndpoint(caller(info), url, event_types, description, now(info))
            endpoint = await h.register_endpoint(cmd, webhook_sender(info), uow(info))
            return RegisterWebhookEndpointPayload(endpoint=WebhookEndpoint.of(endpoint),
                                                  secret=endpoint.secret)

        return await answer_mutation(run())

    @strawberry.mutation(description="Deliveries to a disabled endpoint resume.")  # type: ignore[untyped-decorator]
    async def enable_webhook_endpoint(
        self, info: Info, id: strawberry.ID
    ) -> EnableWebhookEndpointResult:
        async def run() -> WebhookEndpointPayload:
            found = await h.enable_endpoint(caller(info), parse_uuid(id), uow(info))
            return WebhookEndpointPayload(endpoint=WebhookEndpoint.of(found))

        return await answer_mutation(run())

    @strawberry.mutation(description="Send a delivered or failed delivery again.")  # type: ignore[untyped-decorator]
    async def replay_webhook_delivery(
        self, info: Info, id: strawberry.ID
    ) -> ReplayWebhookDeliveryResult:
        async def run() -> WebhookDeliveryPayload:
            found = await h.replay_delivery(caller(info), parse_uuid(id), now(info), uow(info))
            return WebhookDeliveryPayload(delivery=WebhookDelivery.of(found))

        return await answer_mutation(run())

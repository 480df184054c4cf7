"""The notifications subgraph, one module per concept (:mod:`.inbox`, :mod:`.preferences`),
merged into one schema."""

from __future__ import annotations

from strawberry.federation import Schema
from strawberry.tools import merge_types

from crmkit.graphql import build_schema
from services.notifications.schema.context import NotificationsState
from services.notifications.schema.feed import FeedMutation, FeedQuery
from services.notifications.schema.inbox import InboxMutation, InboxQuery
from services.notifications.schema.preferences import PreferencesMutation, PreferencesQuery
from services.notifications.schema.webhooks import WebhooksMutation, WebhooksQuery

__all__ = ["NotificationsState", "create_schema"]


def create_schema() -> Schema:
    return build_schema(
        query=merge_types("Query", (InboxQuery, PreferencesQuery, FeedQuery, WebhooksQuery)),
        mutation=merge_types(
            "Mutation", (InboxMutation, PreferencesMutation, FeedMutation, WebhooksMutation)
        ),
    )

"""A member's notifications in GraphQL: the list, the unread count, marking them read."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from crmkit.errors import InvalidInput
from crmkit.graphql import CommonError, PageInfo, parse_uuid
from crmkit.results import answer_mutation, answer_query
from services.notifications import domain as d
from services.notifications.handlers import inbox as h
from services.notifications.schema.context import Info, caller, now, uow

# The domain's enum is GraphQL's.
strawberry.enum(d.NotificationKind, description="What a notification is about.")


@strawberry.enum
class EmailStatus(Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@strawberry.type(description="Something a member is told about.")
class Notification:
    id: strawberry.ID
    kind: d.NotificationKind
    title: str = strawberry.field(
        description="The activity's subject, the lead's company, the deal's name or the offer."
    )
    detail: str = strawberry.field(description="The deal (or, for a stage move, its stage).")
    subject_id: strawberry.ID = strawberry.field(
        description="The activity, lead, opportunity or offer it is about."
    )
    opportunity_id: strawberry.ID | None
    due_at: datetime | None
    created_at: datetime
    read_at: datetime | None
    email_status: EmailStatus | None = strawberry.field(
        description="Whether it went by email (null: not by email)."
    )
    email_error: str | None = strawberry.field(
        description="Why the email failed or is being tried again."
    )

    @strawberry.field
    def read(self) -> bool:
        return self.read_at is not None

    @classmethod
    def of(cls, n: d.Notification) -> Notification:
        return cls(
            id=strawberry.ID(str(n.id)),
            kind=n.kind,
            title=n.title,
            detail=n.detail,
            subject_id=strawberry.ID(str(n.subject_id)),
            opportunity_id=strawberry.ID(str(n.opportunity_id)) if n.opportunity_id else None,
            due_at=n.due_at,
            created_at=n.created_at,
            read_at=n.read_at,
            email_status=EmailStatus(n.email_status) if n.email_status else None,
            email_error=n.email_error,
        )


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo


@strawberry.type
class MarkNotificationsReadPayload:
    marked: int
    unread_count: int


MarkNotificationsReadResult = Annotated[
    MarkNotificationsReadPayload | CommonError, strawberry.union("MarkNotificationsReadResult")
]


@strawberry.type
class InboxQuery:
    @strawberry.field(description="The caller's in-app notifications, newest first.")  # type: ignore[untyped-decorator]
    async def notifications(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        unread_only: bool = False,
    ) -> NotificationConnection:
        async def run() -> NotificationConnection:
            query = h.ListNotifications(caller(info), first, after, unread_only)
            page = await h.list_notifications(query, uow(info))
            return NotificationConnection(
                edges=page.edges(
                    lambda cursor, x: NotificationEdge(cursor=cursor, node=Notification.of(x))
                ),
                page_info=PageInfo.of(page),
            )

        return await answer_query(run())

    @strawberry.field(description="How many of the caller's notifications are unread.")  # type: ignore[untyped-decorator]
    async def unread_notification_count(self, info: Info) -> int:
        return await h.unread_count(caller(info), uow(info))


@strawberry.type
class InboxMutation:
    @strawberry.mutation(  # type: ignore[untyped-decorator]
        description="Mark the caller's notifications read: those of `ids`, or all of them "
        "with `all: true`."
    )
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID] | None = None, all: bool = False
    ) -> MarkNotificationsReadResult:
        async def run() -> MarkNotificationsReadPayload:
            if all == (ids is not None):
                raise InvalidInput.field("ids", "give either ids or all: true")
            parsed = None if ids is None else tuple(
                parse_uuid(i, f"ids.{n}") for n, i in enumerate(ids)
            )
            if parsed is not None and len(parsed) > 500:
                raise InvalidInput.field("ids", "at most 500 at once")
            marked, left = await h.mark_read(h.MarkRead(caller(info), parsed, now(info)), uow(info))
            return MarkNotificationsReadPayload(marked=marked, unread_count=left)

        return await answer_mutation(run())

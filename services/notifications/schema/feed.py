"""The caller's calendar feed address in GraphQL."""

from __future__ import annotations

from typing import Annotated

import strawberry

from crmkit.graphql import CommonError
from crmkit.results import answer_mutation
from services.notifications.handlers import feed as h
from services.notifications.schema.context import Info, caller, feed_url, now, uow


@strawberry.type
class CalendarFeedPayload:
    url: str


RotateCalendarFeedResult = Annotated[
    CalendarFeedPayload | CommonError, strawberry.union("RotateCalendarFeedResult")
]


@strawberry.type
class FeedQuery:
    @strawberry.field(  # type: ignore[untyped-decorator]
        description="The secret iCalendar address of the caller's calls, meetings and tasks, "
        "for Google Calendar, Outlook or Apple Calendar to subscribe to (made on first ask)."
    )
    async def calendar_feed_url(self, info: Info) -> str:
        return feed_url(info, await h.feed_token(caller(info), now(info), uow(info)))


@strawberry.type
class FeedMutation:
    @strawberry.mutation(description="A new calendar feed address; the old one stops working.")  # type: ignore[untyped-decorator]
    async def rotate_calendar_feed(self, info: Info) -> RotateCalendarFeedResult:
        async def run() -> CalendarFeedPayload:
            token = await h.rotate_feed(caller(info), now(info), uow(info))
            return CalendarFeedPayload(url=feed_url(info, token))

        return await answer_mutation(run())

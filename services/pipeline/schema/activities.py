"""Activities in GraphQL: the activity, the calendar and overdue lists, and scheduling,
completing, rescheduling and cancelling one. Thin: resolvers call the handlers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Annotated

import strawberry

from crmkit.commands import ById
from crmkit.graphql import CommonError, Connection, GraphQLContext
from crmkit.paging import Page
from crmkit.references import load_entity
from crmkit.results import answer_mutation, answer_query
from crmkit.schema_context import gid, optional_id, parse_id
from services.pipeline import domain as d
from services.pipeline.handlers import activities as h
from services.pipeline.handlers.common import now
from services.pipeline.schema.context import Info, caller, caller_of, uow, uow_of
from services.pipeline.schema.references import Member

strawberry.enum(d.ActivityKind)
strawberry.enum(d.ActivityStatus)


async def activities_by_id(
    context: GraphQLContext, ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, d.Activity]:
    return await h.activities_by_id(ById(caller_of(context), ids), uow_of(context))


@strawberry.federation.type(keys=["id"])
class Activity:
    id: strawberry.ID
    opportunity_id: strawberry.ID
    owner: Member
    kind: d.ActivityKind
    subject: str
    notes: str | None
    due_at: datetime
    status: d.ActivityStatus
    completed_at: datetime | None
    outcome: str | None
    overdue: bool
    version: int
    created_at: datetime

    @classmethod
    def of(cls, a: d.Activity, at: datetime) -> Activity:
        return cls(
            id=gid(a.id), opportunity_id=gid(a.opportunity_id), owner=Member(id=gid(a.owner_id)),
            kind=a.kind, subject=a.subject, notes=a.notes, due_at=a.due_at, status=a.status,
            completed_at=a.completed_at, outcome=a.outcome, overdue=d.is_overdue(a, at),
            version=a.version, created_at=a.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Activity | None:
        found = await load_entity(info, activities_by_id, id)
        return cls.of(found, now()) if found else None


def activity_page(page: Page[d.Activity]) -> Connection[Activity]:
    """A page of activities, each overdue or not as of one instant."""
    at = now()
    return Connection.of(page, lambda a: Activity.of(a, at))


async def activity_list(info: Info, query: h.ListActivities) -> list[Activity]:
    """The activities of a list without paging (an opportunity's)."""
    page = await h.list_activities(query, uow(info))
    at = now()
    return [Activity.of(a, at) for a in page.items]


@strawberry.type
class ActivityPayload:
    activity: Activity


ActivityResult = Annotated[ActivityPayload | CommonError, strawberry.union("ActivityResult")]


@strawberry.input
class ScheduleActivityInput:
    opportunity_id: strawberry.ID
    kind: d.ActivityKind
    due_at: datetime
    subject: str
    notes: str | None = None
    owner_id: strawberry.ID | None = None


@strawberry.type
class ActivitiesQuery:
    @strawberry.field(description="The calendar: activities due in [from, to), by due time.")  # type: ignore[untyped-decorator]
    async def activities(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        owner_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Activity]:
        async def run() -> Connection[Activity]:
            query = h.ListActivities(
                caller(info), owner_id=optional_id(owner_id, "ownerId"), due_from=from_,
                due_to=to, first=first, after=after,
            )
            return activity_page(await h.list_activities(query, uow(info)))

        return await answer_query(run())

    @strawberry.field(description="Open activities past their due time, oldest first.")  # type: ignore[untyped-decorator]
    async def overdue_activities(
        self,
        info: Info,
        owner_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Activity]:
        async def run() -> Connection[Activity]:
            query = h.ListActivities(
                caller(info), owner_id=optional_id(owner_id, "ownerId"), overdue=True,
                first=first, after=after,
            )
            return activity_page(await h.list_activities(query, uow(info)))

        return await answer_query(run())


async def _activity(run: Awaitable[d.Activity]) -> ActivityPayload:
    return ActivityPayload(activity=Activity.of(await run, now()))


@strawberry.type
class ActivitiesMutation:
    @strawberry.mutation
    async def schedule_activity(self, info: Info, input: ScheduleActivityInput) -> ActivityResult:
        async def run() -> ActivityPayload:
            cmd = h.ScheduleActivity(
                caller=caller(info),
                opportunity_id=parse_id(input.opportunity_id, "input.opportunityId"),
                kind=input.kind, due_at=input.due_at, subject=input.subject, notes=input.notes,
                owner_id=optional_id(input.owner_id, "input.ownerId"),
            )
            return await _activity(h.schedule_activity(cmd, uow(info)))

        return await answer_mutation(run())

    @strawberry.mutation(description="Completing a call, email or meeting is a contact made.")  # type: ignore[untyped-decorator]
    async def complete_activity(
        self, info: Info, id: strawberry.ID, outcome: str | None = None
    ) -> ActivityResult:
        async def run() -> ActivityPayload:
            cmd = h.CompleteActivity(caller(info), parse_id(id, "id"), outcome)
            return await _activity(h.complete_activity(cmd, uow(info)))

        return await answer_mutation(run())

    @strawberry.mutation
    async def reschedule_activity(
        self, info: Info, id: strawberry.ID, due_at: datetime
    ) -> ActivityResult:
        async def run() -> ActivityPayload:
            cmd = h.RescheduleActivity(caller(info), parse_id(id, "id"), due_at)
            return await _activity(h.reschedule_activity(cmd, uow(info)))

        return await answer_mutation(run())

    @strawberry.mutation
    async def cancel_activity(self, info: Info, id: strawberry.ID) -> ActivityResult:
        async def run() -> ActivityPayload:
            cmd = h.CancelActivity(caller(info), parse_id(id, "id"))
            return await _activity(h.cancel_activity(cmd, uow(info)))

        return await answer_mutation(run())

"""The calendar: activity mutations, their events, the overdue worker and the list queries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmkit.contracts.pipeline import (
    ActivityCancelled,
    ActivityCompleted,
    ActivityOverdue,
    ActivityRescheduled,
    ActivityScheduled,
)
from services.pipeline.handlers.activities import AnnounceOverdue, announce_overdue

from .conftest import (
    COMPLETE,
    SCHEDULE,
    People,
    Service,
    create_opportunity,
    event_types,
    stages,
)

pytestmark = pytest.mark.integration

RESCHEDULE = """
mutation($id: ID!, $dueAt: DateTime!) { rescheduleActivity(id: $id, dueAt: $dueAt) {
  __typename ... on ActivityPayload { activity { dueAt version } }
  ... on ValidationError { fields { path } } } }
"""
CANCEL = """
mutation($id: ID!) { cancelActivity(id: $id) {
  __typename ... on ActivityPayload { activity { status } } ... on ValidationError { message }
} }
"""
NEXT_CONTACT = "query($id: ID!) { opportunity(id: $id) { nextContactAt contactMade } }"


async def schedule(
    service: Service, token: str, opp_id: str, due: datetime, kind: str = "CALL",
    subject: str = "Call the CFO",
) -> dict[str, Any]:
    data = await service.data(token, SCHEDULE, {"input": {
        "opportunityId": opp_id, "kind": kind, "dueAt": due.isoformat(), "subject": subject}})
    result: dict[str, Any] = data["scheduleActivity"]
    assert result["__typename"] == "ActivityPayload", result
    activity: dict[str, Any] = result["activity"]
    return activity


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def overdue_passes(service: Service, batch_size: int = 200) -> None:
    """The overdue worker's passes, each in a unit of work of its own, until one claims less
    than a full batch (the worker then waits for its interval)."""
    while await announce_overdue(AnnounceOverdue(datetime.now(UTC), batch_size),
                                 service.runtime.uow()) == batch_size:
        pass


async def test_activity_lifecycle_events_and_next_contact(
    pipeline_service: Service, people: People
) -> None:
    opp = await create_opportunity(pipeline_service, people.rep)
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    later = soon + timedelta(days=3)
    first = await schedule(pipeline_service, people.rep, opp["id"], later, "MEETING")
    second = await schedule(pipeline_service, people.rep, opp["id"], soon, "EMAIL")
    assert first["owner"] == {"id": str(people.rep_id)} and first["status"] == "OPEN"
    state = (await pipeline_service.data(people.rep, NEXT_CONTACT, {"id": opp["id"]}))
    assert at(state["opportunity"]["nextContactAt"]) == soon
    assert state["opportunity"]["contactMade"] is False

    moved = (await pipeline_service.data(people.rep, RESCHEDULE, {
        "id": second["id"], "dueAt": (later + timedelta(days=1)).isoformat()}))
    assert moved["rescheduleActivity"]["activity"]["version"] == 2
    state = (await pipeline_service.data(people.rep, NEXT_CONTACT, {"id": opp["id"]}))
    assert at(state["opportunity"]["nextContactAt"]) == later

    done = (await pipeline_service.data(people.rep, COMPLETE, {
        "id": first["id"], "outcome": "Wants a demo"}))["completeActivity"]["activity"]
    assert done["status"] == "DONE" and done["outcome"] == "Wants a demo"
    assert done["completedAt"] is not None
    cancelled = await pipeline_service.data(people.rep, CANCEL, {"id": second["id"]})
    assert cancelled["cancelActivity"]["activity"]["status"] == "CANCELLED"
    state = (await pipeline_service.data(people.rep, NEXT_CONTACT, {"id": opp["id"]}))
    assert state["opportunity"] == {"nextContactAt": None, "contactMade": True}

    again = await pipeline_service.data(people.rep, CANCEL, {"id": second["id"]})
    assert again["cancelActivity"]["__typename"] == "ValidationError"

    first_events = await pipeline_service.events(aggregate_id=first["id"])
    assert [e.type for e in first_events] == [ActivityScheduled.TYPE, ActivityCompleted.TYPE]
    completed = first_events[1].parse(ActivityCompleted)
    assert completed.opportunity_id == uuid.UUID(opp["id"]) and completed.team == "alpha"
    assert completed.owner_id == people.rep_id and completed.kind == "meeting"
    assert completed.status == "done" and completed.completed_at is not None
    assert [e.aggregate_version for e in first_events] == [1, 2]
    second_events = await pipeline_service.events(aggregate_id=second["id"])
    assert [e.type for e in second_events] == [
        ActivityScheduled.TYPE, ActivityRescheduled.TYPE, ActivityCancelled.TYPE]
    assert second_events[1].parse(ActivityRescheduled).previous_due_at == soon


async def test_completing_a_task_is_not_a_contact(
    pipeline_service: Service, people: People
) -> None:
    opp = await create_opportunity(pipeline_service, people.rep)
    task = await schedule(pipeline_service, people.rep, opp["id"],
                          datetime.now(UTC) + timedelta(hours=1), "TASK")
    await pipeline_service.data(people.rep, COMPLETE, {"id": task["id"]})
    state = (await pipeline_service.data(people.rep, NEXT_CONTACT, {"id": opp["id"]}))
    assert state["opportunity"]["contactMade"] is False


@pytest.mark.parametrize(
    ("input", "paths"),
    [
        ({"subject": ""}, {"input.subject"}),
        ({"subject": "x" * 301}, {"input.subject"}),
        ({"dueAt": "2030-01-01T10:00:00"}, {"input.dueAt"}),
        ({"notes": "n" * 10_001}, {"input.notes"}),
        ({"opportunityId": "bad"}, {"input.opportunityId"}),
    ],
)
async def test_schedule_validation(
    pipeline_service: Service, people: People, input: dict[str, str], paths: set[str]
) -> None:
    opp = await create_opportunity(pipeline_service, people.rep)
    values = {"opportunityId": opp["id"], "kind": "CALL", "dueAt": "2030-01-01T10:00:00Z",
              "subject": "Call", **input}
    data = await pipeline_service.data(people.rep, SCHEDULE, {"input": values})
    result = data["scheduleActivity"]
    assert result["__typename"] == "ValidationError", result
    assert {".".join(f["path"]) for f in result["fields"]} == paths
    assert await event_types(pipeline_service, opp["id"]) == ["opportunity.created"]


async def test_overdue_is_announced_exactly_once_even_with_concurrent_workers(
    pipeline_service: Service, people: People
) -> None:
    opp = await create_opportunity(pipeline_service, people.rep)
    now = datetime.now(UTC)
    past = [await schedule(pipeline_service, people.rep, opp["id"], now - timedelta(minutes=m))
            for m in (5, 10, 15)]
    future = await schedule(pipeline_service, people.rep, opp["id"], now + timedelta(days=1))
    done = await schedule(pipeline_service, people.rep, opp["id"], now - timedelta(minutes=1))
    await pipeline_service.data(people.rep, COMPLETE, {"id": done["id"]})

    # Several passes at once (several replicas), then again (a restart).
    await asyncio.gather(*(overdue_passes(pipeline_service, batch_size=1)
                           for _ in range(4)))
    await overdue_passes(pipeline_service)
    for activity in past:
        events = await pipeline_service.events(aggregate_id=activity["id"])
        assert [e.type for e in events] == [ActivityScheduled.TYPE, ActivityOverdue.TYPE]
        overdue = events[1].parse(ActivityOverdue)
        assert overdue.status == "open" and overdue.owner_id == people.rep_id
        assert events[1].aggregate_version == 2
    assert await event_types(pipeline_service, future["id"]) == ["activity.scheduled"]
    assert await event_types(pipeline_service, done["id"]) == [
        "activity.scheduled", "activity.completed"]

    # Rescheduled into the past again: announced once more, for the new due time.
    await pipeline_service.data(people.rep, RESCHEDULE, {
        "id": past[0]["id"], "dueAt": (now - timedelta(seconds=1)).isoformat()})
    await overdue_passes(pipeline_service)
    await overdue_passes(pipeline_service)
    assert (await event_types(pipeline_service, past[0]["id"])).count("activity.overdue") == 2


async def test_calendar_and_overdue_queries(pipeline_service: Service, people: People) -> None:
    opp = await create_opportunity(pipeline_service, people.rep)
    base = datetime(2031, 5, 5, 9, 0, tzinfo=UTC)
    mine = [await schedule(pipeline_service, people.rep, opp["id"], base + timedelta(hours=h),
                           subject=f"slot {h}") for h in (3, 1, 2, 30)]
    manager_own = await schedule(pipeline_service, people.manager, opp["id"],
                                 base + timedelta(hours=4))
    calendar = """
      query($from: DateTime!, $to: DateTime!, $owner: ID, $first: Int, $after: String) {
        activities(from: $from, to: $to, ownerId: $owner, first: $first, after: $after) {
          edges { cursor node { id subject } } pageInfo { hasNextPage endCursor } } }"""
    window = {"from": base.isoformat(), "to": (base + timedelta(days=1)).isoformat()}
    page = (await pipeline_service.data(people.rep, calendar, {**window, "first": 2}))
    subjects = [e["node"]["subject"] for e in page["activities"]["edges"]]
    assert subjects == ["slot 1", "slot 2"]
    assert page["activities"]["pageInfo"]["hasNextPage"] is True
    rest = (await pipeline_service.data(people.rep, calendar, {
        **window, "after": page["activities"]["pageInfo"]["endCursor"]}))
    assert [e["node"]["subject"] for e in rest["activities"]["edges"]] == ["slot 3"]
    # The rep sees only their own; the manager sees the team's, filterable by owner.
    manager_view = await pipeline_service.data(people.manager, calendar, window)
    assert len(manager_view["activities"]["edges"]) == 4
    only_rep = await pipeline_service.data(people.manager, calendar, {
        **window, "owner": str(people.rep_id)})
    assert len(only_rep["activities"]["edges"]) == 3
    assert manager_own["id"] not in {e["node"]["id"] for e in only_rep["activities"]["edges"]}
    bad = await pipeline_service.post(people.rep, calendar, {
        "from": window["to"], "to": window["from"]})
    assert bad.status_code == 200 and "must be after from" in bad.json()["errors"][0]["message"]
    # A time without its offset, or far out of range, is the caller's error, named (it was an
    # internal error: a time with an offset and one without do not compare).
    for window_of, field, problem in (
        ({"from": "2026-01-01T00:00:00", "to": window["to"]}, "from",
         "must carry a time zone offset"),
        ({"from": window["from"], "to": "2026-01-01T00:00:00"}, "to",
         "must carry a time zone offset"),
        ({"from": "0166-07-05T15:09:34+00:00", "to": window["to"]}, "from",
         "must be within the years 1970-9000"),
    ):
        refused = (await pipeline_service.post(people.rep, calendar, window_of)).json()
        error = refused["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", refused
        assert f"{field}: {problem}" in error["message"], refused
    # A text that is no DateTime says what is expected, not the parser's internals.
    garbled = (await pipeline_service.post(people.rep, calendar, {
        "from": "sqlalchemy.url", "to": window["to"]})).json()
    message = garbled["errors"][0]["message"]
    assert "Expected a date and time with its offset" in message and "int()" not in message
    assert len(mine) == 4

    late = await schedule(pipeline_service, people.rep, opp["id"],
                          datetime.now(UTC) - timedelta(hours=2))
    overdue = await pipeline_service.data(people.rep, """
      { overdueActivities { edges { node { id overdue } } } }""")
    nodes = [e["node"] for e in overdue["overdueActivities"]["edges"]]
    assert nodes == [{"id": late["id"], "overdue": True}]


async def test_no_next_contact_and_stale_queries(
    pipeline_service: Service, people: People
) -> None:
    s = await stages(pipeline_service, people.admin)
    await pipeline_service.data(people.admin, """
        mutation($id: ID!) { updateStage(stageId: $id, patch: {rottingDays: 7}) {
          __typename } }""", {"id": s["Identification"]})
    fresh = await create_opportunity(pipeline_service, people.rep, name="Fresh")
    rotting = await create_opportunity(pipeline_service, people.rep, name="Rotting")
    planned = await create_opportunity(pipeline_service, people.rep, name="Planned")
    await schedule(pipeline_service, people.rep, planned["id"],
                   datetime.now(UTC) + timedelta(days=2))
    await pipeline_service.sql(
        "UPDATE opportunities SET stage_entered_at = now() - interval '8 days' WHERE id = :id",
        id=uuid.UUID(rotting["id"]))

    async def ids(query: str) -> set[str]:
        selection = "{ edges { node { id isStale } } }"
        data = await pipeline_service.data(people.rep, f"{{ {query} {selection} }}")
        return {e["node"]["id"] for e in next(iter(data.values()))["edges"]}

    assert await ids("opportunitiesWithoutNextContact") == {fresh["id"], rotting["id"]}
    assert await ids("staleOpportunities") == {rotting["id"]}
    assert await ids("opportunities(filter: {stale: true})") == {rotting["id"]}
    assert await ids("opportunities(filter: {noNextContact: true, text: \"rot\"})") == {
        rotting["id"]}
    # A list answers isStale for every node from the pipelines it loads once; one
    # opportunity loads them when asked.
    listed = await pipeline_service.data(people.rep, """{ opportunities {
      edges { node { id isStale } } } }""")
    stale = {e["node"]["id"]: e["node"]["isStale"] for e in listed["opportunities"]["edges"]}
    assert stale == {fresh["id"]: False, rotting["id"]: True, planned["id"]: False}
    data = await pipeline_service.data(people.rep, "query($id: ID!) { opportunity(id: $id) { "
                                      "isStale } }", {"id": rotting["id"]})
    assert data["opportunity"]["isStale"] is True


async def test_the_background_worker_announces_and_stops(
    pipeline_service: Service, people: People
) -> None:
    """A runtime of the service as served (its periodic overdue pass every 50 ms) against
    the tests' database: it announces the late activity once, and stops with the runtime."""
    from services.pipeline import app

    from .conftest import eventually

    opp = await create_opportunity(pipeline_service, people.rep)
    late = await schedule(pipeline_service, people.rep, opp["id"],
                          datetime.now(UTC) - timedelta(minutes=1))
    settings = pipeline_service.runtime.settings.model_copy(update={
        "pipeline_overdue_interval_seconds": 0.05, "consumer_suffix": "-overdue-worker"})
    runtime = app.create_runtime(settings)
    await runtime.start()
    try:
        async def announced() -> bool:
            return "activity.overdue" in await event_types(pipeline_service, late["id"])

        await eventually(announced)
    finally:
        await asyncio.wait_for(runtime.stop(), 15)
    assert (await event_types(pipeline_service, late["id"])).count("activity.overdue") == 1

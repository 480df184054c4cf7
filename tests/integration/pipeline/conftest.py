"""The pipeline service in-process against real PostgreSQL and NATS, with a GraphQL client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crmkit.contracts import Envelope
from crmkit.contracts.leads import AccountCreated, MemberUpdated
from crmkit.testing.client import ServiceClient, service_client, service_settings
from crmkit.testing.plugin import Org, Servers
from services.pipeline import app
from services.pipeline.ports import PipelineRepository

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "pipeline" / "migrations"

pytestmark = pytest.mark.integration


Service = ServiceClient[PipelineRepository]


async def register_member(
    service: Service, org_id: uuid.UUID, member_id: uuid.UUID, team: str | None,
    version: int = 1,
) -> None:
    """The leads service's ``member.updated`` for a member, applied by the pipeline."""
    event = MemberUpdated(member_id=member_id, team=team, lead_cap=10, roles=["rep"],
                          changed=["registered"])
    await service.deliver(Envelope.wrap(event, org_id=org_id, aggregate_id=member_id,
                                        aggregate_version=version))


async def register_account(service: Service, org_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """The leads service's ``account.created``, applied by the pipeline."""
    event = AccountCreated(account_id=account_id, name="Orion Logistics")
    await service.deliver(Envelope.wrap(event, org_id=org_id, aggregate_id=account_id,
                                        aggregate_version=1))


async def event_types(service: Service, aggregate_id: uuid.UUID | str) -> list[str]:
    """The aggregate's events in the outbox, in order, without the ``crm.pipeline.`` prefix."""
    return [e.type.removeprefix("crm.pipeline.")
            for e in await service.events(aggregate_id=aggregate_id)]


@pytest.fixture(scope="session")
async def pipeline_service(
    crm_servers: Servers, migrated_database: Callable[..., Awaitable[str]]
) -> AsyncIterator[Service]:
    url = await migrated_database("pipeline", MIGRATIONS)
    # Tests drive the overdue pass themselves; the background one runs once at start.
    settings = service_settings(app, crm_servers, url, pipeline_overdue_interval_seconds=3600)
    async with service_client(app, settings) as client:
        yield client


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@dataclass
class People:
    """Members of one org: two reps and a manager in team alpha, a rep and a manager in
    team beta, and an admin."""

    org: Org
    rep: str
    rep_id: uuid.UUID
    rep2: str
    rep2_id: uuid.UUID
    manager: str
    manager_id: uuid.UUID
    beta_rep: str
    beta_rep_id: uuid.UUID
    beta_manager: str
    admin: str
    admin_id: uuid.UUID


def people_of(org: Org) -> People:
    ids = [uuid.uuid4() for _ in range(6)]
    return People(
        org=org,
        rep=org.token("rep", member_id=ids[0], team="alpha"),
        rep_id=ids[0],
        rep2=org.token("rep", member_id=ids[1], team="alpha"),
        rep2_id=ids[1],
        manager=org.token("manager", member_id=ids[2], team="alpha"),
        manager_id=ids[2],
        beta_rep=org.token("rep", member_id=ids[3], team="beta"),
        beta_rep_id=ids[3],
        beta_manager=org.token("manager", member_id=ids[4], team="beta"),
        admin=org.token("admin", member_id=ids[5], team=None),
        admin_id=ids[5],
    )


@pytest.fixture
def people(org: Org) -> People:
    return people_of(org)


@pytest.fixture
def outsiders(other_org: Org) -> People:
    return people_of(other_org)


OPPORTUNITY_FIELDS = """
    id name amount currency status probability version stageId pipelineId ownerId team
    expectedCloseDate contactMade offerIssued nextContactAt closeComment closeReasonId
    stage { id name kind }
    qualification { needs painPoints budget { amount currency } decisionMakers }
"""

CREATE = (
    f"""
mutation($input: CreateOpportunityInput!) {{
  createOpportunity(input: $input) {{
    __typename
    ... on OpportunityPayload {{ opportunity {{ {OPPORTUNITY_FIELDS} }} }}
    ... on ValidationError {{ message fields {{ path message }} }}
    ... on Forbidden {{ message }}
  }}
}}
"""
)

RESULT = (
    f"""
    __typename
    ... on OpportunityPayload {{ opportunity {{ {OPPORTUNITY_FIELDS} }} }}
    ... on ValidationError {{ message fields {{ path message }} }}
    ... on NotFound {{ message entity id }}
    ... on Forbidden {{ message }}
    ... on VersionConflict {{ message currentVersion }}
    ... on GateNotSatisfied {{ message stageId stageName missing }}
"""
)

MOVE = (
    f"""
mutation($id: ID!, $stageId: ID!, $v: Int!) {{
  moveOpportunity(id: $id, stageId: $stageId, expectedVersion: $v) {{ {RESULT} }}
}}
"""
)

UPDATE = (
    f"""
mutation($id: ID!, $v: Int!, $patch: OpportunityPatchInput!) {{
  updateOpportunity(id: $id, expectedVersion: $v, patch: $patch) {{ {RESULT} }}
}}
"""
)

WON = (
    f"""
mutation($id: ID!, $comment: String, $v: Int) {{
  markWon(id: $id, comment: $comment, expectedVersion: $v) {{ {RESULT} }}
}}
"""
)

LOST = (
    f"""
mutation($id: ID!, $reasonId: ID, $comment: String) {{
  markLost(id: $id, reasonId: $reasonId, comment: $comment) {{ {RESULT} }}
}}
"""
)

REOPEN = (
    f"""
mutation($id: ID!) {{ reopenOpportunity(id: $id) {{ {RESULT} }} }}
"""
)

ACTIVITY_RESULT = """
    __typename
    ... on ActivityPayload { activity { id opportunityId kind subject dueAt status completedAt
                                        outcome overdue version owner { id } } }
    ... on ValidationError { message fields { path message } }
    ... on NotFound { message }
    ... on Forbidden { message }
"""

SCHEDULE = (
    f"""
mutation($input: ScheduleActivityInput!) {{
  scheduleActivity(input: $input) {{ {ACTIVITY_RESULT} }}
}}
"""
)

COMPLETE = (
    f"""
mutation($id: ID!, $outcome: String) {{
  completeActivity(id: $id, outcome: $outcome) {{ {ACTIVITY_RESULT} }}
}}
"""
)

PIPELINES = """
{ pipelines { id name isDefault version
              stages { id name position probability kind rottingDays requirements } } }
"""


async def create_opportunity(
    service: Service, token: str, **input: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {"name": "Fleet renewal", "amount": "1200.50", "currency": "EUR"}
    values.update(input)
    data = await service.data(token, CREATE, {"input": values})
    result = data["createOpportunity"]
    assert result["__typename"] == "OpportunityPayload", result
    opportunity: dict[str, Any] = result["opportunity"]
    return opportunity


async def stages(service: Service, token: str) -> dict[str, str]:
    """Stage name -> id in the org's default pipeline."""
    data = await service.data(token, PIPELINES)
    default = next(p for p in data["pipelines"] if p["isDefault"])
    return {s["name"]: s["id"] for s in default["stages"]}

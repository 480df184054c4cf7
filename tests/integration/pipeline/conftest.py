"""The pipeline service in-process against real PostgreSQL and NATS, with a GraphQL client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from crmkit.contracts import Envelope
from crmkit.runtime import ServiceRuntime
from crmkit.settings import DEV_JWT_SECRET
from crmkit.testing.plugin import Org, Servers
from services.pipeline.app import create_app, create_runtime
from services.pipeline.schema import PipelineState
from services.pipeline.settings import PipelineSettings

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "pipeline" / "migrations"

pytestmark = pytest.mark.integration


@dataclass
class Service:
    runtime: ServiceRuntime
    client: httpx.AsyncClient
    state: PipelineState

    async def gql(
        self, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The ``data`` of a GraphQL answer; fails the test on a non-200 or on errors."""
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    async def raw(
        self, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )

    async def events(self, aggregate_id: uuid.UUID | str) -> list[Envelope]:
        """Every event written to the outbox for one aggregate, in order."""
        async with self.runtime.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT envelope FROM outbox WHERE aggregate_id = :id ORDER BY seq"),
                {"id": str(aggregate_id)},
            )
            return [Envelope.model_validate(r.envelope) for r in rows]

    async def event_types(self, aggregate_id: uuid.UUID | str) -> list[str]:
        return [e.type.removeprefix("crm.pipeline.") for e in await self.events(aggregate_id)]

    async def sql(self, statement: str, **params: Any) -> Any:
        async with self.runtime.engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return result.all() if result.returns_rows else result.rowcount


@pytest.fixture(scope="session")
async def pipeline_service(
    crm_servers: Servers, migrated_database: Callable[..., Awaitable[str]]
) -> AsyncIterator[Service]:
    url = await migrated_database("pipeline", MIGRATIONS)
    settings = PipelineSettings(
        environment="test",
        database_url=crm_servers.database_url,
        nats_url=crm_servers.nats_url,
        jwt_secret=DEV_JWT_SECRET,
        # Tests drive the overdue pass themselves; the background one runs once at start.
        pipeline_overdue_interval_seconds=3600,
    )
    runtime = create_runtime(settings, database_url=url)
    app = create_app(settings, runtime=runtime)
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pipeline") as client:
        yield Service(runtime, client, PipelineState(runtime.sessions, runtime.outbox))
    await runtime.stop()


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
    data = await service.gql(token, CREATE, {"input": values})
    result = data["createOpportunity"]
    assert result["__typename"] == "OpportunityPayload", result
    opportunity: dict[str, Any] = result["opportunity"]
    return opportunity


async def stages(service: Service, token: str) -> dict[str, str]:
    """Stage name -> id in the org's default pipeline."""
    data = await service.gql(token, PIPELINES)
    default = next(p for p in data["pipelines"] if p["isDefault"])
    return {s["name"]: s["id"] for s in default["stages"]}

"""The documents service running in-process against real PostgreSQL and NATS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import select

import services.documents
from crmkit.contracts import Envelope, Event
from crmkit.contracts.pipeline import OpportunityCreated
from crmkit.settings import DEV_JWT_SECRET, Settings
from crmkit.testing.plugin import Servers
from services.documents.app import DocumentsService, build_service
from services.documents.tables import outbox

MIGRATIONS = Path(services.documents.__file__).parent / "migrations"


@dataclass
class Api:
    """Posts GraphQL operations as a member of an org; every answer must be a 200."""

    client: httpx.AsyncClient
    service: DocumentsService

    async def call(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        return cast(dict[str, Any], response.json())

    async def data(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.call(token, query, **variables)
        assert "errors" not in body, body["errors"]
        return cast(dict[str, Any], body["data"])

    async def events(self, org_id: uuid.UUID) -> list[Envelope]:
        """The org's outbox, in the order it was written."""
        async with self.service.runtime.sessions() as session:
            rows = await session.execute(
                select(outbox.c.envelope)
                .where(outbox.c.envelope["org_id"].astext == str(org_id))
                .order_by(outbox.c.seq)
            )
            return [Envelope.model_validate(r.envelope) for r in rows]

    async def deliver(
        self, event: Event, org_id: uuid.UUID, aggregate_id: uuid.UUID, version: int
    ) -> bool:
        """Apply a pipeline event through the service's inbox consumer, as the bus would."""
        envelope = Envelope.wrap(
            event, org_id=org_id, aggregate_id=aggregate_id, aggregate_version=version
        )
        return await self.service.runtime.consumers[0].apply(envelope)

    async def opportunity(
        self,
        org_id: uuid.UUID,
        owner_id: uuid.UUID,
        team: str | None = "alpha",
        opportunity_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Tell the service about an opportunity, as the pipeline's created event does."""
        opportunity_id = opportunity_id or uuid.uuid4()
        await self.deliver(
            opportunity_created(opportunity_id, owner_id, team), org_id, opportunity_id, 1
        )
        return opportunity_id


def opportunity_created(
    opportunity_id: uuid.UUID, owner_id: uuid.UUID, team: str | None
) -> OpportunityCreated:
    return OpportunityCreated(
        opportunity_id=opportunity_id,
        name="Deal",
        owner_id=owner_id,
        team=team,
        pipeline_id=uuid.uuid4(),
        stage_id=uuid.uuid4(),
        status="open",
        amount="1000.00",  # type: ignore[arg-type]
        currency="EUR",
        probability=10,
    )


@pytest.fixture(scope="session")
async def documents_service(
    crm_servers: Servers, migrated_database: Any
) -> AsyncIterator[DocumentsService]:
    url = await migrated_database("documents", MIGRATIONS)
    settings = Settings(
        environment="test",
        database_url=crm_servers.database_url,
        nats_url=crm_servers.nats_url,
        jwt_secret=DEV_JWT_SECRET,
    )
    # A consumer name of its own, so a reused NATS server holds no position from an old run.
    service = build_service(
        settings, database_url=url, consumer_name=f"documents-test-{uuid.uuid4().hex[:8]}"
    )
    await service.runtime.start()
    yield service
    await service.runtime.stop()


@pytest.fixture
async def api(documents_service: DocumentsService) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=documents_service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://documents") as client:
        yield Api(client=client, service=documents_service)


# --- operations -------------------------------------------------------------------------------

ERRORS = """
    ... on ValidationError { message fields { path message } }
    ... on NotFound { message entity id }
    ... on Forbidden { message }
    ... on VersionConflict { message currentVersion }
"""

CREATE_FOLDER = f"""
mutation($name: String!, $groups: [String!]) {{
  createFolder(name: $name, allowedGroups: $groups) {{
    __typename
    ... on CreateFolderPayload {{ folder {{ id name allowedGroups version }} }}
    {ERRORS}
  }}
}}"""

SET_FOLDER_ACCESS = f"""
mutation($id: ID!, $groups: [String!]!, $expected: Int) {{
  setFolderAccess(folderId: $id, allowedGroups: $groups, expectedVersion: $expected) {{
    __typename
    ... on SetFolderAccessPayload {{ folder {{ id allowedGroups version }} }}
    {ERRORS}
  }}
}}"""

UPLOAD = f"""
mutation($folder: ID!, $name: String!, $kind: DocumentKind!, $content: String!,
         $encoding: ContentEncoding! = TEXT, $media: String! = "text/plain",
         $groups: [String!]) {{
  uploadDocument(folderId: $folder, name: $name, kind: $kind, content: $content,
                 contentEncoding: $encoding, mediaType: $media, allowedGroups: $groups) {{
    __typename
    ... on UploadDocumentPayload {{
      document {{ id name kind allowedGroups currentVersion folder {{ id }} }}
      version {{ number sizeBytes sha256 mediaType }}
    }}
    {ERRORS}
  }}
}}"""

ADD_VERSION = f"""
mutation($id: ID!, $content: String!, $encoding: ContentEncoding! = TEXT, $expected: Int) {{
  addDocumentVersion(documentId: $id, content: $content, contentEncoding: $encoding,
                     expectedVersion: $expected) {{
    __typename
    ... on AddDocumentVersionPayload {{
      document {{ id currentVersion }}
      version {{ number sizeBytes sha256 text }}
    }}
    {ERRORS}
  }}
}}"""

SET_DOCUMENT_ACCESS = f"""
mutation($id: ID!, $groups: [String!]!) {{
  setDocumentAccess(documentId: $id, allowedGroups: $groups) {{
    __typename
    ... on SetDocumentAccessPayload {{ document {{ id allowedGroups }} }}
    {ERRORS}
  }}
}}"""

ISSUE_OFFER = f"""
mutation($opportunity: ID!, $template: ID!, $values: [OfferValueInput!], $title: String,
         $templateVersion: Int, $amount: Decimal, $currency: String) {{
  issueOffer(opportunityId: $opportunity, templateId: $template, values: $values,
             title: $title, templateVersion: $templateVersion, amount: $amount,
             currency: $currency) {{
    __typename
    ... on IssueOfferPayload {{
      offer {{
        id opportunityId templateId templateVersion title content mediaType amount currency
        issuedBy
      }}
    }}
    {ERRORS}
  }}
}}"""

OFFERS = """
query($opportunity: ID!) { offers(opportunityId: $opportunity) { id title issuedBy } }"""

DOCUMENTS = """
query($folder: ID, $kind: DocumentKind, $first: Int, $after: String) {
  documents(folderId: $folder, kind: $kind, first: $first, after: $after) {
    edges { cursor node { id name kind } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

TEMPLATE_TEXT = "Offer for ${client}: ${product} at ${price}."


async def make_folder(api: Api, token: str, groups: list[str] | None = None) -> str:
    result = (
        await api.data(token, CREATE_FOLDER, name=f"Folder {uuid.uuid4().hex[:6]}", groups=groups)
    )["createFolder"]
    assert result["__typename"] == "CreateFolderPayload", result
    return cast(str, result["folder"]["id"])


async def make_document(
    api: Api,
    token: str,
    folder_id: str,
    *,
    name: str = "Document",
    kind: str = "OFFER_TEMPLATE",
    content: str = TEMPLATE_TEXT,
    groups: list[str] | None = None,
) -> str:
    result = (
        await api.data(
            token, UPLOAD, folder=folder_id, name=name, kind=kind, content=content, groups=groups
        )
    )["uploadDocument"]
    assert result["__typename"] == "UploadDocumentPayload", result
    return cast(str, result["document"]["id"])


OFFER_VALUES = [
    {"name": "client", "value": "ACME"},
    {"name": "product", "value": "CRM"},
    {"name": "price", "value": "1 200 EUR"},
]

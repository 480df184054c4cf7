"""The documents service running in-process against real PostgreSQL and NATS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

import services.documents
from crmkit.contracts import Envelope, Event
from crmkit.contracts.pipeline import OpportunityCreated
from crmkit.testing.client import ServiceClient, service_client, service_settings
from crmkit.testing.plugin import Servers
from services.documents import app
from tests.integration.documents.s3server import S3Server, s3_server

MIGRATIONS = Path(services.documents.__file__).parent / "migrations"
Api = ServiceClient[Any]


async def deliver(
    api: Api, event: Event, org_id: uuid.UUID, aggregate_id: uuid.UUID,
    version: int,
) -> bool:
    """Apply a pipeline event through the service's inbox consumer, as the bus would."""
    return await api.deliver(
        Envelope.wrap(event, org_id=org_id, aggregate_id=aggregate_id, aggregate_version=version)
    )


async def opportunity(
    api: Api,
    org_id: uuid.UUID,
    owner_id: uuid.UUID,
    team: str | None = "alpha",
    opportunity_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Tell the service about an opportunity, as the pipeline's created event does."""
    opportunity_id = opportunity_id or uuid.uuid4()
    await deliver(api, opportunity_created(opportunity_id, owner_id, team), org_id,
                  opportunity_id, 1)
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
def s3() -> Iterator[S3Server]:
    """A real S3 API server (moto in server mode) for the session."""
    with s3_server() as server:
        yield server


@pytest.fixture(scope="session")
async def documents_database(migrated_database: Any) -> str:
    url: str = await migrated_database("documents", MIGRATIONS)
    return url


@pytest.fixture(scope="session")
async def api(
    crm_servers: Servers, documents_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    data_dir = str(tmp_path_factory.mktemp("documents-data"))
    settings = service_settings(app, crm_servers, documents_database, data_dir=data_dir)
    async with service_client(app, settings) as client:
        yield client


# --- operations -------------------------------------------------------------------------------

ERRORS = """
    ... on ValidationError { message fields { path message } }
    ... on NotFound { message entity id }
    ... on Forbidden { message }
    ... on VersionConflict { message currentVersion }
"""

CREATE_FOLDER = f"""
mutation($name: String!, $groups: [String!], $writers: [String!], $parent: ID) {{
  createFolder(name: $name, allowedGroups: $groups, writeGroups: $writers, parentId: $parent) {{
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


async def make_folder(
    api: Api, token: str, groups: list[str] | None = None, *,
    writers: list[str] | None = None, parent: str | None = None,
) -> str:
    result = (
        await api.data(token, CREATE_FOLDER, name=f"Folder {uuid.uuid4().hex[:6]}",
                       groups=groups, writers=writers, parent=parent)
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

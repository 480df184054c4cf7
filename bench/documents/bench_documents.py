"""Documents service benchmark (not a test).

Runs the service in-process (ASGI, no network) against embedded servers, or
CRM_BENCH_DATABASE_URL / CRM_BENCH_NATS_URL, and measures:

1. ``issueOffer`` latency (render + offer row + outbox event, one transaction), sequential;
2. ``documents(first: 50)`` latency for a rep with groups, over a library of N documents
   where a third are hidden from them (group filter in SQL);
3. uploading a 5 MB document (base64 over GraphQL) and reading it back.

Run: .venv/bin/python bench/documents/bench_documents.py [--requests 500] [--documents 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

import services.documents
from bench.servers import bench_servers, machine, today
from crmkit.auth import mint_dev_token
from crmkit.db import drop_database, ensure_database, with_database
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET
from services.documents.app import create_app, create_runtime
from services.documents.settings import DocumentsSettings

MIGRATIONS = Path(services.documents.__file__).parent / "migrations"


def token(org_id: uuid.UUID, role: str, groups: tuple[str, ...] = ()) -> str:
    return mint_dev_token(
        secret=DEV_JWT_SECRET,
        member_id=uuid.uuid4(),
        org_id=org_id,
        roles=[role],
        team="alpha",
        groups=groups,
    )


async def call(client: httpx.AsyncClient, auth: str, query: str, **variables: Any) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {auth}"},
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(ordered)} requests"


UPLOAD = """mutation($folder: ID!, $name: String!, $kind: DocumentKind!, $content: String!,
  $encoding: ContentEncoding! = TEXT, $groups: [String!]) {
  uploadDocument(folderId: $folder, name: $name, kind: $kind, content: $content,
    contentEncoding: $encoding, allowedGroups: $groups) {
    ... on UploadDocumentPayload { document { id } } } }"""
ISSUE = """mutation($opportunity: ID!, $template: ID!, $values: [OfferValueInput!]) {
  issueOffer(opportunityId: $opportunity, templateId: $template, values: $values) {
    ... on IssueOfferPayload { offer { id } } } }"""
LIST = "{ documents(first: 50) { edges { node { id name } } pageInfo { hasNextPage } } }"


async def run(requests: int, library_size: int) -> None:
    with bench_servers() as (server_url, nats_url):
        name = f"crm_documents_bench_{uuid.uuid4().hex[:8]}"
        await ensure_database(server_url, name)
        url = with_database(server_url, name)
        await upgrade(MIGRATIONS, url)
        settings = DocumentsSettings(environment="test", database_url=server_url,
                                     nats_url=nats_url, documents_database_url=url)
        runtime = create_runtime(settings)
        await runtime.start()
        transport = httpx.ASGITransport(app=create_app(settings, runtime=runtime))
        org = uuid.uuid4()
        admin = token(org, "admin")
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                folder = await call(
                    client,
                    admin,
                    'mutation { createFolder(name: "B") {'
                    " ... on CreateFolderPayload { folder { id } } } }",
                )
                folder_id = folder["createFolder"]["folder"]["id"]
                template = "Dear ${client},\n" + "Line of offer text. " * 200 + "\n${price}\n"
                template_id = (
                    await call(
                        client,
                        admin,
                        UPLOAD,
                        folder=folder_id,
                        name="T",
                        kind="OFFER_TEMPLATE",
                        content=template,
                    )
                )["uploadDocument"]["document"]["id"]

                values = [{"name": "client", "value": "ACME"}, {"name": "price", "value": "1"}]
                samples = []
                for _ in range(requests):
                    started = time.perf_counter()
                    await call(
                        client,
                        admin,
                        ISSUE,
                        opportunity=str(uuid.uuid4()),
                        template=template_id,
                        values=values,
                    )
                    samples.append(time.perf_counter() - started)
                print(f"issueOffer ({len(template)} chars template): {summary(samples)}")

                for index in range(library_size):
                    groups = ["legal"] if index % 3 == 0 else None
                    await call(
                        client,
                        admin,
                        UPLOAD,
                        folder=folder_id,
                        name=f"doc {index}",
                        kind="OTHER",
                        content=f"content {index}",
                        groups=groups,
                    )
                rep = token(org, "rep", ("sales",))
                samples = []
                for _ in range(requests):
                    started = time.perf_counter()
                    await call(client, rep, LIST)
                    samples.append(time.perf_counter() - started)
                print(
                    f"documents(first: 50), {library_size} documents, 1/3 hidden: "
                    f"{summary(samples)}"
                )

                big = base64.b64encode(b"\x01" * (5 * 1024 * 1024)).decode()
                started = time.perf_counter()
                big_id = (
                    await call(
                        client,
                        admin,
                        UPLOAD,
                        folder=folder_id,
                        name="big",
                        kind="OTHER",
                        content=big,
                        encoding="BASE64",
                    )
                )["uploadDocument"]["document"]["id"]
                uploaded = time.perf_counter() - started
                started = time.perf_counter()
                read = await call(
                    client,
                    admin,
                    "query($id: ID!) { document(id: $id) { latestVersion { base64 } } }",
                    id=big_id,
                )
                assert len(read["document"]["latestVersion"]["base64"]) == len(big)
                print(
                    f"5 MB upload {uploaded * 1000:.0f} ms, read back "
                    f"{(time.perf_counter() - started) * 1000:.0f} ms"
                )
        finally:
            await runtime.stop()
            await drop_database(server_url, name)
    print(f"machine: {machine()}; date: {today()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--documents", type=int, default=3000)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.documents))


if __name__ == "__main__":
    main()

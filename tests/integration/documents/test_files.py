"""Files over plain HTTP through the public origin: the gateway (served on a real port, composed
from the documents service) forwards /files/ to the documents service (served on a real port),
with both stores: local files and an S3 API server (moto in server mode)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import crmkit.body
from crmkit.auth import Caller, Role
from crmkit.embedded import free_port
from crmkit.settings import DEV_JWT_SECRET, Settings
from crmkit.testing.client import service_settings
from crmkit.testing.plugin import Org, Servers
from crmkit.testing.served import served as served_on_a_port
from gateway.bootstrap import build_app
from gateway.settings import GatewaySettings
from services.documents import app
from services.documents.settings import DEV_FILES_SECRET
from services.documents.signing import Action, Grant, Signer
from tests.integration.documents.s3server import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    S3Server,
    keys,
    make_bucket,
)

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
EXE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(44)
       + b"\x80\x00\x00\x00" + bytes(64) + b"PE\x00\x00" + bytes(200))

CREATE_FOLDER = """
mutation($name: String!) { createFolder(name: $name) {
  __typename ... on CreateFolderPayload { folder { id } } } }"""
REQUEST_UPLOAD = """
mutation($folder: ID!, $name: String!, $media: String!) {
  requestDocumentUpload(folderId: $folder, name: $name, kind: PRICE_LIST, mediaType: $media) {
    __typename
    ... on RequestUploadPayload { upload { url method expiresAt maxBytes } }
    ... on NotFound { message }
    ... on ValidationError { message }
  } }"""
REQUEST_VERSION_UPLOAD = """
mutation($id: ID!, $expected: Int) {
  requestDocumentVersionUpload(documentId: $id, expectedVersion: $expected) {
    __typename ... on RequestUploadPayload { upload { url } } } }"""
REQUEST_DOWNLOAD = """
mutation($id: ID!, $version: Int) { requestDocumentDownload(documentId: $id, version: $version) {
  __typename
  ... on RequestDownloadPayload { download { url version mediaType sizeBytes sha256 } }
  ... on NotFound { message }
  ... on ValidationError { message }
} }"""
UPLOAD_INLINE = """
mutation($folder: ID!, $content: String!) {
  uploadDocument(folderId: $folder, name: "inline", kind: OTHER, content: $content,
                 contentEncoding: BASE64, mediaType: "application/pdf") {
    __typename
    ... on UploadDocumentPayload { document { id } }
    ... on ContentRefused { message reason declaredType detectedType }
  } }"""
DOCUMENTS = """
query($folder: ID) { documents(folderId: $folder) { edges { node { id name } } } }"""


@contextlib.asynccontextmanager
async def served(asgi: Any, *, lifespan: str) -> AsyncIterator[str]:
    async with served_on_a_port(asgi, lifespan=lifespan, ws="none") as port:
        yield f"http://127.0.0.1:{port}"


@dataclass
class Origin:
    """The public origin (the gateway) and what stores the bytes behind it."""

    http: httpx.AsyncClient
    storage: str
    blobs: Path | None
    s3: S3Server | None
    bucket: str | None

    async def data(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        answer = await self.http.post(
            "/graphql", json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
        body = answer.json()
        assert "errors" not in body, body
        return dict(body["data"])

    async def stored_keys(self, org_id: uuid.UUID) -> list[str]:
        if self.blobs is not None:
            root = self.blobs / str(org_id)
            return sorted(p.name for p in root.iterdir()) if root.exists() else []
        assert self.s3 is not None and self.bucket is not None
        return sorted(k.split("/")[1] for k in await keys(self.s3, self.bucket, f"{org_id}/"))


@pytest.fixture(params=["local", "s3"])
async def origin(
    request: pytest.FixtureRequest, crm_servers: Servers, documents_database: str,
    tmp_path: Path,
) -> AsyncIterator[Origin]:
    s3: S3Server | None = None
    bucket: str | None = None
    storage: dict[str, Any] = {"data_dir": str(tmp_path)}
    if request.param == "s3":
        s3 = request.getfixturevalue("s3")
        bucket = await make_bucket(s3)
        storage = {
            "documents_storage": "s3", "documents_s3_bucket": bucket,
            "documents_s3_region": REGION, "documents_s3_endpoint_url": s3.endpoint_url,
            "documents_s3_access_key_id": ACCESS_KEY,
            "documents_s3_secret_access_key": SECRET_KEY,
        }
    settings = service_settings(app, crm_servers, documents_database, **storage)
    runtime = app.create_runtime(settings)
    await runtime.start()
    try:
        async with served(app.create_app(settings, runtime=runtime), lifespan="off") as docs:
            nowhere = f"http://127.0.0.1:{free_port()}/graphql"  # nothing listens there
            edge = Settings(environment="test", jwt_secret=DEV_JWT_SECRET,
                            documents_url=f"{docs}/graphql", leads_url=nowhere,
                            pipeline_url=nowhere, reporting_url=nowhere)
            gateway = build_app(edge, GatewaySettings(compose_at_startup=True,
                                                      subgraph_timeout_seconds=5))
            async with (
                served(gateway, lifespan="on") as public,
                httpx.AsyncClient(base_url=public, timeout=60) as http,
            ):
                blobs = tmp_path / "documents" / "blobs" if s3 is None else None
                yield Origin(http, request.param, blobs, s3, bucket)
    finally:
        await runtime.stop()


async def new_folder(origin: Origin, token: str) -> str:
    made = await origin.data(token, CREATE_FOLDER, name=f"Files {uuid.uuid4().hex[:8]}")
    return str(made["createFolder"]["folder"]["id"])


async def upload_url(origin: Origin, token: str, folder: str, name: str, media: str) -> str:
    answer = (await origin.data(token, REQUEST_UPLOAD, folder=folder, name=name, media=media))[
        "requestDocumentUpload"]
    assert answer["__typename"] == "RequestUploadPayload", answer
    upload = answer["upload"]
    assert upload["method"] == "PUT"
    assert upload["maxBytes"] == 50 * 1024 * 1024
    assert upload["url"].startswith("/files/")
    return str(upload["url"])


async def download_url(origin: Origin, token: str, document: str,
                       version: int | None = None) -> dict[str, Any]:
    answer = (await origin.data(token, REQUEST_DOWNLOAD, id=document, version=version))[
        "requestDocumentDownload"]
    assert answer["__typename"] == "RequestDownloadPayload", answer
    return dict(answer["download"])


async def test_a_large_file_round_trip_through_the_public_origin(
    origin: Origin, org: Org
) -> None:
    admin = org.token("admin")
    folder = await new_folder(origin, admin)
    data = PDF + os.urandom(6 * 1024 * 1024)  # over the in-memory size: staged and streamed
    url = await upload_url(origin, admin, folder, "Cennik 2027 — zima", "application/pdf")
    put = await origin.http.put(url, content=data)
    assert put.status_code == 201, put.text
    stored = put.json()
    sha256 = hashlib.sha256(data).hexdigest()
    assert stored["version"] == {"number": 1, "mediaType": "application/pdf",
                                 "sizeBytes": len(data), "sha256": sha256}
    document = stored["document"]["id"]

    download = await download_url(origin, admin, document)
    assert download["sha256"] == sha256 and download["sizeBytes"] == len(data)
    got = await origin.http.get(download["url"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["etag"] == f'"{sha256}"'
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"Cennik 2027 _ zima.pdf\"; "
        "filename*=UTF-8''Cennik%202027%20%E2%80%94%20zima.pdf"
    )
    part = await origin.http.get(download["url"], headers={"range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    tail = await origin.http.get(download["url"], headers={"range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, data[-10:])
    outside = await origin.http.get(download["url"], headers={"range": f"bytes={len(data)}-"})
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(data)}"
    cached = await origin.http.get(download["url"], headers={"if-none-match": f'"{sha256}"'})
    assert cached.status_code == 304
    head = await origin.http.head(download["url"])
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))
    assert await origin.stored_keys(org.id) == [sha256]


async def test_identical_content_is_stored_once_and_each_version_has_its_sha256(
    origin: Origin, org: Org
) -> None:
    admin = org.token("admin")
    folder = await new_folder(origin, admin)
    first, second = b"Price list v1\n", b"Price list v2\n"
    ids = []
    for name in ("A", "B"):
        put = await origin.http.put(await upload_url(origin, admin, folder, name, "text/plain"),
                                    content=first)
        assert put.status_code == 201, put.text
        ids.append(put.json()["document"]["id"])
    answer = (await origin.data(admin, REQUEST_VERSION_UPLOAD, id=ids[0], expected=1))[
        "requestDocumentVersionUpload"]
    put = await origin.http.put(answer["upload"]["url"], content=second)
    assert put.status_code == 200, put.text
    assert put.json()["version"]["number"] == 2
    assert put.json()["version"]["sha256"] == hashlib.sha256(second).hexdigest()
    assert await origin.stored_keys(org.id) == sorted(
        hashlib.sha256(x).hexdigest() for x in (first, second)
    )
    old = await download_url(origin, admin, ids[0], version=1)
    assert (await origin.http.get(old["url"])).content == first
    # The same URL again: the expected version has moved on.
    again = await origin.http.put(answer["upload"]["url"], content=b"v3")
    assert again.status_code == 409
    assert again.json()["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_an_executable_declared_as_pdf_is_refused_and_nothing_is_stored(
    origin: Origin, org: Org
) -> None:
    admin = org.token("admin")
    folder = await new_folder(origin, admin)
    put = await origin.http.put(
        await upload_url(origin, admin, folder, "invoice.pdf", "application/pdf"), content=EXE
    )
    assert put.status_code == 415
    error = put.json()["errors"][0]
    assert error["message"] == "executable files are not accepted"
    assert error["extensions"] == {"code": "CONTENT_REFUSED", "reason": "EXECUTABLE",
                                   "declaredType": "application/pdf", "detectedType": None}
    png = await origin.http.put(
        await upload_url(origin, admin, folder, "scan.pdf", "application/pdf"),
        content=b"\x89PNG\r\n\x1a\n" + bytes(100),
    )
    assert png.status_code == 415
    assert png.json()["errors"][0]["extensions"]["reason"] == "TYPE_MISMATCH"
    assert png.json()["errors"][0]["extensions"]["detectedType"] == "image/png"
    inline = (await origin.data(admin, UPLOAD_INLINE, folder=folder,
                                content=base64.b64encode(EXE).decode()))["uploadDocument"]
    assert inline == {"__typename": "ContentRefused", "message": "executable files are not "
                      "accepted", "reason": "EXECUTABLE", "declaredType": "application/pdf",
                      "detectedType": None}
    listed = await origin.data(admin, DOCUMENTS, folder=folder)
    assert listed["documents"]["edges"] == []
    assert await origin.stored_keys(org.id) == []


def signed(action: Action, caller: Caller, expires_at: datetime, secret: str = DEV_FILES_SECRET,
           **fields: object) -> str:
    return Signer(secret, 300).sign(Grant(action, caller, expires_at, dict(fields)))


async def test_expired_forged_and_misused_urls_are_refused(origin: Origin, org: Org) -> None:
    admin = org.token("admin")
    folder = await new_folder(origin, admin)
    put = await origin.http.put(await upload_url(origin, admin, folder, "a", "text/plain"),
                                content=b"hello")
    document = put.json()["document"]["id"]
    url = (await download_url(origin, admin, document))["url"]
    assert (await origin.http.get(url)).status_code == 200

    someone = Caller(member_id=uuid.uuid4(), org_id=org.id, roles=frozenset({Role.ADMIN}))
    later = datetime.now(UTC) + timedelta(minutes=5)
    expired = signed(Action.DOWNLOAD, someone, datetime.now(UTC) - timedelta(seconds=1),
                     documentId=document, version=1)
    other_secret = signed(Action.DOWNLOAD, someone, later, "another-secret-" + "x" * 32,
                          documentId=document, version=1)
    payload, signature = url.removeprefix("/files/").split(".")
    changed = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    cases = {
        expired: "URL_EXPIRED",
        other_secret: "BAD_SIGNATURE",
        f"/files/{changed}.{signature}": "BAD_SIGNATURE",
        f"/files/{payload}.{signature[:-1]}": "BAD_SIGNATURE",
        "/files/nonsense": "BAD_SIGNATURE",
    }
    for bad, code in cases.items():
        answer = await origin.http.get(bad)
        assert answer.status_code == 403, bad
        assert answer.json()["errors"][0]["extensions"]["code"] == code
        assert (await origin.http.put(bad, content=b"x")).status_code == 403
    # A download URL takes no upload, an upload URL serves no download.
    assert (await origin.http.put(url, content=b"x")).status_code == 405
    upload = await upload_url(origin, admin, folder, "b", "text/plain")
    assert (await origin.http.get(upload)).status_code == 405
    assert (await origin.data(admin, DOCUMENTS, folder=folder))["documents"]["edges"] == [
        {"node": {"id": document, "name": "a"}}
    ]


async def test_another_org_gets_no_url_and_sees_nothing(
    origin: Origin, org: Org, other_org: Org
) -> None:
    admin = org.token("admin")
    folder = await new_folder(origin, admin)
    put = await origin.http.put(await upload_url(origin, admin, folder, "a", "text/plain"),
                                content=b"ours")
    document = put.json()["document"]["id"]
    theirs = other_org.token("admin")
    download = (await origin.data(theirs, REQUEST_DOWNLOAD, id=document, version=None))[
        "requestDocumentDownload"]
    assert download["__typename"] == "NotFound"
    upload = (await origin.data(theirs, REQUEST_UPLOAD, folder=folder, name="x",
                                media="text/plain"))["requestDocumentUpload"]
    assert upload["__typename"] == "NotFound"
    # A URL signed for them naming our document finds nothing either.
    stranger = Caller(member_id=uuid.uuid4(), org_id=other_org.id, roles=frozenset({Role.ADMIN}))
    forged = signed(Action.DOWNLOAD, stranger, datetime.now(UTC) + timedelta(minutes=1),
                    documentId=document, version=1)
    answer = await origin.http.get(forged)
    assert answer.status_code == 404
    assert await origin.stored_keys(other_org.id) == []


async def test_more_than_50_mb_is_refused(origin: Origin, org: Org) -> None:
    admin = org.token("admin")
    folder = await new_folder(origin, admin)
    url = await upload_url(origin, admin, folder, "big", "application/pdf")
    # A declared length over the limit is refused before the body is read.
    host, port = str(origin.http.base_url.host), int(origin.http.base_url.port or 80)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"PUT {url} HTTP/1.1\r\nHost: {host}\r\nContent-Length: "
                 f"{50 * 1024 * 1024 + 1}\r\n\r\n%PDF".encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    assert status_line.split()[1] == b"413"

    async def body() -> AsyncIterator[bytes]:  # no length: counted as it arrives
        chunk = PDF + bytes(1024 * 1024 - len(PDF))
        for _ in range(51):
            yield chunk

    streamed = await origin.http.put(url, content=body())
    assert streamed.status_code == 413
    assert streamed.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (await origin.data(admin, DOCUMENTS, folder=folder))["documents"]["edges"] == []


async def test_a_stalled_upload_ends_408_and_stores_nothing(
    origin: Origin, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload read by the kit's reader (as every body): a client that stops sending is
    answered 408 after the idle limit, through the public origin, and nothing is stored."""
    monkeypatch.setattr(crmkit.body, "BODY_IDLE_SECONDS", 0.3)
    admin = org.token("admin")
    folder = await new_folder(origin, admin)
    url = await upload_url(origin, admin, folder, "stalled", "application/pdf")
    host, port = str(origin.http.base_url.host), int(origin.http.base_url.port or 80)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"PUT {url} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/pdf\r\n"
                 f"Content-Length: {len(PDF) + 1000}\r\n\r\n".encode() + PDF)  # and no more
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    assert status_line.split()[1] == b"408"
    assert (await origin.data(admin, DOCUMENTS, folder=folder))["documents"]["edges"] == []
    assert await origin.stored_keys(org.id) == []

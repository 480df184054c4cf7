"""/files/: the bytes of documents over plain HTTP, behind short-lived signed URLs (ADR 0015).

``PUT /files/<grant>`` streams an upload to a temporary file (its sha256 and size counted on
the way, at most 50 MB) and runs the upload use case as the member the URL was signed for;
``GET``/``HEAD /files/<grant>`` streams a version with ``Content-Disposition``, ``ETag`` (the
sha256) and single byte ranges (206). Thin: the rules are the handlers'."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from crmkit.app import refused_body
from crmkit.body import (
    TOO_LARGE_CODE,
    TOO_LARGE_STATUS,
    BodyTimedOut,
    BodyTooLarge,
    ClientDisconnect,
    refusal,
    stream_body,
)
from crmkit.errors import (
    DomainError,
    ForbiddenError,
    InvalidInput,
    NotFoundError,
    VersionConflictError,
)
from crmkit.uow import UnitOfWork
from services.documents import domain as d
from services.documents.handlers import library as h
from services.documents.handlers.offers import OfferDownload, offer_download
from services.documents.ports import BlobStore, DocumentsRepository
from services.documents.signing import Action, BadSignature, Grant, Signer
from services.documents.sniffing import SNIFF_BYTES, ContentRefused

WRITE_BUFFER = 1024 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# A downloaded file never runs as a page of the app's origin.
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, max-age=300",
}


@dataclass(frozen=True)
class Files:
    uow: Callable[[], UnitOfWork[DocumentsRepository]]
    store: BlobStore
    signer: Signer


def routes(files: Files) -> list[BaseRoute]:
    async def endpoint(request: Request) -> Response:
        return await serve(files, request)

    return [Route("/files/{token}", endpoint, methods=["GET", "HEAD", "PUT"])]


def error(status: int, code: str, message: str, **extensions: Any) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]},
        status_code=status,
    )


def domain_error(failure: DomainError) -> JSONResponse:
    if isinstance(failure, ContentRefused):
        return error(415, "CONTENT_REFUSED", failure.message, reason=failure.reason.value,
                     declaredType=failure.declared, detectedType=failure.detected)
    if isinstance(failure, InvalidInput):
        fields = [{"path": list(p.path), "message": p.message} for p in failure.problems]
        return error(400, "BAD_USER_INPUT", failure.message, fields=fields)
    if isinstance(failure, NotFoundError):
        return error(404, "NOT_FOUND", failure.message)
    if isinstance(failure, ForbiddenError):
        return error(403, "FORBIDDEN", failure.message)
    if isinstance(failure, VersionConflictError):
        return error(409, "CONFLICT", failure.message, currentVersion=failure.current)
    return error(400, "BAD_USER_INPUT", failure.message)


async def serve(files: Files, request: Request) -> Response:
    try:
        grant = files.signer.verify(request.path_params["token"], datetime.now(UTC))
    except BadSignature as refused:
        code = "URL_EXPIRED" if refused.expired else "BAD_SIGNATURE"
        return error(403, code, str(refused))
    writes = grant.action in (Action.UPLOAD, Action.ADD_VERSION)
    if writes != (request.method == "PUT"):
        allowed = "PUT" if writes else "GET, HEAD"
        response = error(405, "METHOD_NOT_ALLOWED", f"this URL takes {allowed}")
        response.headers["Allow"] = allowed
        return response
    try:
        if writes:
            return await upload(files, grant, request)
        if grant.action is Action.OFFER:
            return await offer_file(files, grant, request)
        return await download(files, grant, request)
    except DomainError as failure:
        return domain_error(failure)


async def offer_file(files: Files, grant: Grant, request: Request) -> Response:
    """An offer revision's file (tens of KB, whole), as visible as the offer is now."""
    download = await offer_download(OfferDownload(
        grant.caller, uuid.UUID(str(grant.fields["offerId"])),
        int(str(grant.fields["revision"]))), files.uow())
    name, found = download.name, download.file
    etag = f'"{found.sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache",
               "X-Content-Type-Options": "nosniff",
               "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else found.data
    return Response(body, media_type=found.media_type, headers=headers)


# --- uploads ------------------------------------------------------------------------------


async def stage(request: Request, directory: str | None = None) -> tuple[Path, str, int, bytes]:
    """The request body in a temporary file: its path, sha256, size and first bytes; read by
    the kit's reader (:func:`crmkit.body.stream_body`): ``BodyTooLarge`` as soon as it passes
    :data:`~services.documents.domain.MAX_FILE_BYTES`, ``BodyTimedOut`` when the client
    stalls."""
    fd, name = tempfile.mkstemp(prefix="crm-upload-", dir=directory)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    pending = bytearray()
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in stream_body(request.receive, d.MAX_FILE_BYTES):
                size += len(chunk)
                digest.update(chunk)
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                pending += chunk
                if len(pending) >= WRITE_BUFFER:
                    await asyncio.to_thread(out.write, bytes(pending))
                    pending.clear()
            await asyncio.to_thread(out.write, bytes(pending))
    except BaseException:
        await asyncio.to_thread(path.unlink, True)
        raise
    return path, digest.hexdigest(), size, bytes(head)


async def upload(files: Files, grant: Grant, request: Request) -> Response:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > d.MAX_FILE_BYTES:
        return too_large()
    try:
        path, sha256, size, head = await stage(request)
    except BodyTooLarge:
        return too_large()
    except BodyTimedOut as timed_out:  # nothing was stored
        return refused_body(refusal(timed_out, d.MAX_FILE_BYTES))
    except ClientDisconnect:  # the client gave up: nothing was stored
        return error(400, "BAD_REQUEST", "the upload was interrupted")
    try:
        content: bytes | d.StagedFile
        media = str(grant.fields.get("mediaType") or "")
        if size <= d.MAX_CONTENT_BYTES:  # small: in memory, checked as GraphQL's content is
            content = await asyncio.to_thread(path.read_bytes)
        else:
            content = d.StagedFile(path, media, sha256, size, head)
        if grant.action is Action.UPLOAD:
            document, version = await h.upload_document(
                h.UploadDocument(
                    caller=grant.caller,
                    folder_id=uuid.UUID(str(grant.fields["folderId"])),
                    name=str(grant.fields["name"]),
                    kind=d.DocumentKind(str(grant.fields["kind"])),
                    content=content,
                    media_type=media,
                    allowed_groups=tuple(str(g) for g in list_field(grant, "allowedGroups")),
                ),
                files.uow(),
            )
            status = 201
        else:
            expected = grant.fields.get("expectedVersion")
            document, version = await h.add_document_version(
                h.AddDocumentVersion(
                    caller=grant.caller,
                    document_id=uuid.UUID(str(grant.fields["documentId"])),
                    content=content,
                    media_type=media,
                    expected_version=None if expected is None else int(str(expected)),
                ),
                files.uow(),
            )
            status = 200
    finally:
        await asyncio.to_thread(path.unlink, True)
    return JSONResponse(
        {
            "document": {
                "id": str(document.id),
                "name": document.name,
                "currentVersion": document.current_version,
            },
            "version": {
                "number": version.number,
                "mediaType": version.media_type,
                "sizeBytes": version.size_bytes,
                "sha256": version.sha256,
            },
        },
        status_code=status,
    )


def list_field(grant: Grant, name: str) -> list[object]:
    value = grant.fields.get(name) or []
    return value if isinstance(value, list) else []


def too_large() -> JSONResponse:
    return error(TOO_LARGE_STATUS, TOO_LARGE_CODE,
                 f"a file must be at most {d.MAX_FILE_BYTES} bytes")


# --- downloads ----------------------------------------------------------------------------


def file_name(name: str, media_type: str) -> str:
    """The document's name, with the extension of its type when it has none."""
    if "." in name.rsplit("/", 1)[-1]:
        return name
    return name + (mimetypes.guess_extension(media_type) or "")


def disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class Unsatisfiable(Exception):
    """A byte range that lies outside the content (answered 416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive range asked for; None for the whole file (no header, or one we do not
    serve: several ranges); :class:`Unsatisfiable` when it is outside the file."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise Unsatisfiable
    return start, end


async def download(files: Files, grant: Grant, request: Request) -> Response:
    number = grant.fields.get("version")
    document, stored = await h.version_file(
        h.VersionFile(
            grant.caller,
            uuid.UUID(str(grant.fields["documentId"])),
            None if number is None else int(str(number)),
        ),
        files.uow(),
    )
    version = stored.version
    size = version.size_bytes
    etag = f'"{version.sha256}"'
    headers = {
        **SAFE_HEADERS,
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": disposition(file_name(document.name, version.media_type)),
    }
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if_range = request.headers.get("if-range")
    try:
        # An If-Range naming another version: the client's copy is stale, send it whole.
        wanted = None if if_range not in (None, etag) else byte_range(
            request.headers.get("range"), size
        )
    except Unsatisfiable:
        refused = error(416, "RANGE_NOT_SATISFIABLE", "the range is outside the file")
        refused.headers["Content-Range"] = f"bytes */{size}"
        return refused
    start, end = (0, size - 1) if wanted is None else wanted
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=version.media_type)
    body: AsyncIterator[bytes]
    if stored.inline is not None:
        body = one(stored.inline[start : end + 1])
    else:
        body = files.store.stream(stored.key, start, end)
    return StreamingResponse(body, status_code=status, headers=headers,
                             media_type=version.media_type)


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data

"""Blobs in an S3-compatible object store (production: AWS S3, MinIO, Ceph, ...), through
aiobotocore: async, and a download is streamed from the store's answer chunk by chunk.

One client per process, made on first use (credentials resolved once) and closed with the
app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from services.documents.settings import DocumentsSettings

# aiobotocore's clients are built from botocore's service models at run time: untyped here
# (the image carries no type stubs).
S3Client = Any

CHUNK_BYTES = 256 * 1024
# S3's smallest part but the last is 5 MiB.
PART_BYTES = 8 * 1024 * 1024
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self._options: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint_url,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            # Checksums only where the operation requires them: S3-compatible stores differ in
            # which of the newer trailing checksums they accept.
            "config": Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        }
        self._client: S3Client | None = None
        self._exits = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: DocumentsSettings) -> S3BlobStore:
        secret = settings.documents_s3_secret_access_key
        return cls(
            str(settings.documents_s3_bucket),
            region=settings.documents_s3_region,
            endpoint_url=settings.documents_s3_endpoint_url,
            access_key_id=settings.documents_s3_access_key_id,
            secret_access_key=None if secret is None else secret.get_secret_value(),
        )

    async def _s3(self) -> S3Client:
        async with self._lock:
            if self._client is None:
                creating = get_session().create_client("s3", **self._options)
                client: S3Client = await self._exits.enter_async_context(creating)
                self._client = client
                return client
            return self._client

    async def exists(self, key: str) -> bool:
        s3 = await self._s3()
        try:
            await s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True

    async def put(self, key: str, source: bytes | Path) -> None:
        if await self.exists(key):
            return  # same key, same content
        s3 = await self._s3()
        if isinstance(source, bytes):
            await s3.put_object(Bucket=self.bucket, Key=key, Body=source)
            return
        # A staged file goes up in parts read in a worker thread: at most one part in memory,
        # and the event loop never waits on the disk.
        file = await asyncio.to_thread(source.open, "rb")
        try:
            first = await asyncio.to_thread(file.read, PART_BYTES)
            if len(first) < PART_BYTES:
                await s3.put_object(Bucket=self.bucket, Key=key, Body=first)
                return
            upload = await s3.create_multipart_upload(Bucket=self.bucket, Key=key)
            upload_id = upload["UploadId"]
            try:
                parts: list[dict[str, Any]] = []
                part = first
                while part:
                    number = len(parts) + 1
                    sent = await s3.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                        Body=part,
                    )
                    parts.append({"ETag": sent["ETag"], "PartNumber": number})
                    part = await asyncio.to_thread(file.read, PART_BYTES)
                await s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except BaseException:
                await s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                raise
        finally:
            await asyncio.to_thread(file.close)

    async def read(self, key: str) -> bytes:
        chunks = [chunk async for chunk in self.stream(key)]
        return b"".join(chunks)

    async def stream(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        s3 = await self._s3()
        wanted = f"bytes={start}-{'' if end is None else end}"
        try:
            if start == 0 and end is None:
                answer = await s3.get_object(Bucket=self.bucket, Key=key)
            else:
                answer = await s3.get_object(Bucket=self.bucket, Key=key, Range=wanted)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise KeyError(key) from None
            raise
        body = answer["Body"]
        try:
            while chunk := await body.read(CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def close(self) -> None:
        await self._exits.aclose()
        self._client = None

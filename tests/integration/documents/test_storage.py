"""One contract for the stores of documents' bytes: local files and an S3-compatible object
store (a real S3 API server, moto in server mode)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.documents.ports import BlobStore
from services.documents.settings import DocumentsSettings
from services.documents.storage import LocalBlobStore, S3BlobStore, open_store
from tests.integration.documents.s3server import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    S3Server,
    make_bucket,
)


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    made: BlobStore
    if request.param == "local":
        made = LocalBlobStore(tmp_path / "blobs")
    else:
        server: S3Server = request.getfixturevalue("s3")
        made = S3BlobStore(
            await make_bucket(server),
            region=REGION,
            endpoint_url=server.endpoint_url,
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
        )
    try:
        yield made
    finally:
        await made.close()


def key_of(data: bytes) -> str:
    return f"{uuid.uuid4()}/{hashlib.sha256(data).hexdigest()}"


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def test_bytes_round_trip(store: BlobStore) -> None:
    data = b"%PDF-1.7 offer"
    key = key_of(data)
    assert not await store.exists(key)
    await store.put(key, data)
    assert await store.exists(key)
    assert await store.read(key) == data
    assert await collect(store.stream(key)) == data


async def test_a_staged_file_is_streamed_in_and_out_in_ranges(
    store: BlobStore, tmp_path: Path
) -> None:
    data = os.urandom(17 * 1024 * 1024 + 17)  # three parts to an S3 store
    staged = tmp_path / "staged"
    staged.write_bytes(data)
    key = key_of(data)
    await store.put(key, staged)
    assert await collect(store.stream(key)) == data
    assert await collect(store.stream(key, 0, 0)) == data[:1]
    assert await collect(store.stream(key, 1000, 2_000_000)) == data[1000:2_000_001]
    assert await collect(store.stream(key, len(data) - 5)) == data[-5:]


async def test_a_key_is_written_once(store: BlobStore) -> None:
    key = key_of(b"first")
    await store.put(key, b"first")
    await store.put(key, b"first")  # identical content: nothing to do
    assert await store.read(key) == b"first"


async def test_a_missing_key(store: BlobStore) -> None:
    key = key_of(b"never stored")
    assert not await store.exists(key)
    with pytest.raises(KeyError):
        await store.read(key)
    with pytest.raises(KeyError):
        await collect(store.stream(key))


def test_keys_cannot_leave_the_local_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    for key in ("../x", "a/../../x", "", "a//b", "a\\b"):
        with pytest.raises(ValueError, match="not a blob key"):
            store._path(key)


def test_settings_choose_the_store(tmp_path: Path) -> None:
    local = open_store(DocumentsSettings(data_dir=str(tmp_path)))
    assert isinstance(local, LocalBlobStore)
    assert local.root == tmp_path / "documents" / "blobs"
    s3 = open_store(DocumentsSettings(documents_storage="s3", documents_s3_bucket="b"))
    assert isinstance(s3, S3BlobStore)
    assert s3.bucket == "b"

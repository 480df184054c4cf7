"""The stores of documents' bytes (:class:`services.documents.ports.BlobStore`): local files
(the default) or an S3-compatible object store, as the settings choose (ADR 0015)."""

from __future__ import annotations

from pathlib import Path

from services.documents.ports import BlobStore
from services.documents.settings import DocumentsSettings
from services.documents.storage.local import CHUNK_BYTES, LocalBlobStore
from services.documents.storage.s3 import S3BlobStore

__all__ = ["CHUNK_BYTES", "LocalBlobStore", "S3BlobStore", "open_store"]


def open_store(settings: DocumentsSettings) -> BlobStore:
    if settings.documents_storage == "s3":
        return S3BlobStore.from_settings(settings)
    return LocalBlobStore(Path(settings.data_dir) / "documents" / "blobs")

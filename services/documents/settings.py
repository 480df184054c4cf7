"""Settings of the documents service (prefix ``CRM_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from crmkit.settings import Settings

DEV_FILES_SECRET = "crm-dev-files-secret-change-me-in-production-0123"


class DocumentsSettings(Settings):
    # The documents' own database; unset: database `crm_documents` on CRM_DATABASE_URL's
    # server.
    documents_database_url: str | None = None
    # Where the bytes of documents live: `local` (files under CRM_DATA_DIR/documents) or `s3`
    # (any S3-compatible object store, the CRM_DOCUMENTS_S3_* settings).
    documents_storage: Literal["local", "s3"] = "local"
    documents_s3_bucket: str | None = Field(default=None, validate_default=True)
    documents_s3_region: str | None = None
    # For S3-compatible stores (MinIO, Ceph, ...); unset: AWS's endpoint of the region.
    documents_s3_endpoint_url: str | None = None
    # Unset: the usual AWS credential chain (the pod's workload identity, ...).
    documents_s3_access_key_id: str | None = None
    documents_s3_secret_access_key: SecretStr | None = None
    # Signs the short-lived /files/ URLs (HMAC-SHA256); every documents process needs the same.
    documents_files_secret: SecretStr = Field(
        default=SecretStr(DEV_FILES_SECRET), validate_default=True
    )
    # How long a signed upload or download URL stays valid.
    documents_url_ttl_seconds: int = Field(default=300, ge=10, le=3600)

    @field_validator("documents_s3_bucket")
    @classmethod
    def _bucket_for_s3(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("documents_storage") == "s3" and not value:
            raise ValueError("required when CRM_DOCUMENTS_STORAGE is s3")
        return value

    @field_validator("documents_files_secret")
    @classmethod
    def _files_secret(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        secret = value.get_secret_value()
        if len(secret) < 32:
            raise ValueError("must be at least 32 characters")
        if info.data.get("environment") == "prod" and secret == DEV_FILES_SECRET:
            raise ValueError("must be set in production")
        return value

"""The documents' storage settings: an invalid one stops the process naming it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crmkit.settings import describe_error
from services.documents.settings import DocumentsSettings


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        DocumentsSettings(**values)  # type: ignore[arg-type]
    return describe_error(caught.value)


def test_s3_needs_a_bucket() -> None:
    assert refusal(documents_storage="s3") == (
        "invalid setting CRM_DOCUMENTS_S3_BUCKET: Value error, required when "
        "CRM_DOCUMENTS_STORAGE is s3"
    )


def test_an_unknown_storage() -> None:
    assert refusal(documents_storage="ftp").startswith("invalid setting CRM_DOCUMENTS_STORAGE:")


def test_the_files_secret() -> None:
    assert refusal(documents_files_secret="short").startswith(
        "invalid setting CRM_DOCUMENTS_FILES_SECRET: Value error, must be at least 32"
    )
    assert refusal(environment="prod") == (
        "invalid setting CRM_DOCUMENTS_FILES_SECRET: Value error, must be set in production"
    )
    assert DocumentsSettings(environment="prod", documents_files_secret="x" * 32)

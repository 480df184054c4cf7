"""The document library's signed file URLs in GraphQL: where to PUT a file's bytes and where to
GET a version's, and the payloads of the mutations that answer them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from crmkit.graphql import CommonError
from services.documents import domain as d
from services.documents.schema.context import Info, signer
from services.documents.signing import Grant


@strawberry.type(description="Where to PUT a file's bytes (a path on the API's origin), "
                 "until when, and at most how many.")  # type: ignore[untyped-decorator]
class FileUpload:
    url: str
    method: str
    expires_at: datetime
    max_bytes: int


@strawberry.type(description="Where to GET a version's bytes (a path on the API's origin) "
                 "until the URL expires.")  # type: ignore[untyped-decorator]
class FileDownload:
    url: str
    expires_at: datetime
    version: int
    media_type: str
    size_bytes: int
    sha256: str


@strawberry.type
class RequestUploadPayload:
    upload: FileUpload


RequestUploadResult = Annotated[
    RequestUploadPayload | CommonError, strawberry.union("RequestUploadResult")
]


@strawberry.type
class RequestDownloadPayload:
    download: FileDownload


RequestDownloadResult = Annotated[
    RequestDownloadPayload | CommonError, strawberry.union("RequestDownloadResult")
]


def upload_of(info: Info, grant: Grant) -> FileUpload:
    return FileUpload(
        url=signer(info).sign(grant),
        method="PUT",
        expires_at=grant.expires_at,
        max_bytes=d.MAX_FILE_BYTES,
    )

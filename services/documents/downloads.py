"""An offer's file over plain HTTP: ``GET /offers/{id}/file?revision=N`` with the bearer
token, answered with the file, its type, a download name and its sha256 as the ETag. The
caller must see the offer, exactly as in GraphQL (otherwise 404)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crmkit.auth import InvalidToken, TokenVerifier
from crmkit.errors import NotFoundError
from crmkit.uow import UnitOfWork
from services.documents.handlers.offers import OfferDownload, offer_download
from services.documents.ports import DocumentsRepository


def routes(
    verifier: TokenVerifier, uow: Callable[[], UnitOfWork[DocumentsRepository]]
) -> list[Route]:
    async def download(request: Request) -> Response:
        try:
            caller = verifier.verify_header(request.headers.get("authorization"))
        except InvalidToken as error:
            return JSONResponse({"error": str(error)}, status_code=401)
        raw = request.query_params.get("revision")
        if raw is not None and not (raw.isdigit() and 0 < int(raw) <= 10_000):
            return JSONResponse({"error": "revision must be a positive number"},
                                status_code=400)
        try:
            offer_id = uuid.UUID(str(request.path_params["offer"]))
            name, found = await offer_download(
                OfferDownload(caller, offer_id, int(raw) if raw else None), uow())
        except (ValueError, NotFoundError):
            return JSONResponse({"error": "not found"}, status_code=404)
        etag = f'"{found.sha256}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(found.data, media_type=found.media_type, headers={
            "ETag": etag,
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-cache",
        })

    return [Route("/offers/{offer}/file", download, methods=["GET"])]

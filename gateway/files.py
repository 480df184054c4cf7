"""/files/ at the gateway: signed uploads and downloads forwarded to the documents service,
streamed both ways (up to 50 MB a file, never held whole), so the API's one origin serves them
where no ingress routes /files/ itself (development, a single host). No bearer token: the
signed URL is the authorisation, checked by the documents service."""

from __future__ import annotations

from starlette.routing import Route

from crmkit.files_proxy import FilesProxy

__all__ = ["FilesProxy", "files_route", "files_url"]


def files_route(proxy: FilesProxy) -> Route:
    return Route("/files/{token}", proxy.forward, methods=["GET", "HEAD", "PUT"])


def files_url(documents_graphql_url: str) -> str:
    """The documents service's origin, from its /graphql URL."""
    return documents_graphql_url.removesuffix("/graphql")

"""The gateway's public GraphQL API, as this app calls it: one POST per page region."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import orjson
from prometheus_client import Histogram

from crmkit.shared_http import no_httpx_cookies
from web import i18n

log = logging.getLogger("crm.web.api")


class SignedOut(Exception):
    """The gateway refused the token (expired or revoked): the member signs in again."""


class ApiUnavailable(Exception):
    """The gateway could not be reached or answered with an error; the message is safe to show."""


class InvalidInput(ApiUnavailable):
    """The API refused a query's input (``BAD_USER_INPUT``; a query has no ``ValidationError``
    to answer with): a variable whole (a control character typed into a search box, an
    unknown status in an address) or an argument (a cursor that is none). ``path`` is where
    (``["filter", "search"]``, ``["after"]``), ``problem`` what is wrong with it."""

    def __init__(self, problem: str, path: list[str]) -> None:
        super().__init__("the CRM service could not answer this request")
        self.problem = problem
        self.path = path


class NotFound(ApiUnavailable):
    """What a page's address names is not there, or not the member's to see (``NOT_FOUND``)."""


def _first_error(errors: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first of an answer's errors and its extensions (empty where there are none)."""
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict):
        return {}, {}
    extensions = first.get("extensions")
    return first, extensions if isinstance(extensions, dict) else {}


def _invalid_input(errors: Any) -> InvalidInput | None:
    """The first error, when it is a refusal of the query's input: a variable's value (the
    edge's or the gateway's, ``variablePath``) or an argument (a resolver's, ``fields``)."""
    first, extensions = _first_error(errors)
    if extensions.get("code") != "BAD_USER_INPUT":
        return None
    path = extensions.get("variablePath")
    if isinstance(path, list) and path:
        # "text must not contain control characters (variables.filter.search)": the path is
        # shown by where the message goes.
        problem = str(first.get("message") or "").rsplit(" (", 1)[0]
        return InvalidInput(problem, [str(part) for part in path])
    fields = extensions.get("fields")
    field = fields[0] if isinstance(fields, list) and fields else None
    if isinstance(field, dict) and isinstance(field.get("path"), list) and field["path"]:
        return InvalidInput(str(field.get("message") or first.get("message") or ""),
                            [str(part) for part in field["path"]])
    return None


def _not_found(errors: Any) -> bool:
    return _first_error(errors)[1].get("code") == "NOT_FOUND"


class Api:
    def __init__(self, url: str, timeout: float, latency: Histogram | None = None) -> None:
        self.url = url
        # One client for every member's requests: it keeps no cookies.
        self._http = httpx.AsyncClient(timeout=timeout, cookies=no_httpx_cookies())
        self._latency = latency

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __call__(
        self,
        token: str,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """The operation's ``data``. GraphQL errors (a bug of ours or a refused query) raise
        ``ApiUnavailable``; typed errors come back as data, for the page to show."""
        headers = {"Authorization": f"Bearer {token}"}
        if request_id:
            headers["x-request-id"] = request_id
        started = time.perf_counter()
        headers["Content-Type"] = "application/json"
        try:
            request = orjson.dumps({"query": query, "variables": variables or {}})
        except orjson.JSONEncodeError:  # a number typed past 64 bits: no JSON number holds it
            raise InvalidInput(i18n.gettext("A number is out of range."), []) from None
        try:
            response = await self._http.post(self.url, content=request, headers=headers)
        except httpx.HTTPError as error:
            log.warning("gateway unreachable: %s", error)
            raise ApiUnavailable("the CRM service is not reachable") from None
        if self._latency is not None:
            self._latency.observe(time.perf_counter() - started)
        if response.status_code == 401:
            raise SignedOut
        try:
            body = orjson.loads(response.content)  # a board's 500 cards: 3x faster than json
        except orjson.JSONDecodeError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code != 200 or body.get("errors") or not isinstance(
            body.get("data"), dict
        ):
            invalid = _invalid_input(body.get("errors"))
            if invalid is not None:
                raise invalid  # what the person typed, not a fault of ours to log
            if _not_found(body.get("errors")):
                raise NotFound("not found")
            log.error(
                "gateway answered %s: %s", response.status_code, str(body.get("errors"))[:2000]
            )
            raise ApiUnavailable("the CRM service could not answer this request")
        data: dict[str, Any] = body["data"]
        return data

    async def ready(self) -> bool:
        readyz = self.url.rsplit("/graphql", 1)[0] + "/readyz"
        try:
            return (await self._http.get(readyz)).status_code == 200
        except httpx.HTTPError:
            return False


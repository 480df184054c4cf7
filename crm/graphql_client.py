"""A small GraphQL-over-HTTP client, as a frontend or another system would call the API."""

from __future__ import annotations

from typing import Any

import httpx


class GraphQLFailure(RuntimeError):
    pass


class GraphQLClient:
    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.url = url
        self._http = httpx.AsyncClient(
            timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    async def __aenter__(self) -> GraphQLClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def query(self, document: str, **variables: Any) -> dict[str, Any]:
        response = await self._http.post(self.url, json={"query": document, "variables": variables})
        if response.status_code != 200:
            raise GraphQLFailure(f"HTTP {response.status_code}: {response.text[:500]}")
        body = response.json()
        if body.get("errors"):
            raise GraphQLFailure(str(body["errors"])[:1000])
        data: dict[str, Any] = body["data"]
        return data

    async def mutate(self, document: str, field: str, expect: str, **variables: Any) -> Any:
        """Run a mutation whose ``field`` returns a union; fail unless it is ``expect``."""
        result = (await self.query(document, **variables))[field]
        if result.get("__typename") != expect:
            raise GraphQLFailure(f"{field} answered {result}")
        return result

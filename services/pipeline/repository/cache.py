"""Each org's pipelines, kept per process: they change rarely and are needed on every move.

``current`` checks the cached copy against the pipelines' versions with one small query (every
configuration change bumps the version); ``trusted`` skips that check, for a caller whose
write re-checks the version itself (``fast.write_move``). The cached objects are shared:
hand them only to code that does not change them (configuration changes load their own).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

import asyncpg

from services.pipeline import domain as d
from services.pipeline.repository import fast

Pipelines = dict[uuid.UUID, d.Pipeline]


class PipelineCache:
    def __init__(self, max_orgs: int = 10_000) -> None:
        self._max_orgs = max_orgs
        self._orgs: OrderedDict[uuid.UUID, Pipelines] = OrderedDict()

    async def current(self, conn: asyncpg.Connection, org_id: uuid.UUID) -> Pipelines:
        """The org's pipelines as committed now (by id, the default one first)."""
        versions = await fast.pipeline_versions(conn, org_id)
        cached = self._orgs.get(org_id)
        if cached is not None and {i: p.version for i, p in cached.items()} == versions:
            self._orgs.move_to_end(org_id)
            return cached
        return await self._load(conn, org_id)

    async def trusted(
        self, conn: asyncpg.Connection, org_id: uuid.UUID, pipeline_id: uuid.UUID
    ) -> d.Pipeline | None:
        """The cached pipeline, possibly stale: the caller must check its version when it
        writes."""
        cached = self._orgs.get(org_id)
        if cached is None or pipeline_id not in cached:
            cached = await self._load(conn, org_id)
        return cached.get(pipeline_id)

    def forget(self, org_id: uuid.UUID) -> None:
        self._orgs.pop(org_id, None)

    async def _load(self, conn: asyncpg.Connection, org_id: uuid.UUID) -> Pipelines:
        found = {p.id: p for p in await fast.org_pipelines(conn, org_id)}
        self._orgs[org_id] = found
        self._orgs.move_to_end(org_id)
        while len(self._orgs) > self._max_orgs:
            self._orgs.popitem(last=False)
        return found

"""The pipeline's SQL repository (:class:`services.pipeline.ports.PipelineRepository`), one
module per concept; the hot paths' SQL on asyncpg in :mod:`.fast`, rows mapped in
:mod:`.rows`."""

from __future__ import annotations

from services.pipeline.repository.activities import SqlActivities
from services.pipeline.repository.cache import PipelineCache
from services.pipeline.repository.configuration import SqlConfiguration
from services.pipeline.repository.notes import SqlNotes
from services.pipeline.repository.opportunities import SqlOpportunities
from services.pipeline.repository.roster import SqlRoster

__all__ = ["PipelineCache", "SqlPipelineRepository"]


class SqlPipelineRepository(
    SqlConfiguration, SqlOpportunities, SqlActivities, SqlNotes, SqlRoster
):
    """Over one unit of work's session, with the process's pipeline cache."""

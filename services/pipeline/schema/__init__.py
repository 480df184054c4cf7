"""The pipeline subgraph, one module per business concept (:mod:`.opportunities`,
:mod:`.activities`, :mod:`.configuration`), merged into one schema. Fields keep the order
of the published SDL, so the merge interleaves the configuration's reads."""

from __future__ import annotations

from strawberry.federation import Schema
from strawberry.tools import merge_types

from crmkit.graphql import build_schema
from services.pipeline.schema.activities import ActivitiesMutation, ActivitiesQuery, Activity
from services.pipeline.schema.configuration import (
    ConfigurationMutation,
    ConfigurationQuery,
    SettingsQuery,
)
from services.pipeline.schema.context import PipelineState
from services.pipeline.schema.execution import PlainLeafExecutionContext
from services.pipeline.schema.notes import NotesMutation
from services.pipeline.schema.opportunities import OpportunitiesMutation, OpportunitiesQuery
from services.pipeline.schema.references import Account, Member

__all__ = ["PipelineState", "create_schema"]


def create_schema() -> Schema:
    schema = build_schema(
        query=merge_types(
            "Query", (OpportunitiesQuery, ConfigurationQuery, ActivitiesQuery, SettingsQuery)
        ),
        mutation=merge_types(
            "Mutation",
            (OpportunitiesMutation, ActivitiesMutation, NotesMutation, ConfigurationMutation)
        ),
        types=[Account, Member, Activity],
    )
    schema.execution_context_class = PlainLeafExecutionContext
    return schema

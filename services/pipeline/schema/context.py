"""What every resolver of the pipeline subgraph reaches: the caller, a unit of work, ids (the
kit's request context, :mod:`crmkit.schema_context`)."""

from __future__ import annotations

from dataclasses import dataclass

from crmkit.schema_context import (
    Info,
    RequestContext,
    ServiceState,
    caller_of,
    gid,
    optional_gid,
    optional_id,
    parse_id,
)
from services.pipeline.ports import PipelineRepository

__all__ = ["Info", "PipelineState", "caller", "caller_of", "gid", "optional_gid",
           "optional_id", "parse_id", "uow", "uow_of"]


@dataclass(frozen=True)
class PipelineState(ServiceState[PipelineRepository]):
    pass


context = RequestContext(PipelineState)
caller, uow, uow_of = context.caller, context.uow, context.uow_of

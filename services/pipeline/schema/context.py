"""What every resolver of the pipeline subgraph reaches: the caller and a unit of work (the
kit's request context, :mod:`crmkit.schema_context`)."""

from __future__ import annotations

from dataclasses import dataclass

from crmkit.schema_context import Info, RequestContext, ServiceState, caller_of
from services.pipeline.ports import PipelineRepository

__all__ = ["Info", "PipelineState", "caller", "caller_of", "uow", "uow_of"]


@dataclass(frozen=True)
class PipelineState(ServiceState[PipelineRepository]):
    """The pipeline's resolvers need nothing but units of work."""


context = RequestContext(PipelineState)
caller, uow, uow_of = context.caller, context.uow, context.uow_of

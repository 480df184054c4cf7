"""Shapes merged subgraph data into the client's response with graphql-core.

graphql-core walks the client's own document over the merged data, which gives the spec's
semantics for free: aliases, fragments on abstract types, @skip/@include, __typename,
introspection, and null propagation with located errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, GraphQLResolveInfo, GraphQLSchema
from graphql.execution import execute_sync

from gateway.executor import FieldError


def _resolve(parent: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
    # Subgraph selections keep the client's response keys, so the merged data is keyed alike.
    value = parent.get(info.path.key) if isinstance(parent, dict) else None
    if type(value) is FieldError:
        raise GraphQLError(
            value.message,
            nodes=info.field_nodes,
            path=value.path or info.path.as_list(),
            extensions=dict(value.extensions) if value.extensions else None,
        )
    return value


def shape(
    schema: GraphQLSchema,
    document: DocumentNode,
    data: dict[str, Any],
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
) -> ExecutionResult:
    return execute_sync(
        schema,
        document,
        root_value=data,
        variable_values=dict(variables) if variables else None,
        operation_name=operation_name,
        field_resolver=_resolve,
    )

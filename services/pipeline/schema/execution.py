"""A cheaper way through graphql-core for plain leaf fields.

For every field graphql-core builds a resolve-info object, calls the resolver and runs the
generic value completion. A page of 50 opportunities has some 600 fields that are plain
attributes (no resolver, no arguments) of a scalar or enum type, and that machinery was
most of the page's CPU. Such a field is read and coerced here directly, exactly as the
completion of a non-null leaf does it; anything else (resolvers, arguments, objects,
lists, nulls, coercion errors, field middleware) goes through graphql-core unchanged.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLObjectType,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


def _plain_leaf(field: GraphQLField) -> GraphQLLeafType | None:
    """The leaf type of a field strawberry resolves by attribute access, else None."""
    resolve = field.resolve
    if resolve is None or not getattr(resolve, "_is_default", False) or field.args:
        return None
    named = get_nullable_type(field.type)
    return named if is_leaf_type(named) else None


class PlainLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    # GraphQLField -> its leaf type or None; the schema's fields live as long as the process.
    _leaves: dict[int, tuple[GraphQLField, GraphQLLeafType | None]] = {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        manager = self.middleware_manager  # strawberry passes one, usually empty
        if (manager is None or not manager.middlewares) and len(field_details_list) == 1:
            node = field_details_list[0].node
            field = self.schema.get_field(parent_type, node.name.value)
            if field is not None and not node.arguments:
                known = self._leaves.get(id(field))
                if known is None or known[0] is not field:
                    known = self._leaves[id(field)] = (field, _plain_leaf(field))
                leaf = known[1]
                if leaf is not None:
                    value = field.resolve(source, None)  # type: ignore[misc]
                    if value is not None:
                        try:
                            coerced = leaf.coerce_output_value(value)
                        except Exception:  # graphql-core reports it below
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            return coerced
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
